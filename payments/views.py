from __future__ import annotations

import logging
from contextlib import nullcontext
from decimal import Decimal

import stripe
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from bids.pdf_worker import check_admitted
from lifecycle import award
from marketplace import approvals
from marketplace.files import private_file_response
from marketplace.forms import add_service_errors
from marketplace.models import Approval, Role, User
from marketplace.permissions import has_role, is_program_admin, is_supplier
from marketplace.selectors import users_with_role
from marketplace.sessions import reauthentication_required
from marketplace.shortcuts import get_visible_or_404
from marketplace.views_support import message_service_error

from . import (
    connect,
    contracts,
    gateway,
    limits,
    paying,
    permissions,
    recorded,
    selectors,
    webhooks,
)
from .forms import (
    CardLimitForm,
    CertifyForm,
    ChangesForm,
    DeclineForm,
    DefaultForm,
    DeliveryForm,
    MissingPaymentForm,
    RecordPaymentForm,
)
from .invoice_pdf import render_invoice_pdf
from .models import CardLimit, Contract, DeliveryFile, Payment, StripeAccount
from .providers import PROVIDERS

logger = logging.getLogger(__name__)

Status = Contract.Status


def _contract(request, pk: int) -> Contract:
    """The contract, for its parties (`ContractQuerySet.visible_to`); a 404 for anyone else."""
    return get_visible_or_404(
        Contract.objects.select_related("opportunity__buyer", "supplier__supplier_profile"),
        request.user,
        pk=pk,
    )


def _forms(request, contract: Contract, bound: dict | None = None) -> dict:
    user = request.user
    url = lambda name: reverse(f"payments:{name}", args=[contract.pk])  # noqa: E731
    forms = {}
    if permissions.is_contract_supplier(user, contract) and contract.status in (
        Status.IN_PROGRESS,
        Status.CHANGES_REQUESTED,
    ):
        forms["delivery_form"] = DeliveryForm(action=url("deliver"))
    if permissions.is_contract_buyer(user, contract):
        if contract.status == Status.DELIVERED:
            forms["changes_form"] = ChangesForm(action=url("request_changes"))
            # Certifying starts from its confirmation page (certify_view), where the form is.
            forms["can_certify"] = True
        if contracts.can_declare_default(contract):
            forms["default_form"] = DefaultForm(action=url("default"))
    forms.update(bound or {})
    return forms


def contract_view(request, pk: int, bound: dict | None = None, status: int = 200):
    contract = _contract(request, pk)
    context = {
        "contract": contract,
        "payment": getattr(contract, "payment", None),
        "files": contract.files.all(),
        "opportunity": contract.opportunity,
        "is_supplier": permissions.is_contract_supplier(request.user, contract),
        "is_buyer": permissions.is_contract_buyer(request.user, contract),
        # Every one who may see the contract is its awardee or staff working on it
        # (permissions.can_view_contract): they see whom to ask about it.
        "buyer_contact": contract.opportunity.buyer,
        "answer_deadline_passed": contracts.answer_deadline_passed(contract),
        "can_decline": contracts.can_decline(request.user, contract),
        "certification_language": selectors.certification_language(
            contract.certification_statement, contract.certification_language
        ),
        "certification_translation": selectors.certification_translation(
            contract.certification_statement, contract.certification_language
        ),
        **_forms(request, contract, bound),
    }
    return render(request, "payments/contract_detail.html", context, status=status)


def _act(request, pk: int, action, form_class=None, form_name: str = "", **form_kwargs):
    contract = _contract(request, pk)
    data = {}
    form = None
    if form_class is not None:
        form = form_class(
            request.POST,
            request.FILES,
            action=reverse(request.resolver_match.view_name, args=[pk]),
            **form_kwargs,
        )
        if not form.is_valid():
            return contract_view(request, pk, bound={form_name: form}, status=400)
        data = form.cleaned_data
    try:
        action(contract, data)
    except ValidationError as error:
        if form is not None and hasattr(error, "error_dict"):
            add_service_errors(form, error)
            return contract_view(request, pk, bound={form_name: form}, status=400)
        message_service_error(request, error)
        return redirect("payments:contract", pk=pk)
    return redirect("payments:contract", pk=pk)


