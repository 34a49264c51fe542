"""Suppliers' questions and the buyer's answers (public once answered) or dismissals (never
public: the reason is for the asker alone), and the shared hold on the opportunity's row that
keeps a deadline checked under it the deadline (questions and bids take it; the close waits for
it).

Questions and answers are public text (marketplace.public_text): cleaned of control and
direction-override characters and held to their limits here, whatever sent them, so that a
20,000-character answer is refused before anything is published or emailed."""

from __future__ import annotations

import datetime as dt
from typing import cast

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from marketplace import notifications as notices
from marketplace.caching import public_pages_changed_on_commit
from marketplace.models import User
from marketplace.public_text import public_text_clean, too_long
from marketplace.services import audit_event_record, notification_send

from . import permissions
from .addenda import addendum_create
from .drafting import REPEAT_SECONDS
from .models import Opportunity, Question
from .notices import followers, notice_context


def opportunity_hold_shared(opportunity_id: int) -> None:
    """Hold the opportunity's row against change until this transaction ends, without holding
    up the others doing the same (bids, questions): on PostgreSQL a `FOR SHARE` row lock, which
    any number of them hold at once, and which the close's exclusive lock (`FOR UPDATE`) waits
    for, and makes them wait for; a deadline checked under it stays the deadline.
    SQLite has one writer at a time anyway (its write lock is taken when the transaction
    begins: settings, `transaction_mode`)."""
    if connection.vendor != "postgresql":
        return
    quote = connection.ops.quote_name
    table, key = Opportunity._meta.db_table, cast(str, Opportunity._meta.pk.column)
    with connection.cursor() as cursor:
        # Names from the model, the id a bound parameter.
        cursor.execute(
            f"SELECT 1 FROM {quote(table)} WHERE {quote(key)} = %s FOR SHARE",  # noqa: S608  # nosec B608
            [opportunity_id],
        )


@transaction.atomic
def question_ask(
    *, asker: User, opportunity: Opportunity, text: str, arrived_at: dt.datetime | None = None
) -> Question:
    """A supplier's question, judged by when it arrived (`arrived_at`, as bids are)."""
    text = public_text_clean(text)
    if not text:
        raise ValidationError(_("Write your question."), code="required")
    if error := too_long(text, Question.TEXT_MAX_LENGTH):
        raise ValidationError({"text": error})
    opportunity_hold_shared(opportunity.pk)
    opportunity = Opportunity.objects.get(pk=opportunity.pk)
    now = timezone.now()
    if not permissions.can_ask_question(asker, opportunity, now=min(arrived_at or now, now)):
        raise ValidationError(_("Questions are closed for this opportunity."))
    # One question at a time per asker, so that the same one sent twice at once is asked once.
    User.objects.select_for_update(no_key=True).filter(pk=asker.pk).first()
    repeated = opportunity.questions.filter(
        asker=asker, text=text, created_at__gte=now - dt.timedelta(seconds=REPEAT_SECONDS)
    ).first()
    if repeated is not None:
        return repeated
    question = Question(opportunity=opportunity, asker=asker, text=text)
    question.full_clean()
    question.save()
    # The asker stays out of the public record; the audit trail knows who asked.
    audit_event_record(actor=asker, verb="question.asked", target=opportunity)
    notification_send(
        kind="question.asked",
        recipients=[opportunity.buyer],
        event_key=str(question.pk),
        context=notice_context(
            opportunity,
            question=question.text,
        ),
    )
    return question


@transaction.atomic
def question_answer(
    *, actor: User, question: Question, answer_en: str, answer_fr: str, as_addendum: bool = False
) -> Question:
    answer_en, answer_fr = public_text_clean(answer_en), public_text_clean(answer_fr)
    question = (
        Question.objects.select_for_update().select_related("opportunity").get(pk=question.pk)
    )
    if not permissions.can_answer_questions(actor, question.opportunity):
        raise PermissionDenied
    if not answer_en or not answer_fr:
        raise ValidationError(_("Answer in English and in French."))
    too_long_errors = {
        field: error
        for field, value in (("answer_en", answer_en), ("answer_fr", answer_fr))
        if (error := too_long(value, Question.ANSWER_MAX_LENGTH))
    }
    if too_long_errors:
        raise ValidationError(too_long_errors)
    if question.dismissed_at is not None:
        raise ValidationError(_("This question was dismissed: it cannot be answered."))
    if question.answered_at is not None:
        if (question.answer_en, question.answer_fr) == (answer_en, answer_fr):
            return question  # the same answer sent twice: published once
        raise ValidationError(_("This question is already answered."))
    question.answer_en = answer_en
    question.answer_fr = answer_fr
    question.answered_by = actor
    question.answered_at = timezone.now()
    question.full_clean()
    question.save()
    event = audit_event_record(
        actor=actor,
        verb="question.answered",
        target=question.opportunity,
        data={"question": question.pk},
    )
    public_pages_changed_on_commit()  # answered questions are public
    notification_send(
        kind="question.answered",
        recipients=followers(question.opportunity) | User.objects.filter(pk=question.asker_id),
        event_key=str(event.pk),
        context=notice_context(
            question.opportunity,
            answer=notices.bilingual(question.answer_en, question.answer_fr),
        ),
    )
    if as_addendum:
        addendum_create(
            actor=actor,
            opportunity=question.opportunity,
            note_en=f"Q: {question.text}\n\nA: {question.answer_en}",
            note_fr=f"Q : {question.text}\n\nR : {question.answer_fr}",
            changed=[],
        )
    return question


@transaction.atomic
def question_dismiss(
    *, actor: User, question: Question, dismissed_as: str, reason: str
) -> Question:
    """The buyer sets a question aside as a duplicate or out of scope: it is never published,
    and the reason is told to the asker alone (on the page, signed in, and by a notification)."""
    reason = public_text_clean(reason)
    question = (
        Question.objects.select_for_update().select_related("opportunity").get(pk=question.pk)
    )
    if not permissions.can_moderate_questions(actor, question.opportunity):
        raise PermissionDenied
    if dismissed_as not in Question.Dismissal.values:
        raise ValidationError(
            {"dismissed_as": _("Say whether it repeats another question or is off topic.")}
        )
    if not reason:
        raise ValidationError({"reason": _("Explain to the supplier why it is not answered.")})
    if error := too_long(reason, Question.REASON_MAX_LENGTH):
        raise ValidationError({"reason": error})
    if question.answered_at is not None:
        raise ValidationError(_("This question is already answered: it cannot be dismissed."))
    if question.dismissed_at is not None:
        raise ValidationError(_("This question is already dismissed."))
    question.dismissed_as = dismissed_as
    question.dismiss_reason = reason
    question.dismissed_by = actor
    question.dismissed_at = timezone.now()
    question.full_clean()
    question.save(update_fields=["dismissed_as", "dismiss_reason", "dismissed_by", "dismissed_at"])
    event = audit_event_record(
        actor=actor,
        verb="question.dismissed",
        target=question.opportunity,
        data={"question": question.pk, "as": dismissed_as},
    )
    # Nothing public shows a question before its answer; invalidated as every write to the
    # questions is, so that no cached page ever depends on that staying so.
    public_pages_changed_on_commit()
    notification_send(
        kind="question.dismissed",
        recipients=User.objects.filter(pk=question.asker_id),
        event_key=str(event.pk),
        context=notice_context(
            question.opportunity,
            question=question.text,
            dismissed_as=notices.translated(Question.Dismissal(dismissed_as).label),
            reason=question.dismiss_reason,
        ),
    )
    return question
