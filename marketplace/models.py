"""Cross-cutting core: users and roles, supplier profiles, the audit trail."""

from __future__ import annotations

import re
from typing import ClassVar, cast

from allauth.account.models import EmailAddress
from django.apps import apps
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _

from .staff_domains import is_staff_email


class Role(models.TextChoices):
    SUPPLIER = "supplier", _("Supplier")
    BUYER = "buyer", _("Buyer")
    EVALUATOR = "evaluator", _("Evaluator")
    CARD_HOLDER = "card_holder", _("Card holder")
    PROGRAM_ADMIN = "program_admin", _("Program administrator")


STAFF_ROLES: frozenset[str] = frozenset(
    {Role.BUYER, Role.EVALUATOR, Role.CARD_HOLDER, Role.PROGRAM_ADMIN}
)


class RoleList(models.Aggregate):
    """A user's roles as one comma-separated string (role values hold no comma)."""

    function = "STRING_AGG"
    template = "%(function)s(%(expressions)s, ',')"
    output_field = models.TextField()

    def as_sqlite(self, compiler, connection, **extra_context):
        return self.as_sql(compiler, connection, function="GROUP_CONCAT", **extra_context)


def verified_primary_email() -> models.Exists:
    """True when the user's own address is their verified primary address (allauth's records).

    Read at request time with the user: staff powers hold only while it is true, so no missed
    email signal and no edit of an address behind allauth's back can keep them alive."""
    return models.Exists(
        EmailAddress.objects.filter(
            user=models.OuterRef("pk"),
            email__iexact=models.OuterRef("email"),
            primary=True,
            verified=True,
        )
    )


def supplier_stake(user: str = "pk") -> models.Q:
    """True when the account (`user`, a field of the outer query) has a supplier profile or a
    bid in any status, a draft or a withdrawn one included.

    Such an account has been a supplier whatever roles it holds today: revoking the role does
    not make it fit to judge, buy or pay (DESIGN.md §4), so no staff role of it is in force.
    Read at request time with the user, like the staff address."""
    # Looked up by name: the core app does not import the higher ones (docs/DESIGN.md, "Layers").
    bid = apps.get_model("bids", "Bid")
    return models.Q(
        models.Exists(SupplierProfile.objects.filter(user=models.OuterRef(user)))
    ) | models.Q(models.Exists(bid.objects.filter(supplier=models.OuterRef(user))))


def _staff_check_expressions() -> dict[str, models.Expression | models.Exists]:
    """What `User.roles` reads besides the grants, as annotations."""
    return {
        "staff_email_on_file": verified_primary_email(),
        "supplier_stake_on_file": models.ExpressionWrapper(
            supplier_stake(), output_field=models.BooleanField()
        ),
    }


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def with_roles(self) -> models.QuerySet[User]:
        """Users with their roles read in the same query (`User.roles` asks nothing more):
        every signed-in request loads its user this way (marketplace/auth_backends.py)."""
        grants = (
            RoleGrant.objects.filter(user=models.OuterRef("pk"))
            .order_by()
            .values("user")
            .annotate(roles=RoleList("role"))
            .values("roles")
        )
        return self.get_queryset().annotate(
            role_list=models.Subquery(grants), **_staff_check_expressions()
        )

    def _create_user(self, email: str, password: str | None, **extra_fields) -> User:
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra_fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra_fields) -> User:
        extra_fields.setdefault("is_staff", False)
        extra_fields.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra_fields)

    def create_superuser(self, email: str, password: str | None = None, **extra_fields) -> User:
        extra_fields.setdefault("is_staff", True)
        extra_fields.setdefault("is_superuser", True)
        return self._create_user(email, password, **extra_fields)


