"""Issue 23 attacked (task-first dashboards, recall and discard, the split warning, the page
frame), as a hostile bidder and as an insider holding one privileged role, in both languages.

What must hold: no "Waiting for you" item, stage or list tells a role what it may not know (a
bidder another's contract, a watcher the work's progress, an evaluator who bid) or asks the
certifier to pay their own certification; the dashboards read in as many queries whatever the
data; a reviewer never publishes a text they did not read; the split warning is not fooled by
characters nobody sees; the footer's "Report a problem" never carries a secret of the address
into an email; the contact page repeats no address that displays other than it reads.
"""

from __future__ import annotations

import re
import time
import urllib.parse

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from bids.models import Bid
from marketplace.models import Role
from marketplace.notifications import unsubscribe_token
from opportunities import similarity
from opportunities.drafting import opportunity_discard
from opportunities.models import Guardrails, Opportunity
from opportunities.publishing import (
    opportunity_publish,
    opportunity_recall,
    opportunity_submit_for_review,
    split_matches,
)
from tests import builders
from tests.factories import OpportunityFactory, StaffFactory, SupplierProfileFactory
from tests.support.races import _needs_postgresql, _outcomes, _race

pytestmark = pytest.mark.django_db


def _url(name: str, *args, language: str = "en") -> str:
    with translation.override(language):
        return reverse(name, args=args)


def _page(client, user, url: str) -> str:
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


# --- 1. Task-first dashboards ---------------------------------------------------------------------


@pytest.mark.parametrize("language", ["en", "fr"])
def test_the_certifier_is_not_shown_their_own_certification_as_a_payment_due(
    client, settings, language
):
    """Separation of duties: the buyer who certified the work, also a card holder, is neither
    asked to pay it in "Waiting for you" nor shown it under "Payments due"."""
    settings.PAYMENTS_SEPARATE_CERTIFIER_AND_PAYER = True
    certifier = StaffFactory(roles=[Role.BUYER, Role.CARD_HOLDER])
    _opportunity, _contract, payment = builders.payment_due(buyer=certifier)
    page = _page(client, certifier, _url("marketplace:dashboard", language=language))
    assert _url("payments:detail", payment.pk, language=language) not in page
    other_holder = builders.card_holder()
    page = _page(client, other_holder, _url("marketplace:dashboard", language=language))
    assert page.count(_url("payments:detail", payment.pk, language=language)) == 2


def test_a_watcher_and_a_losing_bidder_never_read_the_contracts_progress(client, awarded):
    opportunity, contract = awarded
    opportunity, contract, _payment = builders.certify(opportunity, contract)
    loser = Bid.objects.filter(opportunity=opportunity).exclude(pk=contract.bid_id).first().supplier
    watcher = SupplierProfileFactory().user
    watcher.watches.create(opportunity=opportunity)
    loser.watches.create(opportunity=opportunity)
    for person in (watcher, loser):
        page = _page(client, person, "/en/dashboard/")
        assert _url("payments:contract", contract.pk) not in page
        for progress in ("Certified", "waiting for payment", "Delivered", "Paid"):
            assert progress not in page, (person, progress)
    # The awardee reads their own.
    assert "Certified — waiting for payment" in _page(client, contract.supplier, "/en/dashboard/")


def test_an_evaluator_reads_no_bidder_before_the_reveal(client):
    evaluation, panel = builders.consensus_reached()
    suppliers = [bid.supplier for bid in Bid.objects.filter(opportunity=evaluation.opportunity)]
    for evaluator in panel:
        for language in ("en", "fr"):
            page = _page(client, evaluator, _url("marketplace:dashboard", language=language))
            for supplier in suppliers:
                assert supplier.email not in page
                assert supplier.full_name not in page


