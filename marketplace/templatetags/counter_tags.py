"""The words static/js/counter.js writes a field's character counter with (issue 23)."""

from __future__ import annotations

import json

from django import template
from django.utils.translation import ngettext

register = template.Library()


@register.simple_tag
def counter_labels() -> str:
    """As JSON for the `data-counter-labels` attribute of counter.js's script tag (escaped there
    like any value: no inline script under the Content Security Policy). Each phrase in its
    singular and plural, which the script picks by the page language's plural rules; the
    script puts the number, written the reader's way, in place of %(count)s."""
    # Literal calls, so that makemessages finds both phrases and their plurals.
    labels = {
        "left": {
            number: ngettext("%(count)s character left", "%(count)s characters left", n)
            for number, n in (("one", 1), ("other", 2))
        },
        "over": {
            number: ngettext("%(count)s character too many", "%(count)s characters too many", n)
            for number, n in (("one", 1), ("other", 2))
        },
    }
    return json.dumps(labels, ensure_ascii=False)
