"""The audit verbs' registry (marketplace/audit_verbs.py): every verb the code writes has a
sentence, in English and French, and pages that list events show sentences, never codes."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import translation

from evaluation.models import Offer
from marketplace import audit_verbs
from marketplace.admin import UserAdmin
from marketplace.models import Role
from marketplace.services import audit_event_record, role_grant
from tests.factories import StaffFactory

ROOT = Path(__file__).resolve().parents[2]
APPS = ("marketplace", "bids", "evaluation", "opportunities", "payments", "reports")
VERB = re.compile(r"^[a-z_]+(\.[a-z_]+)+$")
NBSP = "\u00a0"


def fr(text: str) -> str:
    """French as the catalogue writes it: no-break spaces inside « » and before :."""
    return text.replace("« ", "«" + NBSP).replace(" »", NBSP + "»").replace(" :", NBSP + ":")


# The f-string verbs the code builds, and what each stands for. A new one fails
# test_every_verb_the_code_writes_has_a_sentence until it is listed here.
PAYMENT_KIND_CALLS = {
    "_payment_move",
    "_payment_paid",
    "_payment_mismatch",
    "_checkout_closed",
    "PaymentEvent.objects.create",
}


def _sources():
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            if "migrations" not in path.parts:
                yield path, ast.parse(path.read_text(encoding="utf-8"))


def _strings(node: ast.expr, constants: dict[str, str]) -> list[str] | None:
    """The verbs an expression can be: a literal, either branch of a conditional, a module
    constant; None when it is something else."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        body, orelse = _strings(node.body, constants), _strings(node.orelse, constants)
        return None if body is None or orelse is None else body + orelse
    if isinstance(node, ast.Name) and node.id in constants:
        return [constants[node.id]]
    if (  # audit_verbs.verb("x"): a verb named through the registry's check
        isinstance(node, ast.Call)
        and ast.unparse(node.func) in ("verb", "audit_verbs.verb")
        and len(node.args) == 1
    ):
        return _strings(node.args[0], constants)
    return None


def _payment_kinds() -> set[str]:
    """The kinds of a payment's history written in the payments app (each also the audit
    verb "payment.<kind>" when it moves the payment), with their "_again" repeats."""
    trees = [
        ast.parse(path.read_text(encoding="utf-8"))
        for path in sorted((ROOT / "payments").glob("*.py"))
    ]
    constants = {name: value for tree in trees for name, value in _module_constants(tree).items()}
    kinds, paid = set(), set()
    for node in (node for tree in trees for node in ast.walk(tree)):
        if not isinstance(node, ast.Call):
            continue
        # The helpers are called by their name or through their module (history.payment_paid),
        # with or without a leading underscore.
        name = ast.unparse(node.func)
        if name != "PaymentEvent.objects.create":
            name = "_" + name.rsplit(".", 1)[-1].lstrip("_")
        values = []
        if name in PAYMENT_KIND_CALLS:
            values = [kw.value for kw in node.keywords if kw.arg == "kind"]
        elif name == "_payment_note" and len(node.args) > 1:
            values = [node.args[1]]
        for value in values:
            found = _strings(value, constants) or []
            kinds.update(found)
            if name == "_payment_paid":
                paid.update(found)
    kinds.update(constants[name] for name in ("WITHDRAW_KIND",))
    kinds.update(f"{kind}_again" for kind in paid)
    return kinds


def _module_constants(tree: ast.Module) -> dict[str, str]:
    constants = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
            for target in node.targets:
                if isinstance(target, ast.Name) and isinstance(node.value.value, str):
                    constants[target.id] = node.value.value
    return constants


