"""The whole journey as one piece, in the browser, with the demo's staff and three suppliers who
sign up on the way: a buyer drafts a bilingual opportunity, the program admin publishes it, the
suppliers find it (one in French), one asks a question and gets the answer, all three bid; the
deadline passes; two evaluators declare, score and reach consensus; the draw runs and is checked
from its public page; the buyer reveals and awards; the others read their debriefs; the winner
delivers, the buyer certifies, the card holder pays, the winner confirms; the award is in the
open data. Each person's emails are checked along the way, in their language."""

import datetime as dt
import io
import re

import pytest
from django.conf import settings
from django.core import mail
from django.core.management import call_command
from django.utils import timezone
from playwright.sync_api import Page, expect

from bids.models import Bid, Receipt
from demo.accounts import DEMO_PASSWORD
from evaluation.models import Evaluation
from marketplace.calendar import add_business_days
from opportunities.models import Opportunity
from payments.models import Payment
from tests.support.browser import sign_in, tick

pytestmark = pytest.mark.django_db(transaction=True)

TITLE_EN = "Fix the keyboard trap in the appointment booker"
TITLE_FR = "Corriger le piège au clavier du module de rendez-vous"
SUPPLIERS = [
    # email, language, legal name, answers (no name, handle or site in them: nothing to redact)
    ("ines@pixel-coop.example", "en", "Pixel Co-op", "We fixed focus traps in two booking apps."),
    ("tom@solo-dev.example", "en", "Tom Tremblay", "I removed a modal keyboard trap last year."),
    ("chloe@atelier-code.example", "fr", "Atelier Code", "Nous avons corrigé ce même piège."),
]
SAVE_PROFILE = {"en": "Save profile", "fr": "Enregistrer le profil"}
PROFILE_SAVED = {
    "en": "Your supplier profile was saved.",
    "fr": "Votre profil de fournisseur a été enregistré.",
}
NOT_AWARDED = {"en": "Not awarded", "fr": "Soumission non retenue"}
BUYER, ADMIN = "buyer@demo.gc.ca", "admin@demo.gc.ca"
EVALUATORS = ("evaluator1@demo.gc.ca", "evaluator2@demo.gc.ca")
CARD_HOLDER = "cardholder@demo.gc.ca"


