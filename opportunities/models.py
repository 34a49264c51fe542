"""Opportunities: fixed-price, bilingual postings and their publication lifecycle."""

from __future__ import annotations

import datetime as dt
from typing import ClassVar

from django.conf import settings
from django.core.validators import (
    MaxLengthValidator,
    MaxValueValidator,
    MinValueValidator,
    ProhibitNullCharactersValidator,
)
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from marketplace import permissions
from marketplace.i18n import choice_label, in_current_language
from marketplace.models import Role
from marketplace.transitions import LifecycleModel


class OpportunityType(models.TextChoices):
    BUG_FIX = "bug_fix", _("Bug fix")
    ACCESSIBILITY = "accessibility", _("Accessibility")
    FEATURE = "feature", _("Feature")
    PROTOTYPE = "prototype", _("Prototype")
    ANALYSIS = "analysis", _("Analysis")
    OTHER = "other", _("Other")


class Licence(models.TextChoices):
    MIT = "MIT", "MIT"
    APACHE_2 = "Apache-2.0", "Apache 2.0"
    BSD_3 = "BSD-3-Clause", _("BSD 3-Clause")
    MPL_2 = "MPL-2.0", "Mozilla Public License 2.0"
    GPL_3 = "GPL-3.0-or-later", _("GNU GPL 3.0 or later")
    LGPL_3 = "LGPL-3.0-or-later", _("GNU LGPL 3.0 or later")
    CC_BY_4 = "CC-BY-4.0", "Creative Commons Attribution 4.0"
    OGL_CANADA = "OGL-Canada-2.0", _("Open Government Licence - Canada 2.0")


class SelectionMethod(models.TextChoices):
    HIGHEST_SCORE = "highest_score", _("Highest weighted score")
    DRAW_AMONG_PASSING = "draw_passing", _("Draw among all bids that pass the mandatory criteria")
    DRAW_WITHIN_MARGIN = "draw_margin", _("Draw among bids within N points of the top score")


class Skill(models.Model):
    slug = models.SlugField(unique=True)
    name_en = models.CharField(_("name (English)"), max_length=80)
    name_fr = models.CharField(_("name (French)"), max_length=80)

    class Meta:
        ordering = ["slug"]
        verbose_name = _("skill")
        verbose_name_plural = _("skills")

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        return in_current_language(self.name_en, self.name_fr)