@require_POST
def accept_terms_view(request, pk: int):
    def act(contract, _data):
        contracts.contract_accept_terms(supplier=request.user, contract=contract)
        messages.success(request, _("You accepted the contract. The work can start."))

    return _act(request, pk, act)


@require_http_methods(["GET", "HEAD", "POST"])
def decline_view(request, pk: int):
    """The awardee declines the award, from a page that says what happens next; the reason is
    optional. Anybody else: 404 (the buyer and the admins included). No longer open (accepted,
    ended, past the deadline): back to the contract, which says why."""
    contract = _contract(request, pk)
    if not permissions.is_contract_supplier(request.user, contract):
        raise Http404
    form = DeclineForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            award.contract_decline(
                supplier=request.user, contract=contract, reason=form.cleaned_data["reason"]
            )
        except ValidationError as error:
            message_service_error(request, error)
        else:
            messages.success(
                request,
                _(
                    "You declined the contract. The buyer is told, and the award passes to the "
                    "next qualified bid in rank."
                ),
            )
        return redirect("payments:contract", pk=pk)
    if not form.is_bound and not contracts.can_decline(request.user, contract):
        messages.info(request, _("This award can no longer be declined."))
        return redirect("payments:contract", pk=pk)
    return render(
        request,
        "payments/contract_decline.html",
        {"contract": contract, "opportunity": contract.opportunity, "form": form},
        status=400 if form.is_bound else 200,
    )


@require_POST
def deliver_view(request, pk: int):
    def act(contract, data):
        upload = data.get("file") or None
        # A file is counted and checked one at a time per person, like bid attachments.
        with check_admitted(who=request.user.pk, field="file") if upload else nullcontext():
            contracts.contract_deliver(
                supplier=request.user,
                contract=contract,
                url=data["delivery_url"],
                notes=data["notes"],
                upload=upload,
            )
        messages.success(request, _("Delivered. The buyer was told."))

    return _act(request, pk, act, DeliveryForm, "delivery_form")


@require_POST
def request_changes_view(request, pk: int):
    def act(contract, data):
        contracts.contract_request_changes(
            buyer=request.user, contract=contract, reasons=data["reasons"]
        )
        messages.success(request, _("The supplier was asked for changes."))

    return _act(request, pk, act, ChangesForm, "changes_form")


# Each irreversible step answers a GET with its confirmation page (what will happen, then one
# button that posts back here) and does the step on the POST.
CONFIRMS = require_http_methods(["GET", "HEAD", "POST"])
SUBMIT_ONCE = {"data-submit-once": ""}  # static/js/site.js: the button is pressed once


def _certify_form(contract: Contract, data=None) -> CertifyForm:
    form = CertifyForm(
        data,
        action=reverse("payments:certify", args=[contract.pk]),
        statement=str(contracts.CERTIFICATION),
    )
    form.helper.attrs = SUBMIT_ONCE
    return form


def _certify_page(request, contract: Contract, form: CertifyForm | None, status: int = 200):
    return render(
        request,
        "payments/confirm_certify.html",
        {
            "contract": contract,
            "opportunity": contract.opportunity,
            "files": contract.files.all(),
            "payment": getattr(contract, "payment", None),
            "form": form,
        },
        status=status,
    )


@CONFIRMS
def certify_view(request, pk: int):
    if request.method == "POST":
        return _certify(request, pk)
    contract = _contract(request, pk)
    if not permissions.is_contract_buyer(request.user, contract):
        raise PermissionDenied
    form = _certify_form(contract) if contract.status == Status.DELIVERED else None
    return _certify_page(request, contract, form)