def _local(moment: dt.datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


def _mail_to(address: str) -> list:
    return [m for m in mail.outbox if address in m.to]


def _subjects(address: str) -> list[str]:
    return [m.subject for m in _mail_to(address)]


class People:
    """One browser context per person, signed in once."""

    def __init__(self, browser, base: str) -> None:
        self.browser, self.base, self.pages = browser, base, {}

    def new(self) -> Page:
        return self.browser.new_context(bypass_csp=True).new_page()

    def __call__(self, email: str, language: str = "en", password: str = DEMO_PASSWORD) -> Page:
        if email not in self.pages:
            page = self.new()
            sign_in(page, self.base, email, password, language=language)
            self.pages[email] = page
        return self.pages[email]


def _sign_up(people: People, email: str, language: str, legal_name: str) -> Page:
    """Sign up, confirm the address from the email, complete the profile."""
    page = people.new()
    base = people.base
    page.goto(f"{base}/{language}/accounts/signup/")
    page.locator("#id_full_name").fill(f"{email.split('@')[0].capitalize()} Lavoie")
    page.locator("#id_email").fill(email)
    page.locator("#id_password1").fill("a-long-and-unusual-passphrase")
    page.locator("#id_password2").fill("a-long-and-unusual-passphrase")
    page.locator("form.allauth-form button[type=submit]").click()
    [confirm] = _mail_to(email)
    link = re.search(r"https?://\S+/accounts/confirm-email/\S+/", confirm.body).group(0)
    page.goto(link)
    page.locator("main form button[type=submit]").click()  # Confirm
    page.wait_for_url(f"**/{language}/dashboard/")
    page.goto(f"{base}/{language}/profile/")
    tick(page.locator("#id_kind_0"))  # an individual (the first choice)
    for field, value in {
        "legal_name": legal_name,
        "contact_name": legal_name,
        "phone": "613-555-0142",
        "postal_code": "K1A 0B1",
    }.items():
        page.locator(f"#id_{field}").fill(value)
    page.locator("#id_province").select_option("ON")
    page.get_by_role("button", name=SAVE_PROFILE[language]).click()
    expect(page.locator(".gc-notice-success")).to_contain_text(PROFILE_SAVED[language])
    people.pages[email] = page
    return page


def _bid(page: Page, base: str, opportunity: Opportunity, answer: str, language: str) -> Receipt:
    page.goto(f"{base}/{language}/opportunities/{opportunity.pk}/")
    page.locator(".bid-panel form button[type=submit]").click()  # Bid on this opportunity
    answers = page.locator("#bid-form textarea[name^=answer_]")
    # Each answer box is drawn by its component once the page has loaded: wait for them all.
    expect(answers).to_have_count(opportunity.criteria.count())
    for textarea in answers.all():
        textarea.fill(answer)
    start = (timezone.localdate() + dt.timedelta(days=10)).isoformat()
    page.locator("#id_proposed_start_date").fill(start)
    for name in ("attest_can_work_in_canada", "attest_can_be_paid_by_card", "attest_no_conflict"):
        tick(page.locator(f"#id_{name}"))
    tick(page.locator("#id_accept_terms"))
    page.locator("[name=action_submit]").click()
    expect(page.locator("code.digest")).to_be_visible()
    digest = page.locator("code.digest").inner_text()
    return Receipt.objects.get(digest=digest)


def _mark(page: Page, opportunity: Opportunity, score: int, prefix: str, button: str) -> None:
    """One packet's marks (an evaluator's, or the panel's consensus): the mandatory criterion
    passed, the rated one at `score`, each with its rationale."""
    mandatory = opportunity.criteria.get(kind="mandatory")
    rated = opportunity.criteria.get(kind="rated")
    tick(page.locator(f"#id_passed_{mandatory.pk}_0"))
    page.locator(f"#id_rationale_{mandatory.pk}").fill(f"{prefix}: the example shows it.")
    page.locator(f"#id_score_{rated.pk}").fill(str(score))
    page.locator(f"#id_rationale_{rated.pk}").fill(f"{prefix}: a concrete plan.")
    page.get_by_role("button", name=button).click()
    expect(page.locator(".gc-notice-success")).to_be_visible()


def test_the_whole_journey_in_both_languages(live_server, browser, axe_violations):
    call_command("seed_demo", stdout=io.StringIO())
    base = live_server.url
    people = People(browser, base)
    mail.outbox.clear()

    # 1. The buyer drafts the opportunity in both languages and submits it for review.
    buyer = people(BUYER)
    buyer.goto(f"{base}/en/opportunities/new/")
    closes = add_business_days(timezone.now(), 8)
    for name, value in {
        "title_en": TITLE_EN,
        "title_fr": TITLE_FR,
        "summary_en": "Keyboard users cannot leave the date picker.",
        "summary_fr": "Les utilisateurs du clavier ne peuvent pas quitter le sélecteur de date.",
        "description_en": "Tab gets **stuck** in the picker.",
        "description_fr": "La touche Tab reste **bloquée** dans le sélecteur.",
        "deliverables_en": "A merged pull request.",
        "deliverables_fr": "Une demande de tirage fusionnée.",
        "acceptance_criteria_en": "Tab and Escape leave the picker.",
        "acceptance_criteria_fr": "Tab et Échap quittent le sélecteur.",
        "value_dollars": "3000",
        "question_deadline": _local(closes - dt.timedelta(days=2)),
        "closes_at": _local(closes),
    }.items():
        buyer.locator(f"#id_{name}").fill(value)
    tick(buyer.get_by_label("Accessibility").first)
    buyer.locator("#id_type").select_option("accessibility")
    for name in ("attest_standalone", "attest_no_internal_capacity", "attest_not_split"):
        tick(buyer.locator(f"#id_{name}"))
    buyer.get_by_role("button", name="Save draft").click()  # the criteria come with the draft
    buyer.locator("#id_criteria-0-kind").select_option("mandatory")
    buyer.locator("#id_criteria-0-text_en").fill("Has fixed a keyboard trap before.")
    buyer.locator("#id_criteria-0-text_fr").fill("A déjà corrigé un piège au clavier.")
    buyer.get_by_role("button", name="Save draft").click()
    buyer.locator("#id_criteria-1-kind").select_option("rated")
    buyer.locator("#id_criteria-1-text_en").fill("Explain how you would fix it.")
    buyer.locator("#id_criteria-1-text_fr").fill("Expliquez comment vous le corrigeriez.")
    buyer.locator("#id_criteria-1-weight").fill("1")
    buyer.locator("#id_criteria-1-max_score").fill("10")
    buyer.get_by_role("button", name="Save draft").click()
    expect(buyer.get_by_text("Everything needed to publish is there.")).to_be_visible()
    buyer.get_by_role("button", name="Submit for review").click()
    expect(buyer.get_by_text("Submitted for review.")).to_be_visible()
    opportunity = Opportunity.objects.get(title_en=TITLE_EN)

    # 2. The program admin publishes it.
    admin = people(ADMIN)
    admin.goto(f"{base}/en/opportunities/review/")
    admin.get_by_role("link", name=TITLE_EN).click()
    # The demo buyer's one alike posting (the date picker's keyboard trap, $2,000) and this one
    # stay under the cap together: no split warning (tests/opportunities/test_split_warning.py).
    expect(admin.get_by_role("heading", name="Possible split requirement")).to_have_count(0)
    admin.get_by_role("button", name="Publish").click()
    expect(admin.get_by_text("Published:")).to_be_visible()
    opportunity.refresh_from_db()
    assert opportunity.status == Opportunity.Status.PUBLISHED

    # 3. Three new suppliers sign up; they find it, one of them in French.
    pages = {}
    for email, language, legal_name, _answer in SUPPLIERS:
        pages[email] = _sign_up(people, email, language, legal_name)
    english, _other, french = (pages[s[0]] for s in SUPPLIERS)
    english.goto(f"{base}/en/opportunities/")
    english.get_by_role("link", name=TITLE_EN).click()
    expect(english.locator("h1")).to_have_text(TITLE_EN)
    french.goto(f"{base}/fr/opportunities/")
    french.locator("#id_q").fill("clavier")
    french.locator("form[role=search] [type=submit]").click()
    french.get_by_role("link", name=TITLE_FR).click()
    expect(french.locator("h1")).to_have_text(TITLE_FR)
    assert axe_violations(french) == []

    # 4. A question, and the buyer's answer, published for everyone.
    english.get_by_label("Your question").fill("Does the fix need to support Safari?")
    english.get_by_role("button", name="Ask the question").click()
    expect(english.get_by_text("Your question was sent.")).to_be_visible()
    buyer.goto(f"{base}/en/opportunities/{opportunity.pk}/")
    buyer.get_by_label("Answer (English)").fill("Yes, the last two versions.")
    buyer.get_by_label("Answer (French)").fill("Oui, les deux dernières versions.")
    buyer.get_by_role("button", name="Publish the answer").click()
    expect(buyer.get_by_text("Your answer is published.")).to_be_visible()
    french.goto(f"{base}/fr/opportunities/{opportunity.pk}/")
    expect(french.get_by_text("Oui, les deux dernières versions.")).to_be_visible()

    # 5. All three bid; each gets a receipt by email with the digest shown.
    receipts = {}
    for email, language, _legal_name, answer in SUPPLIERS:
        receipts[email] = _bid(pages[email], base, opportunity, answer, language)
    for email, _language, *_ in SUPPLIERS:
        assert any(receipts[email].digest in m.body for m in _mail_to(email)), email

    # 6. The deadline and the close's grace pass (bids that arrived in time are answered
    # meanwhile); the scheduler's sweeper closes and seals (beat runs it every 30 s).
    grace = dt.timedelta(seconds=settings.BID_CLOSE_GRACE_SECONDS)
    Opportunity.objects.filter(pk=opportunity.pk).update(
        question_deadline=timezone.now() - grace - dt.timedelta(minutes=2),
        closes_at=timezone.now() - grace - dt.timedelta(seconds=1),
    )
    call_command("run_scheduled_jobs", "close-due-opportunities", stdout=io.StringIO())
    opportunity.refresh_from_db()
    assert opportunity.status == Opportunity.Status.EVALUATING  # closed, packets built
    assert set(Bid.objects.filter(opportunity=opportunity).values_list("status", flat=True)) == {
        Bid.Status.SEALED
    }
    evaluation = Evaluation.objects.get(opportunity=opportunity)
    assert evaluation.packets.count() == 3

    # 7. The buyer appoints the panel: the two demo evaluators, the first chairs.
    buyer.goto(f"{base}/en/evaluation/{opportunity.pk}/")
    for index, email in enumerate(EVALUATORS):
        evaluator = buyer.get_by_label("Evaluator")
        evaluator.select_option(label=evaluator.locator("option", has_text=email).inner_text())
        if index == 0:
            tick(buyer.get_by_label("Chair of the panel"))
        buyer.get_by_role("button", name="Appoint").click()
    expect(buyer.locator("table").first).to_contain_text("Chair")

    # 8. Each evaluator declares, scores the three anonymized packets alone, and submits.
    packets = list(evaluation.packets.order_by("label"))
    scores = [9, 6, 9]  # two share the top score: the draw settles it
    for email in EVALUATORS:
        page = people(email)
        page.goto(f"{base}/en/evaluation/{opportunity.pk}/declare/")
        tick(
            page.get_by_label(
                "I have no conflict of interest with this opportunity or its bidders."
            )
        )
        page.get_by_role("button", name="Declare").click()
        expect(page.locator("h1")).to_have_text("The bids to score")
        for packet, score in zip(packets, scores, strict=True):
            page.goto(f"{base}/en/evaluation/{opportunity.pk}/packets/{packet.pk}/")
            for _email, _language, legal_name, _answer in SUPPLIERS:
                expect(page.locator("main")).not_to_contain_text(legal_name)
            _mark(page, opportunity, score, f"Scored {score}", "Save my marks")
        page.goto(f"{base}/en/evaluation/{opportunity.pk}/packets/")
        page.get_by_role("link", name="Submit my marks").click()
        page.get_by_role("button", name="Submit my marks as final").click()
        expect(page.locator(".gc-notice-success").first).to_contain_text("Your marks are submitted")

    # 9. The chair records the consensus and locks it: the draw runs.
    chair = people(EVALUATORS[0])
    for packet, score in zip(packets, scores, strict=True):
        chair.goto(f"{base}/en/evaluation/{opportunity.pk}/consensus/{packet.pk}/")
        _mark(chair, opportunity, score, f"Consensus {score}", "Record the consensus")
    chair.goto(f"{base}/en/evaluation/{opportunity.pk}/consensus/")
    chair.get_by_role("link", name="Review the ranking, then lock").click()
    chair.get_by_role("button", name="Lock the consensus and select").click()
    expect(chair.locator(".gc-notice-success")).to_contain_text("the selection is made")

    # 10. Anyone checks the draw from its public page, and by recomputing it.
    evaluation.refresh_from_db()
    public = people.new()
    public.goto(f"{base}/fr/evaluation/{opportunity.pk}/draw/")
    expect(public.locator("main")).to_contain_text(evaluation.seed)
    expect(public.locator("main")).to_contain_text(evaluation.commitment)
    assert axe_violations(public) == []
    public.goto(f"{base}/en/evaluation/{opportunity.pk}/draw/")
    expect(public.locator("main")).to_contain_text("Checked by the site")
    verified = io.StringIO()
    call_command("verify_draw", str(opportunity.pk), stdout=verified)
    assert "The draw checks out" in verified.getvalue()

    # 11. The buyer reveals who bid and awards to the first in rank.
    buyer.goto(f"{base}/en/evaluation/{opportunity.pk}/")
    buyer.get_by_role("link", name="Reveal who bid").click()
    buyer.get_by_role("button", name="Reveal who bid").click()
    expect(buyer.locator("main")).to_contain_text("Who bid")
    buyer.get_by_role("link", name="Award to the first in rank").click()
    buyer.get_by_role("button", name="Award to the first in rank").click()
    expect(buyer.locator(".gc-notice-success")).to_contain_text("Awarded")
    evaluation.refresh_from_db()
    winner_bid = evaluation.packets.get(rank=1).bid
    winner = winner_bid.supplier.email
    others = [s[0] for s in SUPPLIERS if s[0] != winner]

    # 12. The others read their debriefs.
    for email in others:
        language = next(s[1] for s in SUPPLIERS if s[0] == email)
        page = people.pages[email]
        bid = Bid.objects.get(opportunity=opportunity, supplier__email=email)
        page.goto(f"{base}/{language}/bids/{bid.pk}/")
        expect(page.locator("#debrief-heading")).to_be_visible()
        expect(page.locator("main")).to_contain_text("Consensus")
        assert axe_violations(page) == []

    # 13. The winner accepts and delivers; the buyer certifies; the card holder pays.
    language = next(s[1] for s in SUPPLIERS if s[0] == winner)
    seller = people.pages[winner]
    contract = winner_bid.contract
    seller.goto(f"{base}/en/payments/contracts/{contract.pk}/")
    seller.get_by_role("button", name="Accept the contract").click()
    expect(seller.locator(".gc-notice-success")).to_contain_text("The work can start")
    seller.get_by_label("Link to the pull request or repository").fill(
        "https://github.com/esdc/booker/pull/12"
    )
    seller.get_by_label("Notes for the buyer").fill("Tab and Escape now leave the picker.")
    seller.get_by_role("button", name="Deliver the work").click()
    expect(seller.locator(".gc-notice-success")).to_contain_text("Delivered")
    buyer.goto(f"{base}/en/payments/contracts/{contract.pk}/")
    buyer.get_by_role("link", name="Review and certify the work").click()
    tick(buyer.get_by_label("section 34"))
    buyer.get_by_role("button", name="Accept and certify the work").click()
    expect(buyer.locator(".gc-notice-success")).to_contain_text("accepted and certified")
    payment = Payment.objects.get(contract=contract)

    holder = people(CARD_HOLDER)
    holder.goto(f"{base}/en/payments/{payment.pk}/")
    holder.get_by_label("Amount paid (CAD, tax included)").fill("3000.00")
    holder.get_by_label("Date paid").fill(timezone.localdate().isoformat())
    holder.get_by_label("Reference").fill("AUTH-771204")
    holder.get_by_role("button", name="Review the payment").click()
    holder.get_by_role("button", name="Record the payment").click()
    expect(holder.locator(".gc-notice-success")).to_contain_text("The payment is recorded")

    # 14. The winner confirms receipt: paid, the work complete.
    seller.goto(f"{base}/en/payments/{payment.pk}/")
    seller.get_by_role("button", name="I received $3,000.00").click()
    expect(seller.locator(".gc-notice-success")).to_contain_text("the payment is confirmed")
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PAID
    assert Opportunity.objects.get(pk=opportunity.pk).status == Opportunity.Status.COMPLETED

    # 15. The award is in the open data, in both languages.
    public.goto(f"{base}/en/reports/what-we-bought/")
    expect(public.get_by_role("link", name=TITLE_EN).first).to_be_visible()
    public.goto(f"{base}/fr/reports/what-we-bought/")
    expect(public.get_by_role("link", name=TITLE_FR).first).to_be_visible()
    assert axe_violations(public) == []

    # 16. Everyone's emails, in their language, one per event.
    def subjects(email: str, title: str) -> list[str]:
        return [s.removesuffix(title).rstrip(" :\u00a0") for s in _subjects(email)]

    assert subjects(ADMIN, TITLE_EN) == ["For review"]
    assert subjects(BUYER, TITLE_EN) == [
        "Published",
        "New question",
        "Ready for evaluation",
        "Closed for bids",
        "Selection locked",
        "Contract accepted",
        "Work delivered",
        "Paid",
    ]
    assert subjects(EVALUATORS[0], TITLE_EN) == ["Evaluation panel", "Ready for consensus"]  # chair
    assert subjects(EVALUATORS[1], TITLE_FR) == ["Comité d\u2019évaluation"]  # she reads French
    assert subjects(CARD_HOLDER, TITLE_EN) == ["Payment due", "Paid"]
    confirm = {
        "en": "[Micro-acquisitions] Confirm your email address",
        "fr": "[Micro-acquisitions] Confirmez votre adresse courriel",
    }
    for email, language, _legal_name, _answer in SUPPLIERS:
        title = TITLE_FR if language == "fr" else TITLE_EN
        received = _subjects(email)
        assert received[0] == confirm[language]
        assert all(subject.endswith(title) for subject in received[1:]), received
        if email == winner:
            assert len(received) == (7 if email == SUPPLIERS[0][0] else 6), received
        else:
            [debrief] = [m for m in _mail_to(email) if m.subject.startswith(NOT_AWARDED[language])]
            # The debrief carries the panel's consensus rationale.
            assert re.search(r"Consensus \d+: a concrete plan", debrief.body)
            assert len(received) == (5 if email == SUPPLIERS[0][0] else 4), received
    english_asker = subjects(SUPPLIERS[0][0], TITLE_EN)
    assert english_asker[1] == "Question answered"  # only the one who asked
    assert english_asker[2:4] == ["Bid received", "Closed for bids"]
    assert english_asker[4:] == (
        ["You are awarded", "Work accepted", "Payment recorded"]
        if winner == SUPPLIERS[0][0]
        else ["Not awarded"]
    )