def _supplier_in_every_status(size: int):
    """A supplier with `size` awarded and certified bids and `size` losing ones, each watched."""
    supplier = SupplierProfileFactory().user
    for _ in range(size):
        for wins in (True, False):
            opportunity, bids = builders.sealed_bids(count=2)
            Bid.objects.filter(pk=bids[0 if wins else 1].pk).update(supplier=supplier)
            opportunity, contract = builders.awarded_contract(
                opportunity=opportunity, marks=[(True, 9), (True, 5)]
            )
            if wins:
                builders.certify(opportunity, contract)
            supplier.watches.create(opportunity=opportunity)
    return supplier


def _queries(client, url: str) -> int:
    client.get(url)  # warm what a second visit finds warm
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries.captured_queries)


def test_the_supplier_pages_read_as_many_queries_for_one_bid_as_for_many(client):
    counts = []
    for size in (1, 3):
        client.force_login(_supplier_in_every_status(size))
        counts.append((_queries(client, "/en/dashboard/"), _queries(client, "/en/bids/")))
    assert counts[0] == counts[1]


def test_the_staff_dashboard_reads_as_many_queries_for_one_step_of_each_kind_as_for_three(client):
    counts = []
    for size in (1, 3):
        staff = builders.staff_with_everything_waiting(size)
        opportunity, contract = builders.awarded_contract(buyer=staff)
        builders.certify(opportunity, contract)
        client.force_login(staff)
        counts.append(_queries(client, "/en/dashboard/"))
    assert counts[0] == counts[1]


# --- 2. Recall, discard, the split warning ------------------------------------------------------


def _hidden_fields(page: str, action: str) -> dict[str, str]:
    """The hidden inputs of the form posting to `action`, as the browser would send them."""
    form = re.search(
        rf'<form novalidate method="post" action="{re.escape(action)}">(.*?)</form>', page, re.S
    )
    assert form, action
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form.group(1)))


@pytest.mark.parametrize("language", ["en", "fr"])
def test_a_review_page_opened_before_a_recall_cannot_publish_what_came_back(
    client, buyer, language
):
    """The buyer submits a harmless posting; a reviewer opens it; the buyer takes it back,
    rewrites it and submits it again; the reviewer's Publish on the page they read must not
    publish a text they never saw."""
    reviewer = builders.program_admin()
    draft = OpportunityFactory(buyer=buyer, title_en="Harmless work", title_fr="Travail anodin")
    opportunity_submit_for_review(actor=buyer, opportunity=draft)
    page = _page(client, reviewer, _url("opportunities:review", draft.pk, language=language))
    publish = _url("opportunities:publish", draft.pk, language=language)
    read = _hidden_fields(page, publish)

    opportunity_recall(actor=buyer, opportunity=Opportunity.objects.get(pk=draft.pk))
    Opportunity.objects.filter(pk=draft.pk).update(
        title_en="Work only my friend can do", title_fr="Travail pour mon ami seulement"
    )
    opportunity_submit_for_review(actor=buyer, opportunity=Opportunity.objects.get(pk=draft.pk))

    response = client.post(publish, read, follow=True)
    assert response.status_code == 200
    assert Opportunity.objects.get(pk=draft.pk).status == Opportunity.Status.IN_REVIEW
    said = response.content.decode()
    assert (
        "submitted it again since you opened it"
        if language == "en"
        else "soumise de nouveau depuis que vous l\u2019avez ouverte"
    ) in said.replace("&#x27;", "\u2019").replace("'", "\u2019")
    # Read again, it publishes.
    page = client.get(_url("opportunities:review", draft.pk, language=language)).content.decode()
    client.post(publish, _hidden_fields(page, publish))
    assert Opportunity.objects.get(pk=draft.pk).status == Opportunity.Status.PUBLISHED