@reauthentication_required(back="payments:certify")
@require_POST
def _certify(request, pk: int):
    contract = _contract(request, pk)
    form = _certify_form(contract, request.POST)
    if not form.is_valid():
        return _certify_page(request, contract, form, status=400)
    try:
        # Recorded in the language of the page the buyer read the statement on.
        contracts.contract_certify(
            buyer=request.user,
            contract=contract,
            confirmed=True,
            language=translation.get_language(),
        )
    except ValidationError as error:
        message_service_error(request, error)
        return redirect("payments:contract", pk=pk)
    messages.success(request, _("The work is accepted and certified."))
    return redirect("payments:contract", pk=pk)


@require_POST
def default_view(request, pk: int):
    def act(contract, data):
        award.contract_default(buyer=request.user, contract=contract, reason=data["reason"])
        messages.success(request, _("The default is recorded; the award passes to the next bid."))

    return _act(request, pk, act, DefaultForm, "default_form")


def delivery_file_view(request, pk: int, file_pk: int):
    """A delivered document, for the contract's parties only (another user: 404)."""
    contract = _contract(request, pk)
    delivered = get_object_or_404(DeliveryFile, pk=file_pk, contract=contract)
    return private_file_response(delivered.file, filename=delivered.name)


# --- Payments --------------------------------------------------------------------------------

PStatus = Payment.Status


def _payment(request, pk: int) -> Payment:
    """The payment, for those who may see it (`PaymentQuerySet.visible_to`); a 404 otherwise."""
    return get_visible_or_404(
        Payment.objects.select_related(
            "contract__opportunity__buyer",
            "contract__supplier__supplier_profile",
            "contract__certified_by",
            "payer",
        ),
        request.user,
        pk=pk,
    )


def payment_list_view(request):
    """Card holders: what is due, what is under way, what is paid. Admins see the same."""
    user = request.user
    if not (permissions.is_card_holder(user) or is_program_admin(user)):
        raise PermissionDenied
    tab = request.GET.get("show", "due")
    tabs = {
        "due": Q(status__in=Payment.OPEN),
        "underway": Q(status__in=(PStatus.PENDING, PStatus.RECORDED, PStatus.DISPUTED)),
        "paid": Q(status=PStatus.PAID),
    }
    if tab not in tabs:
        tab = "due"
    payments = (
        Payment.objects.filter(tabs[tab])
        .select_related("contract__opportunity", "contract__supplier__supplier_profile", "payer")
        .order_by("due_since" if tab == "due" else "-updated_at")
    )
    page = Paginator(payments, 25).get_page(request.GET.get("page"))
    context = {
        "tab": tab,
        "counts": {name: Payment.objects.filter(q).count() for name, q in tabs.items()},
        "page_obj": page,
        "payments": page.object_list,
        "is_paginated": page.has_other_pages(),
        "limit": CardLimit.objects.filter(card_holder=user).first(),
    }
    return render(request, "payments/payment_list.html", context)


def _payment_forms(request, payment: Payment, bound: dict | None = None) -> dict:
    user = request.user
    url = lambda name: reverse(f"payments:{name}", args=[payment.pk])  # noqa: E731
    context: dict = {}
    if permissions.is_card_holder(user) and payment.status in (*Payment.OPEN, PStatus.DISPUTED):
        context["problems"] = limits.payment_problems(payment, user)
        if not context["problems"]:
            context["record_form"] = RecordPaymentForm(
                action=url("record"),
                initial={
                    "amount": Decimal(payment.total_cents) / 100,
                    "paid_on": timezone.localdate(),
                    # Back from the confirmation page ("Go back"): what was typed.
                    **{
                        name: request.GET[name]
                        for name in RecordPaymentForm.FIELDS
                        if request.GET.get(name)
                    },
                },
            )
            stripe_provider = PROVIDERS[Payment.Provider.STRIPE]
            context["stripe_unavailable"] = stripe_provider.unavailable_reason(payment)
            context["can_pay_by_stripe"] = (
                payment.status != PStatus.DISPUTED and not (context["stripe_unavailable"])
            )
    if permissions.is_contract_supplier(user, payment.contract) and payment.status in (
        PStatus.RECORDED,
        PStatus.DISPUTED,
    ):
        context["can_confirm"] = True
        if payment.status == PStatus.RECORDED:
            context["missing_form"] = MissingPaymentForm(action=url("report_missing"))
    context.update(bound or {})
    return context


