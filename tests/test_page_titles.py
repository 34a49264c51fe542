"""Every page about an object says which one in its <title>: history, bookmarks and tabs can
tell two bid receipts (or two packets, two contracts) apart. An evaluator's title names the
bid by its anonymous label, never by who bid (DESIGN.md §5)."""

from __future__ import annotations

import inspect
import re
from html import unescape
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import translation

from bids import services as bid_services
from marketplace.models import Role
from opportunities.publishing import opportunity_submit_for_review
from tests import builders
from tests.factories import OpportunityFactory, StaffFactory, SupplierProfileFactory

TEMPLATES = Path(settings.BASE_DIR) / "templates"
TITLE_BLOCK = re.compile(r"{%\s*block title\s*%}(.*?){%\s*endblock", re.S)
RENDERED = re.compile(r'["\']([\w/]+\.html)["\']')
SUFFIX = {"en": " — Micro-acquisitions", "fr": " — Micro-acquisitions"}


def _patterns(resolver: URLResolver, prefix: str = ""):
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            yield from _patterns(entry, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), entry


def _templates_of(callback) -> set[str]:
    """The page templates a view renders: a class's template_name, or the names a function
    view passes to render()."""
    view_class = getattr(callback, "view_class", None)
    if view_class is not None:
        names = {getattr(view_class, "template_name", None)}
        return {name for name in names if name}
    try:
        source = inspect.getsource(inspect.unwrap(callback))
    except (OSError, TypeError):
        return set()
    return set(RENDERED.findall(source))


def _title_source(template: str) -> str | None:
    path = TEMPLATES / template
    if not path.exists():
        return None
    match = TITLE_BLOCK.search(path.read_text())
    return match.group(1) if match else None


# Pages with an object in their address whose title names no object, and why.
NOT_ABOUT_ONE_OBJECT = {
    # A one-time link from an email: the token is no object a person keeps in a tab.
    "marketplace/unsubscribe.html",
}


def test_every_page_with_an_object_in_its_address_names_it_in_the_title():
    """A static check over the URL map: a page whose address carries an object (`<int:pk>`,
    a slug) renders a title that depends on it, not a fixed sentence."""
    generic = []
    checked = set()
    for route, pattern in _patterns(get_resolver()):
        if "<" not in route or route.startswith(("admin/", "accounts/")):
            continue
        for template in _templates_of(pattern.callback):
            if template.startswith(("marketplace/email/",)) or template in NOT_ABOUT_ONE_OBJECT:
                continue
            title = _title_source(template)
            if title is None:
                continue  # not a page of its own (an include), or none extends base.html
            checked.add(template)
            if "{{" not in title and " with " not in title:
                generic.append(f"{route} → {template}: {title.strip()}")
    assert not generic, "\n".join(generic)
    # The walk found the pages, class-based and function views alike.
    assert {
        "bids/receipt.html",
        "evaluation/packet_detail.html",
        "payments/contract_detail.html",
    } <= checked