class User(AbstractBaseUser, PermissionsMixin):
    """A person who signs in with an email address.

    `is_staff` here is Django's flag for the technical admin site only; marketplace roles
    (buyer, evaluator, ...) are `RoleGrant` rows.
    """

    email = models.EmailField(_("email address"), unique=True)
    full_name = models.CharField(_("full name"), max_length=200, blank=True)
    preferred_language = models.CharField(
        _("preferred language"),
        max_length=2,
        choices=settings.LANGUAGES,
        default="en",
        help_text=_("Emails are sent to you in this language."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    is_staff = models.BooleanField(_("technical admin site access"), default=False)
    date_joined = models.DateTimeField(_("date joined"), default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        ordering = ["email"]

    def __str__(self) -> str:
        return self.email

    def get_full_name(self) -> str:
        return self.full_name or self.email

    def get_short_name(self) -> str:
        return self.full_name.split(" ")[0] if self.full_name else self.email

    @property
    def greeting_name(self) -> str:
        """The name emails greet the person by (the first word of their name: "Hello Marie,"),
        or "" for an account without a name: a greeting never uses the email address."""
        words = self.full_name.split()
        return words[0] if words else ""

    @cached_property
    def granted_roles(self) -> frozenset[str]:
        """Every role granted, whether in force or not (see `roles`)."""
        if "role_list" in self.__dict__:  # loaded by UserManager.with_roles()
            role_list = self.__dict__["role_list"]
            return frozenset(role for role in (role_list or "").split(",") if role)
        return frozenset(grant.role for grant in self.role_grants.all())

    @cached_property
    def roles(self) -> frozenset[str]:
        """The roles in force, which every permission reads (DESIGN.md §4).

        A staff grant gives powers only while the account's primary address is a verified
        address on a staff domain, and never to an account that is or was a supplier (the
        supplier role, a supplier profile or a bid in any status): a staff member who moves to a
        personal address is suspended, and back when they re-verify a government one; a
        supplier who slipped into a staff role, or had the supplier role revoked after bidding,
        keeps no staff power.
        """
        granted = self.granted_roles
        if granted & STAFF_ROLES and (
            Role.SUPPLIER in granted
            or not self.has_verified_staff_primary_email
            or self.has_supplier_stake
        ):
            return granted - STAFF_ROLES
        return granted

    @property
    def staff_roles(self) -> frozenset[str]:
        return self.roles & STAFF_ROLES

    @property
    def suspended_staff_roles(self) -> frozenset[str]:
        """Staff roles granted but not in force (see `roles`)."""
        return (self.granted_roles & STAFF_ROLES) - self.roles

    @cached_property
    def has_verified_staff_primary_email(self) -> bool:
        if not is_staff_email(self.email):
            return False
        return bool(self._staff_checks["staff_email_on_file"])

    @cached_property
    def has_supplier_stake(self) -> bool:
        """A supplier profile or a bid in any status (see `supplier_stake`)."""
        return bool(self._staff_checks["supplier_stake_on_file"])

    @cached_property
    def _staff_checks(self) -> dict[str, bool]:
        # Loaded by UserManager.with_roles(), or read here in one query for both.
        names = _staff_check_expressions()
        if all(name in self.__dict__ for name in names):
            return {name: self.__dict__[name] for name in names}
        if self.pk is None:
            return dict.fromkeys(names, False)
        # The plugin types `values()` by field names; these are annotations, read as booleans.
        return cast(dict[str, bool], User.objects.filter(pk=self.pk).values(**names).get())


class RoleGrant(models.Model):
    """A marketplace role held by a user. Staff roles are granted by a program admin."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="role_grants"
    )
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    granted_at = models.DateTimeField(_("granted at"), default=timezone.now)

    class Meta:
        verbose_name = _("role grant")
        verbose_name_plural = _("role grants")
        constraints = [
            models.UniqueConstraint(fields=["user", "role"], name="rolegrant_unique_user_role")
        ]
        ordering = ["user_id", "role"]

    def __str__(self) -> str:
        return f"{self.user} — {self.get_role_display()}"


class Province(models.TextChoices):
    AB = "AB", _("Alberta")
    BC = "BC", _("British Columbia")
    MB = "MB", _("Manitoba")
    NB = "NB", _("New Brunswick")
    NL = "NL", _("Newfoundland and Labrador")
    NS = "NS", _("Nova Scotia")
    NT = "NT", _("Northwest Territories")
    NU = "NU", _("Nunavut")
    ON = "ON", _("Ontario")
    PE = "PE", _("Prince Edward Island")
    QC = "QC", _("Quebec")
    SK = "SK", _("Saskatchewan")
    YT = "YT", _("Yukon")


postal_code_validator = RegexValidator(
    r"^[ABCEGHJ-NPRSTVXY]\d[ABCEGHJ-NPRSTV-Z] ?\d[ABCEGHJ-NPRSTV-Z]\d$",
    _("Enter a Canadian postal code, for example K1A 0B1."),
    flags=re.IGNORECASE,  # stored upper-case with a space by the service
)
phone_validator = RegexValidator(
    r"^\+?1?[\s.-]?\(?\d{3}\)?[\s.-]?\d{3}[\s.-]?\d{4}(\s*(x|ext\.?)\s*\d{1,6})?$",
    _("Enter a 10-digit phone number, for example 613-555-0142."),
)
github_handle_validator = RegexValidator(
    r"^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$",
    _("Enter a GitHub user or organization name (letters, digits and single hyphens)."),
)
gst_hst_validator = RegexValidator(
    r"^\d{9}\s?RT\s?\d{4}$",
    _("Enter a GST/HST number: 9 digits, RT and 4 digits, for example 123456789 RT0001."),
    flags=re.IGNORECASE,
)


class SupplierProfile(models.Model):
    """Who a supplier is. Escrowed from evaluators (DESIGN.md §5)."""

    class Kind(models.TextChoices):
        INDIVIDUAL = "individual", _("Individual")
        ORGANIZATION = "organization", _("Organization")

    class Size(models.TextChoices):
        """People working in the organization, for program statistics (small and medium
        enterprises are the program's focus)."""

        ONE = "1", _("Just me")
        UP_TO_9 = "2-9", _("2 to 9 people")
        UP_TO_49 = "10-49", _("10 to 49 people")
        UP_TO_99 = "50-99", _("50 to 99 people")
        UP_TO_499 = "100-499", _("100 to 499 people")
        LARGE = "500+", _("500 people or more")

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="supplier_profile"
    )
    kind = models.CharField(
        _("supplier type"), max_length=12, choices=Kind.choices, default=Kind.INDIVIDUAL
    )
    size = models.CharField(
        _("size"),
        max_length=8,
        choices=Size.choices,
        blank=True,
        help_text=_("How many people work in your organization. Used only for program statistics."),
    )
    legal_name = models.CharField(_("legal name"), max_length=200)
    trading_name = models.CharField(
        _("trading name"),
        max_length=200,
        blank=True,
        help_text=_("The name you do business under, if it differs from the legal name."),
    )
    contact_name = models.CharField(_("contact person"), max_length=200)
    email = models.EmailField(_("contact email"))
    phone = models.CharField(_("phone"), max_length=30, validators=[phone_validator])
    website = models.URLField(_("website"), blank=True)
    github_handle = models.CharField(
        _("GitHub handle"), max_length=39, blank=True, validators=[github_handle_validator]
    )
    province = models.CharField(_("province or territory"), max_length=2, choices=Province.choices)
    postal_code = models.CharField(
        _("postal code"), max_length=7, validators=[postal_code_validator]
    )
    gst_hst_number = models.CharField(
        _("GST/HST registration number"),
        max_length=17,
        blank=True,
        validators=[gst_hst_validator],
        help_text=_(
            "Only if you are registered; the fixed value includes the tax, which your invoice "
            "shows separately."
        ),
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    REQUIRED_FOR_BIDDING = (
        "legal_name",
        "contact_name",
        "email",
        "phone",
        "province",
        "postal_code",
    )

    class Meta:
        verbose_name = _("supplier profile")
        verbose_name_plural = _("supplier profiles")

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        return self.trading_name or self.legal_name or self.user.email

    @property
    def is_complete(self) -> bool:
        return all(getattr(self, name) for name in self.REQUIRED_FOR_BIDDING)


class AuditEventQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise TypeError("Audit events are append-only.")

    def delete(self):
        raise TypeError("Audit events are append-only.")

    def for_target(self, obj: models.Model) -> AuditEventQuerySet:
        return self.filter(
            target_type=ContentType.objects.get_for_model(obj), target_id=str(obj.pk)
        )


class AuditEvent(models.Model):
    """Append-only record of who did what to which object, and when."""

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("Empty when the system acted (a scheduled task, a command)."),
    )
    verb = models.CharField(_("verb"), max_length=64, db_index=True)
    target_type = models.ForeignKey(
        ContentType, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    target_id = models.CharField(max_length=64, blank=True)
    target_repr = models.CharField(max_length=255, blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(_("time"), default=timezone.now, db_index=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["target_type", "target_id"])]

    def __str__(self) -> str:
        # Not the actor: next to a bid event, a supplier's address would say who bid.
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.verb} {self.target_id}".rstrip()

    def save(self, *args, **kwargs):
        # Integrity, not business logic: an audit trail that can be rewritten proves nothing.
        if not self._state.adding:
            raise TypeError("Audit events are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise TypeError("Audit events are append-only.")


# --- Notifications: the outbox ------------------------------------------------------------------


class NotificationQuerySet(models.QuerySet):
    def visible_to(self, user) -> NotificationQuerySet:
        """A person's own notifications; somebody else's do not exist, as far as they can tell.
        (The operations page reads everyone's under its own permission.)"""
        if not user.is_authenticated:
            return self.none()
        return self.filter(recipient=user)


class Notification(models.Model):
    """One message to one person, written in the same transaction as the event that causes it.

    The row is the outbox: a task delivers the email, a beat sweeper re-sends what is still
    pending or failed, and the in-app inbox lists every row.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting to be sent")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed, will retry")
        GAVE_UP = "gave_up", _("Gave up")
        SUPPRESSED = "suppressed", _("Not emailed (unsubscribed)")

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(_("kind"), max_length=64)
    language = models.CharField(_("language"), max_length=2, choices=settings.LANGUAGES)
    context = models.JSONField(default=dict, blank=True)
    dedupe_key = models.CharField(max_length=200, unique=True)
    status = models.CharField(
        _("email status"), max_length=12, choices=Status.choices, default=Status.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    next_attempt_at = models.DateTimeField(_("next attempt"), default=timezone.now)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    read_at = models.DateTimeField(_("read"), null=True, blank=True)

    objects = NotificationQuerySet.as_manager()

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["recipient", "-created_at"], name="notification_inbox"),
            models.Index(fields=["status", "next_attempt_at"], name="notification_due"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} → {self.recipient_id} ({self.status})"


class NotificationOptOut(models.Model):
    """A person who asked not to be emailed about one optional kind of notification."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_opt_outs"
    )
    kind = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "kind"], name="notification_optout_unique")
        ]

    def __str__(self) -> str:
        return f"{self.user_id} ✕ {self.kind}"