def test_the_review_page_unchanged_still_publishes_and_a_forged_stamp_is_not_an_error(
    client, buyer
):
    reviewer = builders.program_admin()
    draft = OpportunityFactory(buyer=buyer)
    opportunity_submit_for_review(actor=buyer, opportunity=draft)
    client.force_login(reviewer)
    publish = _url("opportunities:publish", draft.pk)
    for forged in ("x" * 5000, "2026-13-45T99:99:99", "\x00", "2001-01-01T00:00:00+00:00"):
        response = client.post(publish, {"reviewed": forged})
        assert response.status_code == 302
        assert Opportunity.objects.get(pk=draft.pk).status == Opportunity.Status.IN_REVIEW
    page = client.get(_url("opportunities:review", draft.pk)).content.decode()
    client.post(publish, _hidden_fields(page, publish))
    assert Opportunity.objects.get(pk=draft.pk).status == Opportunity.Status.PUBLISHED


@pytest.mark.django_db(transaction=True)
def test_recall_racing_the_reviewers_publication_ends_with_one_of_them():
    _needs_postgresql()
    buyer, reviewer = builders.buyer(), builders.program_admin()
    draft = OpportunityFactory(buyer=buyer)
    opportunity_submit_for_review(actor=buyer, opportunity=draft)
    results = _race(
        lambda: opportunity_recall(actor=buyer, opportunity=Opportunity.objects.get(pk=draft.pk)),
        lambda: opportunity_publish(
            actor=reviewer, opportunity=Opportunity.objects.get(pk=draft.pk)
        ),
    )
    assert _outcomes(results) == ["ok", "refused"]
    status = Opportunity.objects.get(pk=draft.pk).status
    assert status in (Opportunity.Status.DRAFT, Opportunity.Status.PUBLISHED)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("second", ["discard", "submit"])
def test_two_tabs_discarding_and_discarding_or_submitting_at_once_leave_one_outcome(second):
    """Each tab loaded the draft before either acted (as each view does before its service)."""
    _needs_postgresql()
    buyer = builders.buyer()
    draft = OpportunityFactory(buyer=buyer)
    first_copy, second_copy = (Opportunity.objects.get(pk=draft.pk) for _ in range(2))
    other = (
        (lambda: opportunity_discard(actor=buyer, opportunity=second_copy))
        if second == "discard"
        else (lambda: opportunity_submit_for_review(actor=buyer, opportunity=second_copy))
    )
    results = _race(lambda: opportunity_discard(actor=buyer, opportunity=first_copy), other)
    assert [r for r in results if r[0] not in ("ok", "refused", "denied")] == [], results


def test_a_replayed_discard_or_recall_answers_like_the_first(client, buyer):
    client.force_login(buyer)
    draft = OpportunityFactory(buyer=buyer)
    url = _url("opportunities:discard", draft.pk)
    form = _hidden_fields(client.get(url).content.decode(), url)
    first = client.post(url, form)
    again = client.post(url, form)
    assert first.status_code == again.status_code == 302
    assert first["Location"] == again["Location"]
    # Without the form's key (another tab): told it was discarded already, never an error page.
    assert client.post(url)["Location"] == first["Location"]

    in_review = opportunity_submit_for_review(
        actor=buyer, opportunity=OpportunityFactory(buyer=buyer)
    )
    url = _url("opportunities:recall", in_review.pk)
    form = _hidden_fields(client.get(url).content.decode(), url)
    assert client.post(url, form)["Location"] == client.post(url, form)["Location"]
    assert client.post(url).status_code == 302  # already back in the drafts: said so
    assert Opportunity.objects.get(pk=in_review.pk).status == Opportunity.Status.DRAFT


def test_nobody_else_recalls_or_discards_a_posting(client, buyer):
    draft = OpportunityFactory(buyer=buyer)
    in_review = opportunity_submit_for_review(
        actor=buyer, opportunity=OpportunityFactory(buyer=buyer)
    )
    for intruder in (builders.buyer(), builders.program_admin(), SupplierProfileFactory().user):
        client.force_login(intruder)
        for name, pk in (
            ("opportunities:discard", draft.pk),
            ("opportunities:recall", in_review.pk),
        ):
            for method in (client.get, client.post):
                assert method(_url(name, pk)).status_code in (403, 404)
        with pytest.raises(PermissionDenied):
            opportunity_recall(actor=intruder, opportunity=in_review)
    assert Opportunity.objects.filter(pk=draft.pk).exists()
    assert Opportunity.objects.get(pk=in_review.pk).status == Opportunity.Status.IN_REVIEW