def payment_view(request, pk: int, bound: dict | None = None, status: int = 200):
    payment = _payment(request, pk)
    context = {
        "payment": payment,
        "contract": payment.contract,
        "opportunity": payment.contract.opportunity,
        "events": payment.events.select_related("actor"),
        "is_supplier": permissions.is_contract_supplier(request.user, payment.contract),
        **_payment_forms(request, payment, bound),
    }
    return render(request, "payments/payment_detail.html", context, status=status)


def _record_form(request, payment: Payment, data=None) -> RecordPaymentForm:
    return RecordPaymentForm(
        data,
        action=reverse("payments:record", args=[payment.pk]),
        reviewer=f"{payment.pk}:{request.user.pk}",
    )


@CONFIRMS
def record_view(request, pk: int):
    """GET (the payment page's form): the details typed, checked, shown to confirm; POST (the
    confirmation's button): recorded."""
    if request.method == "POST":
        return _record(request, pk)
    payment = _payment(request, pk)
    if not permissions.is_card_holder(request.user):
        raise PermissionDenied
    context = {
        "payment": payment,
        "contract": payment.contract,
        "opportunity": payment.contract.opportunity,
        "open": payment.status in (*Payment.OPEN, PStatus.DISPUTED),
    }
    if not context["open"]:
        return render(request, "payments/confirm_record.html", context)
    if limits.payment_problems(payment, request.user) or not any(
        name in request.GET for name in RecordPaymentForm.FIELDS
    ):
        return redirect("payments:detail", pk=pk)  # the page says why, or asks for the details
    form = _record_form(request, payment, request.GET)
    form.is_valid()
    typed = dict(form.cleaned_data)
    # What the service would refuse, said now, with the form's own errors (all at once).
    for field, problem in recorded.payment_record_problems(
        payment,
        amount_cents=typed.get("amount", payment.total_cents),
        paid_on=typed.get("paid_on", timezone.localdate()),
        reference=typed.get("reference", "-"),
    ).items():
        if field in typed:
            form.add_error(field, problem)
    if form.errors:
        return payment_view(request, pk, bound={"record_form": form}, status=400)
    context.update(
        form=form,
        details=form.cleaned_data,
        method=Payment.Method(form.cleaned_data["method"]).label,
        reviewed=form.review_digest(),
        limit=CardLimit.objects.filter(card_holder=request.user).first(),
    )
    return render(request, "payments/confirm_record.html", context)


@reauthentication_required(back="payments:detail")
@require_POST
def _record(request, pk: int):
    payment = _payment(request, pk)
    form = _record_form(request, payment, request.POST)
    if not form.is_valid():
        return payment_view(request, pk, bound={"record_form": form}, status=400)
    try:
        paying.payment_start(
            payer=request.user,
            payment=payment,
            provider=Payment.Provider.RECORDED_CARD,
            amount_cents=form.cleaned_data["amount"],
            paid_on=form.cleaned_data["paid_on"],
            reference=form.cleaned_data["reference"],
            method=form.cleaned_data["method"],
        )
    except ValidationError as error:
        if hasattr(error, "error_dict"):
            add_service_errors(form, error)
            return payment_view(request, pk, bound={"record_form": form}, status=400)
        message_service_error(request, error)
        return redirect("payments:detail", pk=pk)
    messages.success(request, _("The payment is recorded. The supplier is asked to confirm it."))
    return redirect("payments:detail", pk=pk)


