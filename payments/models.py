"""Delivery and acceptance of awarded work (DESIGN.md §3, §7). Payment follows acceptance."""

from __future__ import annotations

import operator
import uuid
from functools import reduce
from typing import ClassVar, NamedTuple, TypeVar

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from bids.models import Bid, private_storage
from marketplace.i18n import choice_label
from marketplace.models import Role
from marketplace.permissions import has_role
from marketplace.transitions import LifecycleModel
from opportunities.models import Opportunity

_Rows = TypeVar("_Rows", bound=models.QuerySet)


def _any_of(queryset: _Rows, claims: list[models.Q]) -> _Rows:
    """The rows matching one of `claims`; none without a claim."""
    return queryset.filter(reduce(operator.or_, claims)) if claims else queryset.none()


class ContractQuerySet(models.QuerySet):
    def visible_to(self, user) -> ContractQuerySet:
        """The contracts `user` may open (marketplace.shortcuts.get_visible_or_404): the rule of
        `payments.permissions.can_view_contract`, as a query. The supplier, the buyer and the
        admins; card holders once there is a payment (to pay it)."""
        if has_role(user, Role.PROGRAM_ADMIN):
            return self.all()
        claims = []
        if has_role(user, Role.SUPPLIER):
            claims.append(models.Q(supplier=user))
        if has_role(user, Role.BUYER):
            claims.append(models.Q(opportunity__buyer=user))
        if has_role(user, Role.CARD_HOLDER):
            paid = Payment.objects.filter(contract=models.OuterRef("pk"))
            claims.append(models.Q(models.Exists(paid)))
        return _any_of(self, claims)