# The posting under review and its earlier twin: the same work, over the cap together.
TWIN = {
    "title": "Fix the keyboard trap in the date picker",
    "body": "The date picker of the benefits form traps keyboard focus.",
}


def _invisible(text: str, mark: str) -> str:
    """`mark` after every second letter: the words look the same on the page."""
    return "".join(c + mark if i % 2 and c.isalpha() else c for i, c in enumerate(text))


_LOOKALIKES = str.maketrans("aceopxyi", "\u0430\u0441\u0435\u043e\u0440\u0445\u0443\u0456")


@pytest.mark.parametrize(
    ("trick", "disguise"),
    [
        ("zero-width space", lambda t: _invisible(t, "\u200b")),
        ("zero-width joiner", lambda t: _invisible(t, "\u200d")),
        ("soft hyphen", lambda t: _invisible(t, "\u00ad")),
        ("word joiner", lambda t: _invisible(t, "\u2060")),
        ("left-to-right mark", lambda t: _invisible(t, "\u200e")),
        ("Cyrillic lookalikes", lambda t: t.translate(_LOOKALIKES)),
        ("Greek omicron", lambda t: t.replace("o", "\u03bf")),
        (
            "full-width letters",
            lambda t: "".join(chr(ord(c) + 0xFEE0) if c.isalpha() else c for c in t),
        ),
        ("right-to-left override", lambda t: "\u202e" + t + "\u202c"),
    ],
)
def test_characters_nobody_sees_do_not_hide_a_split(trick, disguise):
    original = similarity.Text(**TWIN)
    disguised = similarity.Text(title=disguise(TWIN["title"]), body=disguise(TWIN["body"]))
    assert similarity.likeness(original, disguised).score >= similarity.THRESHOLD, trick


def test_a_disguised_twin_is_flagged_on_the_review_page(client, buyer):
    guardrails = Guardrails.current()
    guardrails.value_cap_cents = 500_000
    guardrails.save()
    fields = {
        "title_en": TWIN["title"],
        "summary_en": TWIN["body"],
        "title_fr": "Corriger le piège au clavier du sélecteur de date",
        "summary_fr": "Le sélecteur de date piège le focus du clavier.",
    }
    earlier = opportunity_submit_for_review(
        actor=buyer, opportunity=OpportunityFactory(buyer=buyer, value_cents=400_000, **fields)
    )
    hidden = {key: _invisible(value, "\u200b") for key, value in fields.items()}
    later = opportunity_submit_for_review(
        actor=buyer, opportunity=OpportunityFactory(buyer=buyer, value_cents=300_000, **hidden)
    )
    assert [match.other for match in split_matches(later)] == [earlier]


def test_ten_thousand_word_texts_are_compared_in_well_under_a_second():
    words = [f"w{n}ord" for n in range(10_000)]
    long = similarity.Text(title=" ".join(words[:40]), body=" ".join(words))
    other = similarity.Text(title=" ".join(reversed(words[:40])), body=" ".join(reversed(words)))
    started = time.perf_counter()
    assert similarity.likeness(long, other).score == 1.0
    # Letters that grow tenfold when decomposed (U+FDFA), and one endless word.
    similarity.likeness(
        similarity.Text(title="\ufdfa" * 200, body="\ufdfa" * 500),
        similarity.Text(title="a" * 200, body="\u200b".join("a" * 10_000)),
    )
    assert time.perf_counter() - started < 1.0