@reauthentication_required(back="payments:detail")
@require_POST
def checkout_view(request, pk: int):
    payment = _payment(request, pk)
    try:
        payment = paying.payment_start(
            payer=request.user, payment=payment, provider=Payment.Provider.STRIPE
        )
    except ValidationError as error:
        message_service_error(request, error)
        return redirect("payments:detail", pk=pk)
    payment.refresh_from_db()
    if payment.checkout_url:
        return redirect(payment.checkout_url)
    messages.info(request, _("The secure payment page is being prepared. Reload in a moment."))
    return redirect("payments:detail", pk=pk)


@require_GET
def checkout_return_view(request, pk: int):
    _payment(request, pk)
    messages.success(
        request, _("Thank you. The payment shows as paid as soon as Stripe confirms it.")
    )
    return redirect("payments:detail", pk=pk)


@require_POST
def confirm_view(request, pk: int):
    payment = _payment(request, pk)
    try:
        recorded.payment_confirm_receipt(supplier=request.user, payment=payment)
    except ValidationError as error:
        message_service_error(request, error)
    else:
        messages.success(request, _("Thank you: the payment is confirmed and the work complete."))
    return redirect("payments:detail", pk=pk)


@require_POST
def report_missing_view(request, pk: int):
    payment = _payment(request, pk)
    form = MissingPaymentForm(request.POST, action=reverse("payments:report_missing", args=[pk]))
    if not form.is_valid():
        return payment_view(request, pk, bound={"missing_form": form}, status=400)
    try:
        recorded.payment_report_missing(
            supplier=request.user, payment=payment, reason=form.cleaned_data["reason"]
        )
    except ValidationError as error:
        message_service_error(request, error)
    else:
        messages.success(request, _("The card holder and the program team are told."))
    return redirect("payments:detail", pk=pk)


def invoice_view(request, pk: int):
    payment = _payment(request, pk)
    return render(
        request,
        "payments/invoice.html",
        {"payment": payment, "invoice": selectors.invoice_data(payment)},
    )


def invoice_pdf_view(request, pk: int):
    payment = _payment(request, pk)
    return private_file_response(
        render_invoice_pdf(selectors.invoice_data(payment)),
        filename=f"{payment.invoice_number}.pdf",
        as_attachment=False,
    )


# --- Stripe ----------------------------------------------------------------------------------


@login_not_required
@csrf_exempt
@require_POST
def stripe_webhook_view(request):
    """Stripe's events: verified, stored once, processed by a task. Never a 500 to Stripe for
    a bad request; a duplicate is a 200 so that Stripe stops sending it. An event dated in the
    future is a 400 (nothing stored: Stripe's retry is taken once the clocks agree). An event
    that does not match its payment is Stripe's all the same: a 200, and the task keeps it
    unapplied and tells the program team (a retry would not make it match)."""
    if not settings.STRIPE_WEBHOOK_SECRET:
        return HttpResponseBadRequest("Webhooks are not configured.")
    try:
        webhooks.stripe_event_receive(
            payload=request.body, signature=request.headers.get("Stripe-Signature", "")
        )
    except (ValueError, KeyError, stripe.SignatureVerificationError):
        logger.warning("Refused a Stripe webhook with a bad payload or signature")
        return HttpResponseBadRequest("Bad payload or signature.")
    return HttpResponse("ok")


def _supplier_only(request) -> User:
    if not is_supplier(request.user):
        raise PermissionDenied
    return request.user


@require_POST
def stripe_onboard_view(request):
    """Create (once) the supplier's Express account and send them to Stripe's onboarding."""
    user = _supplier_only(request)
    if not gateway.enabled():
        messages.error(request, _("Stripe is not set up on this marketplace."))
        return redirect("marketplace:supplier_profile")
    return _to_onboarding(request, lambda: connect.stripe_account_ensure(supplier=user))