class Contract(LifecycleModel):
    """The work awarded to one bid: the supplier accepts the terms, delivers; the buyer asks
    for changes or accepts and certifies it (FAA section 34)."""

    class Status(models.TextChoices):
        AWAITING_ACCEPTANCE = "awaiting_acceptance", _("Waiting for the supplier to accept")
        IN_PROGRESS = "in_progress", _("In progress")
        DELIVERED = "delivered", _("Delivered, waiting for the buyer")
        CHANGES_REQUESTED = "changes_requested", _("Changes requested")
        ACCEPTED = "accepted", _("Accepted and certified")
        DECLINED = "declined", _("Declined by the supplier")
        DEFAULTED = "defaulted", _("Ended for default")

    TRANSITIONS: ClassVar[dict[str, frozenset[str]]] = {
        Status.AWAITING_ACCEPTANCE: frozenset(
            {Status.IN_PROGRESS, Status.DECLINED, Status.DEFAULTED}
        ),
        Status.IN_PROGRESS: frozenset({Status.DELIVERED, Status.DEFAULTED}),
        Status.DELIVERED: frozenset({Status.CHANGES_REQUESTED, Status.ACCEPTED}),
        Status.CHANGES_REQUESTED: frozenset({Status.DELIVERED, Status.DEFAULTED}),
        Status.ACCEPTED: frozenset(),
        Status.DECLINED: frozenset(),
        Status.DEFAULTED: frozenset(),
    }
    transition_refused = _("This contract is “%(current)s”: this step is not possible now.")

    opportunity = models.ForeignKey(Opportunity, on_delete=models.PROTECT, related_name="contracts")
    bid = models.OneToOneField(Bid, on_delete=models.PROTECT, related_name="contract")
    supplier = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="contracts"
    )
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.AWAITING_ACCEPTANCE
    )
    value_cents = models.PositiveIntegerField(_("value including tax (cents)"))
    created_at = models.DateTimeField(default=timezone.now)
    # The awardee accepts or declines by this moment (OFFER_ACCEPT_BUSINESS_DAYS after the
    # award); unanswered, the award passes on (lifecycle.award.contracts_lapse_unaccepted).
    # Empty for contracts drawn up before the deadline existed: they have none.
    accept_by = models.DateTimeField(_("accept by"), null=True, blank=True)
    terms_version = models.CharField(_("terms accepted"), max_length=20, blank=True)
    terms_accepted_at = models.DateTimeField(null=True, blank=True)
    delivery_url = models.URLField(_("pull request or repository"), max_length=500, blank=True)
    delivery_notes = models.TextField(_("notes for the buyer"), blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    deliveries = models.PositiveSmallIntegerField(default=0)
    change_request = models.TextField(_("changes requested"), blank=True)
    cure_deadline = models.DateField(_("changes due by"), null=True, blank=True)
    certified_at = models.DateTimeField(null=True, blank=True)
    certified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    certification_statement = models.TextField(blank=True)
    # The language of the page the statement was certified on ("en"/"fr"; "" before it was
    # recorded): the contract page marks the quote with it even after the wording changes.
    certification_language = models.CharField(max_length=2, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    # The supplier as the contract names them: taken at the award, taken again when the work
    # is certified, then never changed. The invoice, the award and the open data show these,
    # not the profile, which the supplier may edit afterwards.
    supplier_legal_name = models.CharField(_("supplier's legal name"), max_length=200, blank=True)
    supplier_trading_name = models.CharField(
        _("supplier's trading name"), max_length=200, blank=True
    )
    supplier_province = models.CharField(
        _("supplier's province or territory"), max_length=2, blank=True
    )
    supplier_postal_code = models.CharField(_("supplier's postal code"), max_length=7, blank=True)
    supplier_gst_hst_number = models.CharField(
        _("supplier's GST/HST registration number"), max_length=17, blank=True
    )
    supplier_details_at = models.DateTimeField(_("supplier details as of"), null=True, blank=True)

    objects = ContractQuerySet.as_manager()

    class Meta:
        verbose_name = _("contract")
        verbose_name_plural = _("contracts")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        # Never the supplier, as `Bid.__str__`: this text is stored as the audit target of
        # contract events and shown and searched in the technical admin. Not translated: it
        # must read the same whoever acted.
        return f"Contract {self.pk} for opportunity {self.opportunity_id} ({self.status})"

    def get_status_display(self) -> str:  # lists show it on every row: see choice_label
        return choice_label(self.Status, self.status)

    @property
    def supplier_name(self) -> str:
        """The name the supplier does business under, as the contract recorded it."""
        shown, _legal = self.supplier_names()
        return shown

    def supplier_names(self) -> tuple[str, str]:
        """(name shown, legal name) as the contract recorded them."""
        details = self.supplier_details()
        return details.trading_name or details.legal_name, details.legal_name

    def supplier_details(self) -> SupplierDetails:
        """The supplier's name and address as recorded at the award, then at certification.
        A contract without the record (none since migration 0003) reads the profile."""
        if self.supplier_details_at is not None:
            return SupplierDetails(
                self.supplier_legal_name,
                self.supplier_trading_name,
                self.supplier_province,
                self.supplier_postal_code,
                self.supplier_gst_hst_number,
            )
        profile = getattr(self.supplier, "supplier_profile", None)
        if profile is None:
            return SupplierDetails("", "", "", "", "")
        return SupplierDetails(
            profile.legal_name,
            profile.trading_name,
            profile.province,
            profile.postal_code,
            profile.gst_hst_number,
        )


class SupplierDetails(NamedTuple):
    legal_name: str
    trading_name: str
    province: str
    postal_code: str
    gst_hst_number: str


def _delivery_file_path(instance: DeliveryFile, filename: str) -> str:
    return f"deliveries/{instance.contract_id}/{uuid.uuid4().hex}.pdf"


class DeliveryFile(models.Model):
    """A PDF delivered with the work, checked by content, stored without its metadata and
    served only to the contract's parties."""

    contract = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="files")
    delivery = models.PositiveSmallIntegerField(_("delivery"))
    file = models.FileField(upload_to=_delivery_file_path, storage=private_storage)
    name = models.CharField(_("file name"), max_length=200)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    uploaded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("delivered file")
        verbose_name_plural = _("delivered files")
        ordering = ["delivery", "uploaded_at", "id"]

    def __str__(self) -> str:
        return self.name


class PaymentQuerySet(models.QuerySet):
    def visible_to(self, user) -> PaymentQuerySet:
        """The payments `user` may open (marketplace.shortcuts.get_visible_or_404): the rule of
        `payments.permissions.can_view_payment`, as a query. The supplier paid, the buyer,
        every card holder (any of them may pay) and the admins."""
        if has_role(user, Role.CARD_HOLDER) or has_role(user, Role.PROGRAM_ADMIN):
            return self.all()
        claims = []
        if has_role(user, Role.SUPPLIER):
            claims.append(models.Q(contract__supplier=user))
        if has_role(user, Role.BUYER):
            claims.append(models.Q(contract__opportunity__buyer=user))
        return _any_of(self, claims)


class Payment(LifecycleModel):
    """What is owed for one accepted contract, its invoice figures, and how it was paid.

    Created when the buyer certifies the work; paid by a card holder through one provider
    (`payments.providers`); every change appends a `PaymentEvent`."""

    class Provider(models.TextChoices):
        RECORDED_CARD = "recorded_card", _("Acquisition card, paid outside and recorded")
        STRIPE = "stripe", _("Card, through Stripe")

    class Status(models.TextChoices):
        DUE = "due", _("Due")
        PENDING = "pending", _("Being paid through Stripe")
        FAILED = "failed", _("Payment failed")
        RECORDED = "recorded", _("Recorded, waiting for the supplier to confirm")
        DISPUTED = "disputed", _("Not confirmed by the supplier")
        PAID = "paid", _("Paid")

    TRANSITIONS: ClassVar[dict[str, frozenset[str]]] = {
        Status.DUE: frozenset({Status.PENDING, Status.RECORDED}),
        # Back to due when the checkout session expires unpaid.
        Status.PENDING: frozenset({Status.PAID, Status.FAILED, Status.DUE}),
        Status.FAILED: frozenset({Status.PENDING, Status.RECORDED, Status.PAID}),
        Status.RECORDED: frozenset({Status.PAID, Status.DISPUTED}),
        # The supplier confirms late, or the card holder corrects the record.
        Status.DISPUTED: frozenset({Status.PAID, Status.RECORDED}),
        Status.PAID: frozenset(),
    }
    transition_refused = _("This payment is “%(current)s”: this step is not possible now.")
    OPEN = (Status.DUE, Status.FAILED)
    # Money committed on the payer's card: counts against their limits.
    COMMITTED = (Status.PENDING, Status.RECORDED, Status.DISPUTED, Status.PAID)

    class Method(models.TextChoices):
        CARD_TERMINAL = "card_terminal", _("Card terminal or online card payment")
        TRANSFER = "transfer", _("Online transfer paid with the card")

    contract = models.OneToOneField(Contract, on_delete=models.PROTECT, related_name="payment")
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.DUE, db_index=True
    )
    provider = models.CharField(_("paid by"), max_length=16, choices=Provider.choices, blank=True)
    invoice_number = models.CharField(_("invoice number"), max_length=20, unique=True)
    issued_on = models.DateField(_("invoice date"))
    province = models.CharField(_("supplier's province or territory"), max_length=2)
    gst_hst_number = models.CharField(_("GST/HST registration number"), max_length=17, blank=True)
    subtotal_cents = models.PositiveIntegerField(_("subtotal (cents)"))
    tax_label = models.CharField(_("tax"), max_length=8, blank=True)
    tax_rate_bp = models.PositiveSmallIntegerField(_("tax rate (basis points)"), default=0)
    tax_cents = models.PositiveIntegerField(_("tax (cents)"), default=0)
    total_cents = models.PositiveIntegerField(_("total (cents)"))
    currency = models.CharField(max_length=3, default="CAD", editable=False)
    due_since = models.DateTimeField(_("due since"))
    payer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="payments_made",
        verbose_name=_("card holder"),
    )
    started_at = models.DateTimeField(_("payment started"), null=True, blank=True)
    # When the money was committed on the payer's card, the date monthly limits count it by:
    # the start of the Stripe attempt that is in flight or paid, or the moment a card payment
    # paid outside was first recorded (never the date the card holder types in). Set when the
    # payment enters a committed status; kept while it stays in one.
    committed_at = models.DateTimeField(_("money committed at"), null=True, blank=True)
    # Recorded acquisition card
    method = models.CharField(
        _("how it was paid"), max_length=16, choices=Method.choices, blank=True
    )
    paid_on = models.DateField(_("date paid"), null=True, blank=True)
    reference = models.CharField(_("payment reference"), max_length=100, blank=True)
    recorded_at = models.DateTimeField(null=True, blank=True)
    disputed_at = models.DateTimeField(null=True, blank=True)
    dispute_reason = models.TextField(blank=True)
    # Stripe
    attempt = models.PositiveSmallIntegerField(default=0)
    stripe_account = models.CharField(max_length=64, blank=True)
    checkout_session_id = models.CharField(max_length=255, blank=True, db_index=True)
    checkout_url = models.URLField(max_length=2000, blank=True)
    payment_intent_id = models.CharField(max_length=255, blank=True, db_index=True)
    transfer_id = models.CharField(max_length=255, blank=True)
    failure_message = models.CharField(max_length=500, blank=True)
    # Outcome
    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True)
    confirmed_at = models.DateTimeField(_("receipt confirmed at"), null=True, blank=True)
    paid_out_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    objects = PaymentQuerySet.as_manager()

    class Meta:
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        ordering = ["-due_since"]

    def __str__(self) -> str:
        return f"{self.invoice_number} ({self.status})"

    def get_status_display(self) -> str:  # lists show it on every row: see choice_label
        return choice_label(self.Status, self.status)

    @property
    def idempotency_prefix(self) -> str:
        """Every Stripe call for this payment's current attempt carries a key built on this."""
        return f"marketplace-payment-{self.pk}-attempt-{self.attempt}"