def test_the_review_page_of_a_buyer_with_many_postings_answers_quickly(client, buyer):
    texts = {
        "summary_en": " ".join(f"term{n}" for n in range(60))[:500],
        "summary_fr": " ".join(f"terme{n}" for n in range(60))[:500],
    }
    for _ in range(40):
        opportunity_submit_for_review(
            actor=buyer, opportunity=OpportunityFactory(buyer=buyer, **texts)
        )
    later = opportunity_submit_for_review(
        actor=buyer, opportunity=OpportunityFactory(buyer=buyer, **texts)
    )
    client.force_login(builders.program_admin())
    started = time.perf_counter()
    assert client.get(_url("opportunities:review", later.pk)).status_code == 200
    assert time.perf_counter() - started < 2.0


# --- 3. The page frame ----------------------------------------------------------------------------


def _report_link(page: str) -> str:
    found = re.search(
        r'<li><a href="([^"]*/contact/[^"]*)">(?:Report a problem|Signaler un problème)', page
    )
    assert found, "no Report a problem link"
    return found.group(1).replace("&amp;", "&")


@pytest.mark.parametrize("language", ["en", "fr"])
def test_report_a_problem_never_carries_a_secret_of_the_address(client, language):
    supplier = SupplierProfileFactory().user
    token = unsubscribe_token(supplier.pk, "question.answered")
    with translation.override(language):
        unsubscribe = reverse("marketplace:unsubscribe", args=[token])
        confirm = reverse("account_confirm_email", args=["SECRETKEY123:abc"])
    for url, secret in ((unsubscribe, token), (confirm, "SECRETKEY123")):
        response = client.get(url)
        page = response.content.decode()
        link = _report_link(page)
        assert secret not in urllib.parse.unquote(link), url
        contact = client.get(link).content.decode()
        assert secret not in urllib.parse.unquote(contact)


@pytest.mark.parametrize(
    "given",
    [
        "/en/opportunities/\u202egpj.exe",  # shown backwards: "exe.jpg"
        "/en/\u2066x\u2069",
        "/en/a\u200bb",
        "/en/\u2028x",
        "/en/\x7f",
    ],
)
def test_the_contact_page_repeats_no_address_that_reads_other_than_it_is(client, given):
    response = client.get(_url("marketplace:contact"), {"page": given})
    assert response.status_code == 200
    assert response.context["reported_page"] == ""


@pytest.mark.parametrize(
    "given",
    [
        '/en/"><script>alert(1)</script>',
        "/en/?a=1&subject=Hacked&cc=evil@example.com",
        "/en/%0d%0aBcc:evil@example.com",
        "/en/" + "\u00e9" * 400,
    ],
)
def test_hostile_reported_pages_are_escaped_and_stay_in_the_body(client, given):
    response = client.get(_url("marketplace:contact", language="fr"), {"page": given})
    assert response.status_code == 200
    page = response.content.decode()
    assert "<script>alert" not in page
    mailto = response.context["mailto"]
    query = urllib.parse.parse_qs(mailto.split("?", 1)[1]) if "?" in mailto else {}
    assert set(query) <= {"subject", "body"}
    assert all(len(values) == 1 for values in query.values())
    assert "\n" not in "".join(query.get("subject", []))


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/en/contact/?page=/en/opportunities/%3Fq%3Dx&x=%C3%A9", "/fr/contact/?page="),
        ("/en/opportunities/?q=d%C3%A9j%C3%A0&sort=closing", "/fr/opportunities/?q="),
        ("/en/no-such-page//evil.example/?next=https://evil.example", "/fr/"),
        ("//evil.example/en/", "/"),
        ("/en/%2F%2Fevil.example", "/fr/"),
    ],
)
def test_the_language_toggle_keeps_the_query_and_stays_on_this_site(client, path, expected):
    response = client.get(path)
    page = response.content.decode()
    toggle = re.search(r'class="gc-lang-toggle" href="([^"]*)"', page)
    if toggle is None:
        assert response.status_code in (301, 302, 404)
        return
    href = toggle.group(1).replace("&amp;", "&")
    assert href.startswith(expected), href
    assert not href.startswith("//") and "\\" not in href
    parsed = urllib.parse.urlsplit(href)
    assert parsed.scheme == "" and parsed.netloc == ""
    if "?" in path and response.status_code == 200:
        assert urllib.parse.parse_qs(parsed.query) == urllib.parse.parse_qs(
            urllib.parse.urlsplit(path).query
        )
    gcds = re.search(r'<gcds-header[^>]* lang-href="([^"]*)"', page)
    assert gcds and gcds.group(1).replace("&amp;", "&") == href


