"""What people read of a payment and its contract comes from the catalogue in their language:
the history in sentences with status names (never "receipt_confirmed" or "(— → due)"), the tax
by its name ("TPS", "TVH" in French, as on the PDF), and the section 34 statement as certified,
with its translation beside it."""

from __future__ import annotations

import re

from django.urls import reverse
from django.utils import timezone, translation

from marketplace import audit_verbs
from marketplace.models import AuditEvent
from payments import contracts, paying, recorded, selectors
from payments.invoice_pdf import tax_line_label
from payments.models import Contract, Payment, PaymentEvent
from payments.tax import TaxSplit, tax_name

NBSP = "\u00a0"


def fr(text: str) -> str:
    """French as the catalogue writes it: no-break spaces inside « » and before :."""
    return text.replace("« ", "«" + NBSP).replace(" »", NBSP + "»").replace(" :", NBSP + ":")


def _visible(html: str) -> str:
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"[ \t\r\n]+", " ", re.sub(r"<[^>]+>", " ", body))  # not no-break spaces


def _paid(certified, card_holder) -> Payment:
    _opportunity, contract, payment = certified
    payment = paying.payment_start(
        payer=card_holder,
        payment=payment,
        provider=Payment.Provider.RECORDED_CARD,
        amount_cents=payment.total_cents,
        paid_on=timezone.localdate(),
        reference="AUTH-1",
        method=Payment.Method.CARD_TERMINAL,
    )
    return recorded.payment_confirm_receipt(supplier=contract.supplier, payment=payment)


# --- The history ---------------------------------------------------------------------------------


def test_the_payment_history_is_told_in_sentences_with_status_names(client, certified, card_holder):
    payment = _paid(certified, card_holder)
    client.force_login(card_holder)
    url = reverse("payments:detail", args=[payment.pk])
    english = _visible(client.get(url).content.decode())
    assert "The invoice was issued: the payment is due. Status: Due." in english
    assert "The supplier confirmed receiving the payment." in english
    assert "Status: Recorded, waiting for the supplier to confirm → Paid." in english
    with translation.override("fr"):
        french = _visible(
            client.get(reverse("payments:detail", args=[payment.pk])).content.decode()
        )
    assert fr("La facture a été émise : le paiement est exigible. État : À payer.") in french
    assert "Le fournisseur a confirmé avoir reçu le paiement." in french
    # Said of the payment (le paiement): masculine throughout.
    assert fr("État : Consigné, en attente de la confirmation du fournisseur → Payé.") in french
    for page in (english, french):
        for code in ("receipt_confirmed", "recorded →", "→ paid", "(— → due)", "→ due"):
            assert code not in page
        kinds = payment.events.values_list("kind", flat=True)
        assert not [kind for kind in kinds if "_" in kind and kind in page]
    history = french[french.index("Historique") :]
    assert not re.search(r"\b(due|recorded|paid)\b", history)  # no status code in French


def test_a_payment_event_names_its_statuses_in_the_readers_language(certified):
    _opportunity, _contract, payment = certified
    event = payment.events.get(kind="due")
    assert not event.from_status_display and event.moved
    with translation.override("fr"):
        assert event.to_status_display == "À payer"
    note = PaymentEvent(
        payment=payment, kind="checkout_created", from_status="due", to_status="due"
    )
    assert not note.moved


def test_every_verb_a_whole_award_and_payment_writes_has_a_sentence(certified, card_holder):
    _paid(certified, card_holder)
    verbs = set(AuditEvent.objects.values_list("verb", flat=True))
    kinds = {f"payment.{kind}" for kind in PaymentEvent.objects.values_list("kind", flat=True)}
    assert {"evaluation.labels_bound", "contract.certified", "payment.receipt_confirmed"} <= verbs
    assert len(verbs) > 20
    assert not sorted((verbs | kinds) - set(audit_verbs.VERBS))


# --- The tax's name ------------------------------------------------------------------------------


def test_the_tax_is_named_in_the_readers_language_as_on_the_pdf():
    assert tax_name("GST", "en") == "GST" and tax_name("HST", "en") == "HST"
    assert tax_name("GST", "fr") == "TPS" and tax_name("HST", "fr") == "TVH"
    with translation.override("fr"):
        assert tax_name("HST") == "TVH"
    assert tax_name("") == "" and tax_name("QST", "fr") == "QST"  # no name: as it is
    split = TaxSplit(subtotal_cents=100, tax_cents=13, total_cents=113, rate_bp=1300, label="HST")
    assert tax_line_label(split) == "HST 13% / TVH 13\u00a0%"  # the PDF, from the same names