def written_verbs() -> tuple[set[str], list[str]]:
    """(every verb the code writes, the expressions it could not read)."""
    verbs: set[str] = set()
    unread: list[str] = []
    f_strings = {
        "payment.{kind}": {f"payment.{kind}" for kind in _payment_kinds()},
        "evaluation.offer_{outcome}": {
            f"evaluation.offer_{outcome}"
            for outcome in Offer.Outcome.values
            if outcome != Offer.Outcome.OPEN
        },
        "user.{name}_changed_in_admin": {
            f"user.{name}_changed_in_admin" for name in UserAdmin.AUDITED_FLAGS
        },
    }
    for path, tree in _sources():
        constants = _module_constants(tree)
        for node in ast.walk(tree):
            # `verb = A if x else B`, then verb=verb: the assignment says what it can be.
            if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "verb" for t in node.targets
            ):
                verbs.update(_strings(node.value, constants) or [])
            if not isinstance(node, ast.Call):
                continue
            for keyword in node.keywords:
                if keyword.arg != "verb":
                    continue
                value = keyword.value
                if isinstance(value, ast.JoinedStr):
                    pattern = "".join(
                        part.value
                        if isinstance(part, ast.Constant)
                        else "{" + ast.unparse(part.value) + "}"
                        for part in value.values
                    )
                    if pattern in f_strings:
                        verbs.update(f_strings[pattern])
                    else:
                        unread.append(f"{path.relative_to(ROOT)}:{node.lineno} {pattern}")
                    continue
                found = _strings(value, constants)
                if found is not None:
                    verbs.update(found)
                elif not (
                    (isinstance(value, ast.Name) and value.id == "verb")
                    or (isinstance(value, ast.Attribute) and value.attr == "verb")
                ):
                    # verb=verb forwards a parameter (its callers' verb= are read above), and
                    # verb=event.verb copies one (the demo's, read below).
                    unread.append(f"{path.relative_to(ROOT)}:{node.lineno} {ast.unparse(value)}")
            # The demo writes its history with .event(at, verb, ...) and .move(at, verb, ...).
            if (
                path.name == "demo.py"
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("event", "move")
                and len(node.args) > 1
            ):
                verbs.update(_strings(node.args[1], constants) or [])
    return {verb for verb in verbs if VERB.match(verb)}, unread


def test_the_scan_reads_every_verb_the_code_writes():
    verbs, unread = written_verbs()
    assert not unread, f"verbs written in a way the registry test cannot read: {unread}"
    # The scan finds what it should: a literal, a conditional, a constant and each f-string.
    assert {
        "packet.viewed",
        "panel.recused",
        "panel.declared_no_conflict",
        "role.staff_suspended",
        "payment.receipt_confirmed",
        "payment.stripe_paid_again",
        "evaluation.offer_defaulted",
        "user.is_staff_changed_in_admin",
    } <= verbs


def test_every_verb_the_code_writes_has_a_sentence():
    verbs, _unread = written_verbs()
    missing = sorted(verbs - set(audit_verbs.VERBS))
    assert not missing, f"add these verbs to marketplace/audit_verbs.py: {missing}"


def test_each_sentence_is_a_sentence_in_both_languages():
    for verb in audit_verbs.VERBS:
        for language in ("en", "fr"):
            with translation.override(language):
                sentence = audit_verbs.sentence(verb, {"label": "Bid K7Q", "number": 2})
            assert sentence[:1].isupper() and sentence.endswith((".", "»")), (verb, sentence)
            assert verb not in sentence and "%(" not in sentence, (verb, sentence)


def test_a_sentence_names_the_events_values_in_the_readers_language():
    with translation.override("en"):
        assert audit_verbs.sentence("packet.viewed", {"label": "Bid K7Q"}) == (
            "The packet “Bid K7Q” was opened."
        )
        assert audit_verbs.sentence("role.granted", {"role": "card_holder"}) == (
            "The role “Card holder” was granted."
        )
        assert audit_verbs.sentence("approval.requested", {"kind": "guardrails"}) == (
            "A change was asked for, for a second approval: Change the program guardrails."
        )
    with translation.override("fr"):
        assert audit_verbs.sentence("packet.viewed", {"label": "Bid K7Q"}) == (
            fr("Le dossier « Soumission K7Q » a été consulté.")
        )
        assert audit_verbs.sentence("role.granted", {"role": "card_holder"}) == (
            fr("Le rôle « Titulaire de carte » a été attribué.")
        )
        assert audit_verbs.sentence(
            "packet.attachment_viewed", {"label": "Bid K7Q", "number": 2}
        ) == (fr("La pièce jointe 2 de « Soumission K7Q » a été téléchargée."))