@pytest.mark.parametrize(
    "name", ["marketplace:privacy", "marketplace:terms", "marketplace:contact"]
)
@pytest.mark.parametrize("language", ["en", "fr"])
def test_the_pages_about_the_service_work_without_javascript_for_anyone(client, name, language):
    """The plain header and footer (shown when the components do not run) carry every link the
    components do; the page asks for no session and sets no cookie for an anonymous reader."""
    response = client.get(_url(name, language=language))
    assert response.status_code == 200
    page = response.content.decode()
    fallback = re.search(
        r'<footer class="gc-fallback gc-fallback-footer">(.*?)</footer>', page, re.S
    )
    assert fallback
    for target in ("marketplace:privacy", "marketplace:terms", "marketplace:contact"):
        assert f'href="{_url(target, language=language)}' in fallback.group(1)
    assert 'class="gc-lang-toggle"' in page and 'class="skip-link"' in page
    assert "sessionid" not in response.cookies


def test_a_suspended_buyer_cannot_discard_or_recall(client, buyer):
    draft = OpportunityFactory(buyer=buyer)
    in_review = opportunity_submit_for_review(
        actor=buyer, opportunity=OpportunityFactory(buyer=buyer)
    )
    buyer.emailaddress_set.update(verified=False)
    suspended = type(buyer).objects.with_roles().get(pk=buyer.pk)
    with pytest.raises((PermissionDenied, ValidationError)):
        opportunity_recall(actor=suspended, opportunity=in_review)
    client.force_login(buyer)
    assert client.post(_url("opportunities:discard", draft.pk)).status_code in (302, 403, 404)
    assert Opportunity.objects.filter(pk=draft.pk).exists()


@pytest.mark.parametrize("step", ["opportunities:publish", "opportunities:request_changes"])
def test_a_reviewer_acting_after_the_buyer_took_it_back_is_told_not_lost(client, buyer, step):
    reviewer = builders.program_admin()
    in_review = opportunity_submit_for_review(
        actor=buyer, opportunity=OpportunityFactory(buyer=buyer)
    )
    client.force_login(reviewer)
    opportunity_recall(actor=buyer, opportunity=in_review)
    response = client.post(_url(step, in_review.pk), {"note": "Say more."}, follow=True)
    assert response.status_code == 200
    said = response.content.decode()
    assert "is no longer waiting for review" in said or "already back with its buyer" in said
    assert Opportunity.objects.get(pk=in_review.pk).status == Opportunity.Status.DRAFT


def test_a_buyer_cannot_flood_the_program_team_by_submitting_and_recalling_in_a_loop(client, buyer):
    """Each submission and each recall notifies every program administrator: a buyer going
    round the loop would mail them without end. Past a handful of recalls an hour, refused."""
    from marketplace.models import Notification

    admin = builders.program_admin()
    draft = OpportunityFactory(buyer=buyer)
    client.force_login(buyer)
    url = _url("opportunities:recall", draft.pk)
    for _ in range(20):
        opportunity_submit_for_review(actor=buyer, opportunity=Opportunity.objects.get(pk=draft.pk))
        response = client.post(url, follow=True)
        assert response.status_code == 200
        if Opportunity.objects.get(pk=draft.pk).status == Opportunity.Status.IN_REVIEW:
            assert "too many times" in response.content.decode()
            break
    else:
        pytest.fail("twenty recalls in a row were all accepted")
    assert Notification.objects.filter(recipient=admin, kind="opportunity.recalled").count() <= 5