def test_the_invoice_and_payment_pages_name_the_tax_in_french(client, certified):
    opportunity, _contract, payment = certified
    Payment.objects.filter(pk=payment.pk).update(
        tax_label="HST", tax_rate_bp=1300, tax_cents=1000, subtotal_cents=payment.total_cents - 1000
    )
    client.force_login(opportunity.buyer)
    english = _visible(client.get(f"/en/payments/{payment.pk}/invoice/").content.decode())
    assert "HST (13" in english and "TVH" not in english
    french = _visible(client.get(f"/fr/payments/{payment.pk}/invoice/").content.decode())
    assert "TVH (13" in french and "HST" not in french.replace("TPS/TVH", "")
    detail = _visible(client.get(f"/fr/payments/{payment.pk}/").content.decode())
    assert "TVH" in detail and "HST" not in detail.replace("TPS/TVH", "")


# --- The section 34 statement -------------------------------------------------------------------


def _delivered(awarded) -> Contract:
    _opportunity, contract = awarded
    contract = contracts.contract_accept_terms(supplier=contract.supplier, contract=contract)
    return contracts.contract_deliver(
        supplier=contract.supplier, contract=contract, url="https://x.dev/pull/7", notes=""
    )


def test_the_statement_is_recorded_in_the_language_the_buyer_read_it_in(client, awarded):
    opportunity, _contract = awarded
    contract = _delivered(awarded)
    buyer = opportunity.buyer
    assert buyer.preferred_language == "en"
    client.force_login(buyer)
    client.post(f"/fr/payments/contracts/{contract.pk}/certify/", {"confirmed": "on"})
    contract.refresh_from_db()
    assert contract.status == Contract.Status.ACCEPTED
    with translation.override("fr"):
        assert contract.certification_statement == str(contracts.CERTIFICATION)
    assert selectors.certification_language(contract.certification_statement) == "fr"


def test_the_statement_is_quoted_as_certified_with_its_translation_beside_it(client, awarded):
    opportunity, _contract = awarded
    contract = _delivered(awarded)
    client.force_login(opportunity.buyer)
    client.post(f"/fr/payments/contracts/{contract.pk}/certify/", {"confirmed": "on"})
    english = client.get(f"/en/payments/contracts/{contract.pk}/").content.decode()
    assert '<span lang="fr">En vertu de l\u2019article 34' in english
    assert "Translation: “Under section 34 of the Financial Administration Act" in english
    french = client.get(f"/fr/payments/contracts/{contract.pk}/").content.decode()
    assert '<span lang="fr">En vertu de l\u2019article 34' in french
    assert "Traduction" not in french and "Under section 34" not in french
    assert f"«{NBSP}<span" in french and f"</span>{NBSP}»" in french  # French quotation marks


def test_the_translation_is_not_offered_for_a_statement_of_unknown_wording(db):
    with translation.override("fr"):
        assert selectors.certification_translation("An older wording of the statement.") == ""
        english = translation.override("en")
        with english:
            certified_in_english = str(contracts.CERTIFICATION)
        assert selectors.certification_translation(certified_in_english) == str(
            contracts.CERTIFICATION
        )
    with translation.override("en"):
        assert selectors.certification_translation(certified_in_english) == ""


def test_the_statement_keeps_its_language_after_the_wording_changes(client, awarded):
    """The language is recorded with the statement: a later change of the catalogue's wording
    (here, the stored text no longer matching today's) leaves the quote marked as French."""
    opportunity, _contract = awarded
    contract = _delivered(awarded)
    client.force_login(opportunity.buyer)
    client.post(f"/fr/payments/contracts/{contract.pk}/certify/", {"confirmed": "on"})
    contract.refresh_from_db()
    assert contract.certification_language == "fr"
    Contract.objects.filter(pk=contract.pk).update(
        certification_statement=contract.certification_statement + " (libellé de 2026)"
    )
    english = client.get(f"/en/payments/contracts/{contract.pk}/").content.decode()
    assert '<span lang="fr">En vertu de l\u2019article 34' in english