class JobRun(models.Model):
    """When each scheduled job last ran, for the operations page."""

    name = models.CharField(max_length=100, primary_key=True)
    last_started_at = models.DateTimeField(null=True, blank=True)
    last_finished_at = models.DateTimeField(null=True, blank=True)
    last_result = models.CharField(max_length=200, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


# --- Two people for what matters ----------------------------------------------------------------


class ApprovalQuerySet(models.QuerySet["Approval"]):
    def visible_to(self, user) -> ApprovalQuerySet:
        """Program administrators see every request; whoever asked sees their own (the rule of
        `approvals.can_see`). Anyone else: none, as if they did not exist."""
        if user.is_authenticated and user.is_active and Role.PROGRAM_ADMIN in user.roles:
            return self.all()
        if not user.is_authenticated:
            return self.none()
        return self.filter(requested_by=user)

    def authorizing(self, approval: Approval | None, *, actor, kind: str, **payload) -> Approval:
        """The approval that lets `actor` make this change, read again from the database; else
        a refusal. Called by the services that make the change, inside the decision's
        transaction: the row must say approved, by `actor`, for exactly this change, asked by
        someone else, about someone else, and not used yet (its approval event is written
        once the change is made)."""
        refusal = ValidationError(
            _(
                "A second program administrator must approve this change: ask for it, and it "
                "is made when another program administrator approves."
            ),
            code="approval_required",
        )
        if approval is None or approval.pk is None:
            raise refusal
        row = (
            self.filter(pk=approval.pk, kind=kind, status=Approval.Status.APPROVED)
            .filter(decided_by=actor)
            .exclude(requested_by=actor)
            .first()
        )
        if row is None or any(row.payload.get(key) != value for key, value in payload.items()):
            raise refusal
        if row.subject_user_id is not None and row.subject_user_id == actor.pk:
            raise refusal
        if AuditEvent.objects.for_target(row).filter(verb="approval.approved").exists():
            raise refusal  # carried out already: an approval is used once
        return row


class Approval(models.Model):
    """A step that one program administrator asks for and a second one decides (DESIGN.md §4).

    The effect (the role granted, the limit set, the guardrails changed, the opportunity
    cancelled) is carried out only by the approval, in the transaction of the decision.
    """

    class Kind(models.TextChoices):
        ROLE_GRANT = "role_grant", _("Grant a staff role")
        CARD_LIMIT = "card_limit", _("Change a card holder's limits")
        GUARDRAILS = "guardrails", _("Change the program guardrails")
        OPPORTUNITY_CANCEL = "opportunity_cancel", _("Cancel an opportunity after the reveal")

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for approval")
        APPROVED = "approved", _("Approved and carried out")
        REJECTED = "rejected", _("Rejected")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    kind = models.CharField(_("what is asked"), max_length=20, choices=Kind.choices)
    payload = models.JSONField(_("details"), default=dict)
    # What the request is about ("role_grant:12:buyer", "guardrails"): one pending at a time.
    subject_key = models.CharField(max_length=100)
    # The person it concerns, when there is one: they may never decide it.
    subject_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
    )
    reason = models.TextField(_("reason"), blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="approvals_requested"
    )
    requested_at = models.DateTimeField(_("requested at"), default=timezone.now)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_note = models.TextField(_("decision note"), blank=True)

    objects = ApprovalQuerySet.as_manager()

    class Meta:
        verbose_name = _("approval request")
        verbose_name_plural = _("approval requests")
        ordering = ["-requested_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["subject_key"],
                condition=models.Q(status="pending"),
                name="approval_one_pending_per_subject",
            ),
            models.CheckConstraint(
                condition=models.Q(decided_by__isnull=True)
                | ~models.Q(decided_by=models.F("requested_by")),
                name="approval_decided_by_another",
            ),
        ]
        indexes = [models.Index(fields=["status", "-requested_at"], name="approval_status")]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk} ({self.status})"

    @property
    def is_pending(self) -> bool:
        return self.status == self.Status.PENDING

    @property
    def role_label(self) -> str:
        """The role a role grant asks for, in the current language."""
        role = self.payload.get("role", "")
        return str(Role(role).label) if role in Role.values else role