class PaymentEvent(models.Model):
    """The append-only history of a payment: who or what moved it, from what, to what."""

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="events")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    kind = models.CharField(max_length=64)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    from_status = models.CharField(max_length=10, blank=True)
    to_status = models.CharField(max_length=10, blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = _("payment event")
        verbose_name_plural = _("payment events")
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.payment_id} {self.kind}"

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None:
            raise ValueError("Payment events are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("Payment events are append-only.")

    @property
    def moved(self) -> bool:
        """Whether the event changed the payment's status (a note leaves it as it was)."""
        return bool(self.to_status) and self.to_status != self.from_status

    @property
    def from_status_display(self) -> str:
        return choice_label(Payment.Status, self.from_status) if self.from_status else ""

    @property
    def to_status_display(self) -> str:
        return choice_label(Payment.Status, self.to_status) if self.to_status else ""


class StripeAccountQuerySet(models.QuerySet):
    def visible_to(self, user) -> StripeAccountQuerySet:
        """A supplier's own Stripe account: nobody else's, as far as they can tell."""
        if not user.is_authenticated:
            return self.none()
        return self.filter(user=user)


class StripeAccount(models.Model):
    """A supplier's Stripe Connect Express account, kept current by `account.updated`."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="stripe_account"
    )
    account_id = models.CharField(max_length=64, unique=True)
    details_submitted = models.BooleanField(default=False)
    charges_enabled = models.BooleanField(default=False)
    payouts_enabled = models.BooleanField(default=False)
    # The `created` time of the Stripe object or event last applied: older events are ignored.
    synced_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = StripeAccountQuerySet.as_manager()

    class Meta:
        verbose_name = _("Stripe account")
        verbose_name_plural = _("Stripe accounts")

    def __str__(self) -> str:
        return self.account_id

    @property
    def ready(self) -> bool:
        return self.details_submitted and self.payouts_enabled


class StripeEvent(models.Model):
    """A webhook event, stored once (unique event id) and processed by a Celery task."""

    event_id = models.CharField(max_length=255, unique=True)
    type = models.CharField(max_length=100)
    account = models.CharField(max_length=64, blank=True)
    created = models.DateTimeField()
    payload = models.JSONField()
    received_at = models.DateTimeField(default=timezone.now)
    processed_at = models.DateTimeField(null=True, blank=True)
    # What in the event did not match the payment it named (amount, currency, account,
    # session): such an event is kept, and not applied.
    mismatch = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = _("Stripe event")
        verbose_name_plural = _("Stripe events")
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"{self.event_id} {self.type}"


class CardLimit(models.Model):
    """A card holder's single-purchase and monthly limits, set by a program admin."""

    card_holder = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="card_limit"
    )
    per_transaction_cents = models.PositiveIntegerField(_("single-purchase limit (cents)"))
    monthly_cents = models.PositiveIntegerField(_("monthly limit (cents)"))
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("card limit")
        verbose_name_plural = _("card limits")

    def __str__(self) -> str:
        return f"{self.card_holder}: {self.per_transaction_cents}/{self.monthly_cents}"
