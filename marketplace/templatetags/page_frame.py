"""The links of every page's footer (templates/base.html), for the GC Design System footer and
for the plain footer shown when its components do not run.

`gcds-footer` takes its links as JSON in attributes (`contextual-links`, `sub-links`): an object
of label to address. The same lists give the server-rendered footer, so the two never differ.
"""

from __future__ import annotations

import json
from urllib.parse import urlencode, urlsplit

from django import template
from django.conf import settings
from django.urls import Resolver404, resolve, reverse
from django.utils import translation
from django.utils.translation import gettext

register = template.Library()

Links = list[tuple[str, str]]

# Parts of an address that are secrets: an unsubscribe token, an email confirmation key. A
# report would send them to the support team in an email, so such an address is not reported.
SECRET_ARGUMENTS = frozenset({"token", "key"})


def holds_secret(path: str) -> bool:
    """Whether the page at `path`, in either language, has a secret in its address
    (`SECRET_ARGUMENTS`)."""
    for language, _name in settings.LANGUAGES:
        with translation.override(language):
            try:
                match = resolve(urlsplit(path).path)
            except Resolver404:
                continue
        if SECRET_ARGUMENTS & match.kwargs.keys():
            return True
    return False


def report_a_problem_url(path: str) -> str:
    """The contact page, told which page the person was on (it shows the address back),
    unless that address holds a secret."""
    contact = reverse("marketplace:contact")
    return contact if holds_secret(path) else f"{contact}?{urlencode({'page': path})}"


@register.simple_tag(takes_context=True)
def footer_links(context) -> dict[str, Links]:
    """{"contextual": [(label, url), …], "site": [(label, url), …]} in the page's language."""
    request = context.get("request")
    path = request.path if request is not None else reverse("marketplace:home")
    return {
        "contextual": [
            (gettext("What we bought"), reverse("reports:purchases")),
            (gettext("Open data"), reverse("reports:open_data")),
            (gettext("Help"), reverse("marketplace:help")),
        ],
        "site": [
            (gettext("Privacy"), reverse("marketplace:privacy")),
            (gettext("Terms of use"), reverse("marketplace:terms")),
            (gettext("Contact us"), reverse("marketplace:contact")),
            (gettext("Report a problem"), report_a_problem_url(path)),
        ],
    }


@register.filter
def links_json(links: Links) -> str:
    """The links as gcds-footer reads them: a JSON object of label to address (escaped by the
    template like any attribute value)."""
    return json.dumps(dict(links), ensure_ascii=False)