@pytest.mark.parametrize(
    "data",
    [None, [], "text", {"label": 7}, {"role": ["x"]}, {"number": "1; DROP"}, {"kind": None}],
)
def test_odd_or_hostile_data_never_breaks_a_sentence(data):
    for language in ("en", "fr"):
        with translation.override(language):
            for verb in ("packet.viewed", "role.granted", "bid.submitted", "approval.rejected"):
                assert "—" in audit_verbs.sentence(verb, data)


def test_an_unknown_verb_or_stripe_notice_is_said_in_a_sentence_with_its_code():
    with translation.override("en"):
        assert audit_verbs.sentence("made.up") == "An event was recorded (made.up)."
        assert audit_verbs.payment_event_sentence("charge.refunded", {}) == (
            "Stripe sent a notice (charge.refunded)."
        )
    with translation.override("fr"):
        assert audit_verbs.payment_event_sentence("charge.refunded", {}) == (
            "Stripe a envoyé un avis (charge.refunded)."
        )


def test_a_label_in_a_sentence_is_only_the_label_on_record(db):
    """Blindness: the sentence is built from the event's data alone, and a packet's label
    reads as a label whatever else the data holds."""
    with translation.override("fr"):
        sentence = audit_verbs.sentence(
            "packet.viewed", {"label": "Bid K7Q", "supplier": "Maple Leaf Code Works"}
        )
    assert "Maple" not in sentence and "K7Q" in sentence


def _visible(html: str) -> str:
    """The page's text, tags and attributes left out."""
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"[ \t\r\n]+", " ", re.sub(r"<[^>]+>", " ", body))  # not no-break spaces


def test_a_persons_recent_activity_is_said_in_sentences(client, db):
    admin, person = StaffFactory(roles=[Role.PROGRAM_ADMIN]), StaffFactory()
    role_grant(actor=None, user=person, role=Role.BUYER)
    audit_event_record(actor=None, verb="made.up", target=person)
    client.force_login(admin)
    url = reverse("marketplace:role_user_detail", args=[person.pk])
    english = _visible(client.get(url).content.decode())
    assert "The role “Buyer” was granted." in english and "(buyer)" not in english
    assert "An event was recorded (made.up)." in english
    french = _visible(client.get(url.replace("/en/", "/fr/")).content.decode())
    assert fr("Le rôle « Acheteur » a été attribué.") in french
    assert "role.granted" not in french and "(buyer)" not in french


def test_the_technical_admin_lists_each_events_sentence_beside_its_verb(client, db):
    from tests.factories import UserFactory

    root = UserFactory(email="root@esdc-edsc.gc.ca", is_staff=True, is_superuser=True)
    person = StaffFactory()
    role_grant(actor=None, user=person, role=Role.EVALUATOR)
    client.force_login(root)
    english = _visible(client.get("/en/admin/marketplace/auditevent/").content.decode())
    assert "The role “Evaluator” was granted." in english and "role.granted" in english
    french = _visible(client.get("/fr/admin/marketplace/auditevent/").content.decode())
    assert fr("Le rôle « Évaluateur » a été attribué.") in french


def test_code_that_reads_the_trail_names_registered_verbs_only():
    assert audit_verbs.verb("packet.viewed") == "packet.viewed"
    with pytest.raises(LookupError):
        audit_verbs.verb("packet.opened")