@require_GET
def stripe_refresh_view(request):
    """Stripe's onboarding link expired: make a new one."""
    account = get_visible_or_404(StripeAccount, _supplier_only(request))
    return _to_onboarding(request, lambda: account)


def _to_onboarding(request, account_for):
    """Send the supplier to a fresh Stripe onboarding link for their account."""
    try:
        url = gateway.account_link(
            account_id=account_for().account_id,
            refresh_url=request.build_absolute_uri(reverse("payments:stripe_refresh")),
            return_url=request.build_absolute_uri(reverse("payments:stripe_return")),
        )
    except stripe.StripeError:
        logger.exception("Stripe onboarding failed for user %s", request.user.pk)
        messages.error(request, _("Stripe could not be reached. Try again in a few minutes."))
        return redirect("marketplace:supplier_profile")
    return redirect(url)


@require_GET
def stripe_return_view(request):
    account = get_visible_or_404(StripeAccount, _supplier_only(request))
    try:
        account = connect.stripe_account_refresh(account)
    except stripe.StripeError:
        messages.warning(request, _("Stripe could not be reached; your status updates shortly."))
    else:
        if account.ready:
            messages.success(request, _("Your Stripe account is ready: you can be paid by card."))
        else:
            messages.info(request, _("Stripe still needs some details from you."))
    return redirect("marketplace:supplier_profile")


# --- Program oversight -----------------------------------------------------------------------


def oversight_view(request, bound: dict | None = None, status: int = 200):
    if not is_program_admin(request.user):
        raise PermissionDenied
    holders = users_with_role(Role.CARD_HOLDER).select_related("card_limit").order_by("email")
    bound = bound or {}
    # A change of limits is asked for, and made when a second program administrator approves.
    pending = {
        approval.subject_user_id: approval
        for approval in Approval.objects.filter(
            kind=Approval.Kind.CARD_LIMIT, status=Approval.Status.PENDING
        )
    }
    rows = []
    for holder in holders:
        limit = getattr(holder, "card_limit", None)
        form = bound.get(holder.pk) or CardLimitForm(
            action=reverse("payments:card_limit", args=[holder.pk]),
            initial=(
                {
                    "per_transaction": Decimal(limit.per_transaction_cents) / 100,
                    "monthly": Decimal(limit.monthly_cents) / 100,
                }
                if limit
                else {}
            ),
            prefix=f"holder{holder.pk}",
        )
        rows.append(
            {
                "holder": holder,
                "limit": limit,
                "form": form,
                "pending": pending.get(holder.pk),
                "is_self": holder.pk == request.user.pk,
            }
        )
    context = {
        "second_admin_missing": approvals.second_admin_missing(user=request.user),
        "attention": selectors.payments_needing_attention(),
        "flags": selectors.fiscal_year_flags(),
        "card_holders": rows,
    }
    return render(request, "payments/oversight.html", context, status=status)


@require_POST
def card_limit_view(request, user_pk: int):
    """Ask for a card holder's limits to change: a second program administrator approves."""
    if not is_program_admin(request.user):
        raise PermissionDenied
    holder = get_object_or_404(User, pk=user_pk)
    if not has_role(holder, Role.CARD_HOLDER):
        raise Http404
    form = CardLimitForm(
        request.POST,
        action=reverse("payments:card_limit", args=[user_pk]),
        prefix=f"holder{holder.pk}",
    )
    if form.is_valid():
        try:
            approval = approvals.approval_request(
                actor=request.user,
                kind=Approval.Kind.CARD_LIMIT,
                payload={
                    "card_holder": holder.pk,
                    "per_transaction_cents": form.cleaned_data["per_transaction"],
                    "monthly_cents": form.cleaned_data["monthly"],
                },
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(
                request,
                _(
                    "Your request to change the card limits of %(email)s is waiting for a "
                    "second program administrator."
                )
                % {"email": holder.email},
            )
            return redirect("marketplace:approval_detail", pk=approval.pk)
    return oversight_view(request, bound={holder.pk: form}, status=400)