def _title(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    match = re.search(r"<title>(.*?)</title>", response.content.decode(), re.S)
    assert match, url
    return unescape(" ".join(match.group(1).split()))


def _url(name: str, language: str, *args) -> str:
    with translation.override(language):
        return reverse(name, args=args)


def _titles(client, name: str, objects, args_of, language: str) -> list[str]:
    return [_title(client, _url(name, language, *args_of(obj))) for obj in objects]


def _assert_specific(titles: list[str], names: list[str], language: str) -> None:
    assert titles[0] != titles[1], titles
    for title, name in zip(titles, names, strict=True):
        assert name in title, (name, title)
        assert title.endswith(SUFFIX[language]), title


def _in(language: str, opportunity) -> str:
    return opportunity.title_fr if language == "fr" else opportunity.title_en


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["en", "fr"])
def test_a_buyers_and_a_reviewers_pages_name_the_opportunity(client, language):
    buyer = StaffFactory(roles=[Role.BUYER])
    drafts = [OpportunityFactory(buyer=buyer) for _ in range(2)]
    client.force_login(buyer)
    for name in ("opportunities:edit", "opportunities:discard", "opportunities:detail"):
        titles = _titles(client, name, drafts, lambda o: [o.pk], language)
        _assert_specific(titles, [_in(language, o) for o in drafts], language)
    for draft in drafts:
        opportunity_submit_for_review(actor=buyer, opportunity=draft)
    titles = _titles(client, "opportunities:recall", drafts, lambda o: [o.pk], language)
    _assert_specific(titles, [_in(language, o) for o in drafts], language)
    client.force_login(builders.program_admin())
    titles = _titles(client, "opportunities:review", drafts, lambda o: [o.pk], language)
    _assert_specific(titles, [_in(language, o) for o in drafts], language)


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["en", "fr"])
def test_a_suppliers_bid_pages_name_the_opportunity_and_the_receipt(client, language):
    admin = builders.program_admin()
    opportunities = [builders.published_opportunity(admin=admin) for _ in range(2)]
    supplier = SupplierProfileFactory().user
    bids = []
    for opportunity in opportunities:
        bid = builders.draft_bid(opportunity=opportunity, supplier=supplier)
        bid_services.bid_submit(supplier=supplier, bid=bid)
        bids.append(bid)
    client.force_login(supplier)
    names = [_in(language, o) for o in opportunities]
    for name in ("bids:detail", "bids:withdraw"):
        _assert_specific(_titles(client, name, bids, lambda b: [b.pk], language), names, language)
    titles = _titles(client, "bids:receipt", bids, lambda b: [b.pk, 1], language)
    _assert_specific(titles, names, language)
    # The public page, as anyone reads it.
    client.logout()
    titles = _titles(client, "opportunities:detail", opportunities, lambda o: [o.pk], language)
    _assert_specific(titles, names, language)


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["en", "fr"])
def test_an_evaluators_titles_name_the_packet_by_label_never_by_who_bid(client, language):
    evaluator = StaffFactory(roles=[Role.EVALUATOR])
    chair = StaffFactory(roles=[Role.EVALUATOR])
    evaluations = [
        builders.evaluation_with_panel(count=2, panel=[chair, evaluator])[0] for _ in range(2)
    ]
    packets = [evaluation.packets.order_by("label").first() for evaluation in evaluations]
    client.force_login(evaluator)
    names = [_in(language, e.opportunity) for e in evaluations]
    titles = _titles(
        client,
        "evaluation:packet",
        packets,
        lambda p: [p.evaluation.opportunity_id, p.pk],
        language,
    )
    _assert_specific(titles, names, language)
    with translation.override(language):
        labels = [str(packet.display_label) for packet in packets]
    for title, label in zip(titles, labels, strict=True):
        assert label in title, (label, title)
    list_titles = _titles(
        client, "evaluation:packets", evaluations, lambda e: [e.opportunity_id], language
    )
    _assert_specific(list_titles, names, language)
    titles += list_titles
    # Nothing that names a bidder: their names, trading names, addresses, handles.
    identities = [
        value
        for identity in builders.IDENTITIES
        for value in identity.values()
        if isinstance(value, str) and len(value) > 3
    ]
    every_title = " ".join(titles)
    for evaluation in evaluations:
        for bid in evaluation.opportunity.bids.select_related("supplier"):
            identities.append(bid.supplier.email)
    assert not [value for value in identities if value.lower() in every_title.lower()]


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["en", "fr"])
def test_contract_payment_and_draw_pages_name_the_opportunity(client, language):
    files = [builders.payment_due() for _ in range(2)]
    opportunities = [opportunity for opportunity, _contract, _payment in files]
    names = [_in(language, o) for o in opportunities]
    buyer_of = [opportunity.buyer for opportunity in opportunities]
    for index, (_opportunity, contract, payment) in enumerate(files):
        client.force_login(buyer_of[index])
        contract_title = _title(client, _url("payments:contract", language, contract.pk))
        payment_title = _title(client, _url("payments:detail", language, payment.pk))
        assert names[index] in contract_title and names[index] in payment_title
        assert payment.invoice_number in payment_title
    client.logout()
    titles = _titles(client, "evaluation:draw", opportunities, lambda o: [o.pk], language)
    _assert_specific(titles, names, language)