class Guardrails(models.Model):
    """Program-wide limits set by program admins. A single row (pk=1)."""

    value_cap_cents = models.PositiveIntegerField(
        _("value cap (cents, tax included)"), default=1_000_000
    )
    min_open_business_days = models.PositiveSmallIntegerField(
        _("minimum open period (business days)"), default=5
    )
    allowed_types = models.JSONField(
        _("allowed opportunity types"),
        default=list,
        blank=True,
        help_text=_("Empty means every type is allowed."),
    )
    split_window_days = models.PositiveSmallIntegerField(
        _("split detection window (days)"), default=60
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("guardrails")
        verbose_name_plural = _("guardrails")

    def __str__(self) -> str:
        return str(_("Program guardrails"))

    @classmethod
    def current(cls) -> Guardrails:
        guardrails, _created = cls.objects.get_or_create(pk=1)
        return guardrails

    def type_allowed(self, opportunity_type: str) -> bool:
        return not self.allowed_types or opportunity_type in self.allowed_types


class OpportunityQuerySet(models.QuerySet):
    def public(self) -> OpportunityQuerySet:
        """What anyone may see: never drafts or postings under review."""
        return self.exclude(status__in=[Opportunity.Status.DRAFT, Opportunity.Status.IN_REVIEW])

    def open(self) -> OpportunityQuerySet:
        return self.filter(status=Opportunity.Status.PUBLISHED, closes_at__gt=timezone.now())

    def visible_to(self, user) -> OpportunityQuerySet:
        if permissions.has_role(user, Role.PROGRAM_ADMIN):
            return self.all()
        if permissions.has_role(user, Role.BUYER):
            return self.filter(
                models.Q(buyer=user)
                | ~models.Q(status__in=[Opportunity.Status.DRAFT, Opportunity.Status.IN_REVIEW])
            )
        return self.public()


class Opportunity(LifecycleModel):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        IN_REVIEW = "in_review", _("In review")
        PUBLISHED = "published", _("Open")
        CLOSED = "closed", _("Closed")
        EVALUATING = "evaluating", _("Evaluating")
        AWARDED = "awarded", _("Awarded")
        IN_DELIVERY = "in_delivery", _("In delivery")
        COMPLETED = "completed", _("Completed")
        CANCELLED = "cancelled", _("Cancelled")
        UNSUCCESSFUL = "unsuccessful", _("Unsuccessful")

    # The allowed transitions (DESIGN.md §3), made by `marketplace.transitions.transition`; each
    # is one service in the app's flow modules (publishing, cancellation, progress; the close:
    # lifecycle/closing.py).
    TRANSITIONS: ClassVar[dict[str, frozenset[str]]] = {
        Status.DRAFT: frozenset({Status.IN_REVIEW}),
        # Back to draft: changes requested by the reviewer, or recalled by the buyer first.
        Status.IN_REVIEW: frozenset({Status.DRAFT, Status.PUBLISHED}),
        Status.PUBLISHED: frozenset({Status.CLOSED, Status.CANCELLED, Status.UNSUCCESSFUL}),
        Status.CLOSED: frozenset({Status.EVALUATING, Status.CANCELLED, Status.UNSUCCESSFUL}),
        Status.EVALUATING: frozenset({Status.AWARDED, Status.CANCELLED, Status.UNSUCCESSFUL}),
        # Back to unsuccessful when every ranked bid declined or defaulted before delivery.
        Status.AWARDED: frozenset({Status.IN_DELIVERY, Status.UNSUCCESSFUL}),
        # Unsuccessful when the awardee defaults and no ranked bid is left.
        Status.IN_DELIVERY: frozenset({Status.COMPLETED, Status.UNSUCCESSFUL}),
        Status.COMPLETED: frozenset(),
        Status.CANCELLED: frozenset(),
        Status.UNSUCCESSFUL: frozenset(),
    }
    transition_refused = _("An opportunity that is “%(current)s” cannot become “%(target)s”.")

    buyer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="opportunities"
    )
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.DRAFT, db_index=True
    )

    title_en = models.CharField(_("title (English)"), max_length=200)
    title_fr = models.CharField(_("title (French)"), max_length=200, blank=True)
    summary_en = models.CharField(_("summary (English)"), max_length=500, blank=True)
    summary_fr = models.CharField(_("summary (French)"), max_length=500, blank=True)
    description_en = models.TextField(
        _("description (English)"), blank=True, help_text=_("Markdown is supported.")
    )
    description_fr = models.TextField(
        _("description (French)"), blank=True, help_text=_("Markdown is supported.")
    )
    deliverables_en = models.TextField(_("deliverables (English)"), blank=True)
    deliverables_fr = models.TextField(_("deliverables (French)"), blank=True)
    acceptance_criteria_en = models.TextField(_("acceptance criteria (English)"), blank=True)
    acceptance_criteria_fr = models.TextField(_("acceptance criteria (French)"), blank=True)

    type = models.CharField(
        _("type of work"),
        max_length=16,
        choices=OpportunityType.choices,
        default=OpportunityType.BUG_FIX,
    )
    skills = models.ManyToManyField(Skill, blank=True, related_name="opportunities")
    value_cents = models.PositiveIntegerField(
        _("fixed value (cents, tax included)"), validators=[MinValueValidator(100)]
    )
    currency = models.CharField(max_length=3, default="CAD", editable=False)
    licence = models.CharField(
        _("open-source licence of the deliverable"),
        max_length=24,
        choices=Licence.choices,
        default=Licence.MIT,
    )
    repository_url = models.URLField(_("repository or issue URL"), blank=True)
    question_deadline = models.DateTimeField(_("questions accepted until"), null=True, blank=True)
    closes_at = models.DateTimeField(_("closing date and time"), null=True, blank=True)
    expected_delivery_date = models.DateField(_("expected delivery date"), null=True, blank=True)
    remote_unclassified_only = models.BooleanField(
        _("remote and unclassified work only"), default=True
    )

    selection_method = models.CharField(
        _("selection method"),
        max_length=16,
        choices=SelectionMethod.choices,
        default=SelectionMethod.HIGHEST_SCORE,
    )
    draw_margin_points = models.PositiveSmallIntegerField(
        _("draw margin (points)"),
        null=True,
        blank=True,
        help_text=_("For a draw among bids within N points of the top score."),
    )
    evaluator_count = models.PositiveSmallIntegerField(
        _("number of evaluators"),
        default=2,
        validators=[MinValueValidator(1), MaxValueValidator(5)],
    )

    attest_standalone = models.BooleanField(_("This is a standalone piece of work."), default=False)
    attest_no_internal_capacity = models.BooleanField(
        _("We do not have the internal capacity to do this work."), default=False
    )
    attest_not_split = models.BooleanField(
        _("This is not split from a larger requirement."), default=False
    )

    review_note = models.TextField(_("changes requested"), blank=True)
    split_warning_acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    cancel_reason = models.TextField(_("reason for cancellation"), blank=True)

    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)
    submitted_at = models.DateTimeField(null=True, blank=True, editable=False)
    published_at = models.DateTimeField(null=True, blank=True, editable=False, db_index=True)
    closed_at = models.DateTimeField(null=True, blank=True, editable=False)
    cancelled_at = models.DateTimeField(null=True, blank=True, editable=False)
    awarded_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Set once the suppliers whose alerts match have been notified (see tasks.py).
    alerts_sent_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = OpportunityQuerySet.as_manager()

    class Meta:
        ordering = ["-published_at", "-created_at"]
        verbose_name = _("opportunity")
        verbose_name_plural = _("opportunities")
        indexes = [
            models.Index(fields=["status", "closes_at"]),
            # The filtered public list counts open postings by type and value: an index-only
            # scan of the open ones instead of reading every open posting (PostgreSQL).
            models.Index(
                fields=["type", "value_cents"],
                include=["closes_at"],
                condition=models.Q(status="published"),
                name="opportunity_open_type_value",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def get_status_display(self) -> str:  # lists show it on every row: see choice_label
        return choice_label(self.Status, self.status)

    def get_type_display(self) -> str:  # lists show it on every row: see choice_label
        return choice_label(OpportunityType, self.type)

    def _localized(self, field: str) -> str:
        return in_current_language(getattr(self, f"{field}_en"), getattr(self, f"{field}_fr"))

    @property
    def title(self) -> str:
        return self._localized("title")

    @property
    def summary(self) -> str:
        return self._localized("summary")

    @property
    def description(self) -> str:
        return self._localized("description")

    @property
    def deliverables(self) -> str:
        return self._localized("deliverables")

    @property
    def acceptance_criteria(self) -> str:
        return self._localized("acceptance_criteria")

    def accepts_bids_at(self, moment) -> bool:
        """Server time is the authority: open means published and `moment` (when the request
        arrived) strictly before the close."""
        return (
            self.status == self.Status.PUBLISHED
            and self.closes_at is not None
            and moment < self.closes_at
        )

    @property
    def seals_at(self):
        """When the scheduler closes it and seals the bids: the deadline, plus the time every
        request that arrived before it needs to be answered (settings.BID_CLOSE_GRACE_SECONDS;
        DESIGN.md §3)."""
        if self.closes_at is None:
            return None
        return self.closes_at + dt.timedelta(seconds=settings.BID_CLOSE_GRACE_SECONDS)


class Criterion(models.Model):
    class Kind(models.TextChoices):
        MANDATORY = "mandatory", _("Mandatory (pass/fail)")
        RATED = "rated", _("Rated")

    opportunity = models.ForeignKey(Opportunity, on_delete=models.CASCADE, related_name="criteria")
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    text_en = models.TextField(_("criterion (English)"))
    text_fr = models.TextField(_("criterion (French)"), blank=True)
    weight = models.PositiveSmallIntegerField(
        _("weight"), null=True, blank=True, validators=[MinValueValidator(1)]
    )
    max_score = models.PositiveSmallIntegerField(
        _("maximum score"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(100)],
    )
    word_limit = models.PositiveSmallIntegerField(
        _("word limit for the answer"),
        default=300,
        validators=[MinValueValidator(20), MaxValueValidator(2000)],
    )
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["opportunity_id", "position", "id"]
        verbose_name = _("criterion")
        verbose_name_plural = _("criteria")

    def __str__(self) -> str:
        return self.text

    @property
    def text(self) -> str:
        return in_current_language(self.text_en, self.text_fr)


class Addendum(models.Model):
    """A change to a published opportunity, shown on the page in order."""

    opportunity = models.ForeignKey(Opportunity, on_delete=models.CASCADE, related_name="addenda")
    number = models.PositiveSmallIntegerField()
    note_en = models.TextField(_("note (English)"))
    note_fr = models.TextField(_("note (French)"))
    changed_fields = models.JSONField(default=list, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["opportunity_id", "number"]
        constraints = [
            models.UniqueConstraint(fields=["opportunity", "number"], name="addendum_unique_number")
        ]
        verbose_name = _("addendum")
        verbose_name_plural = _("addenda")

    def __str__(self) -> str:
        return f"{self.opportunity_id} #{self.number}"

    @property
    def note(self) -> str:
        return in_current_language(self.note_en, self.note_fr)


class QuestionQuerySet(models.QuerySet):
    def published(self):
        """Answered: public, to anyone who may see the opportunity."""
        return self.filter(answered_at__isnull=False)

    def awaiting_answer(self):
        """Neither answered nor dismissed: the buyer's to do."""
        return self.filter(answered_at__isnull=True, dismissed_at__isnull=True)


class Question(models.Model):
    """A supplier's question. The asker is never shown publicly. The buyer answers it (in both
    languages; then it is public) or dismisses it (never public; the reason is for the asker)."""

    TEXT_MAX_LENGTH = 2000
    ANSWER_MAX_LENGTH = 5000
    REASON_MAX_LENGTH = 1000

    class Dismissal(models.TextChoices):
        DUPLICATE = "duplicate", _("It repeats a question already asked or answered")
        OUT_OF_SCOPE = "out_of_scope", _("It is not about this opportunity")

    opportunity = models.ForeignKey(Opportunity, on_delete=models.CASCADE, related_name="questions")
    asker = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    # A TextField's max_length only reaches its form field: the validator holds it everywhere.
    text = models.TextField(
        _("your question"),
        max_length=TEXT_MAX_LENGTH,
        validators=[MaxLengthValidator(TEXT_MAX_LENGTH), ProhibitNullCharactersValidator()],
    )
    answer_en = models.TextField(
        _("answer (English)"),
        blank=True,
        max_length=ANSWER_MAX_LENGTH,
        validators=[MaxLengthValidator(ANSWER_MAX_LENGTH), ProhibitNullCharactersValidator()],
    )
    answer_fr = models.TextField(
        _("answer (French)"),
        blank=True,
        max_length=ANSWER_MAX_LENGTH,
        validators=[MaxLengthValidator(ANSWER_MAX_LENGTH), ProhibitNullCharactersValidator()],
    )
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    answered_at = models.DateTimeField(null=True, blank=True)
    # Database defaults too: rows written outside the ORM (bench/data.py copies questions in
    # bulk) name only the columns they fill.
    dismissed_as = models.CharField(
        _("why it is dismissed"),
        max_length=20,
        choices=Dismissal.choices,
        blank=True,
        default="",
        db_default="",
    )
    dismiss_reason = models.TextField(
        _("reason given to the supplier who asked"),
        blank=True,
        default="",
        db_default="",
        max_length=REASON_MAX_LENGTH,
        validators=[MaxLengthValidator(REASON_MAX_LENGTH), ProhibitNullCharactersValidator()],
    )
    dismissed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    dismissed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = QuestionQuerySet.as_manager()

    class Meta:
        ordering = ["opportunity_id", "created_at", "id"]
        verbose_name = _("question")
        verbose_name_plural = _("questions")
        constraints = [
            # Answered (public) or dismissed (never public), not both.
            models.CheckConstraint(
                condition=models.Q(answered_at__isnull=True) | models.Q(dismissed_at__isnull=True),
                name="question_answered_or_dismissed",
            ),
        ]

    def __str__(self) -> str:
        return self.text[:60]

    @property
    def answer(self) -> str:
        return in_current_language(self.answer_en, self.answer_fr)


class Watch(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="watches"
    )
    opportunity = models.ForeignKey(Opportunity, on_delete=models.CASCADE, related_name="watches")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "opportunity"], name="watch_unique")]

    def __str__(self) -> str:
        return f"{self.user} → {self.opportunity_id}"


class Alert(models.Model):
    """A supplier's standing subscription to new opportunities by skill and type."""

    class Frequency(models.TextChoices):
        IMMEDIATE = "immediate", _("As soon as one is published")
        DAILY = "daily", _("In a daily digest")

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="opportunity_alert"
    )
    skills = models.ManyToManyField(Skill, blank=True, related_name="alerts")
    types = models.JSONField(default=list, blank=True)
    frequency = models.CharField(
        _("how often"), max_length=10, choices=Frequency.choices, default=Frequency.DAILY
    )
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.user} ({self.get_frequency_display()})"

    def matches(self, opportunity: Opportunity, opportunity_skill_ids: set[int]) -> bool:
        skill_ids = {s.pk for s in self.skills.all()}
        skill_ok = not skill_ids or bool(skill_ids & opportunity_skill_ids)
        type_ok = not self.types or opportunity.type in self.types
        return skill_ok and type_ok
