from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from . import permissions, services
from .forms import CertifyForm, ChangesForm, DefaultForm, DeliveryForm
from .models import Contract

Status = Contract.Status


def _contract(request, pk: int) -> Contract:
    contract = get_object_or_404(
        Contract.objects.select_related("opportunity", "supplier__supplier_profile"), pk=pk
    )
    if not permissions.can_view_contract(request.user, contract):
        raise Http404
    return contract


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
            forms["certify_form"] = CertifyForm(
                action=url("certify"), statement=str(services.CERTIFICATION)
            )
        if services.can_declare_default(contract):
            forms["default_form"] = DefaultForm(action=url("default"))
    forms.update(bound or {})
    return forms


def contract_view(request, pk: int, bound: dict | None = None, status: int = 200):
    contract = _contract(request, pk)
    context = {
        "contract": contract,
        "opportunity": contract.opportunity,
        "is_supplier": permissions.is_contract_supplier(request.user, contract),
        "is_buyer": permissions.is_contract_buyer(request.user, contract),
        **_forms(request, contract, bound),
    }
    return render(request, "payments/contract_detail.html", context, status=status)


def _act(request, pk: int, action, form_class=None, form_name: str = "", **form_kwargs):
    contract = _contract(request, pk)
    data = {}
    if form_class is not None:
        form = form_class(
            request.POST, action=reverse(request.resolver_match.view_name, args=[pk]), **form_kwargs
        )
        if not form.is_valid():
            return contract_view(request, pk, bound={form_name: form}, status=400)
        data = form.cleaned_data
    try:
        action(contract, data)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("payments:contract", pk=pk)
    return redirect("payments:contract", pk=pk)


@require_POST
def accept_terms_view(request, pk: int):
    def act(contract, _data):
        services.contract_accept_terms(supplier=request.user, contract=contract)
        messages.success(request, _("You accepted the contract. The work can start."))

    return _act(request, pk, act)


@require_POST
def deliver_view(request, pk: int):
    def act(contract, data):
        services.contract_deliver(
            supplier=request.user, contract=contract, url=data["delivery_url"], notes=data["notes"]
        )
        messages.success(request, _("Delivered. The buyer was told."))

    return _act(request, pk, act, DeliveryForm, "delivery_form")


@require_POST
def request_changes_view(request, pk: int):
    def act(contract, data):
        services.contract_request_changes(
            buyer=request.user, contract=contract, reasons=data["reasons"]
        )
        messages.success(request, _("The supplier was asked for changes."))

    return _act(request, pk, act, ChangesForm, "changes_form")


@require_POST
def certify_view(request, pk: int):
    def act(contract, data):
        services.contract_certify(buyer=request.user, contract=contract, confirmed=True)
        messages.success(request, _("The work is accepted and certified."))

    return _act(
        request, pk, act, CertifyForm, "certify_form", statement=str(services.CERTIFICATION)
    )


@require_POST
def default_view(request, pk: int):
    def act(contract, data):
        services.contract_default(buyer=request.user, contract=contract, reason=data["reason"])
        messages.success(request, _("The default is recorded; the award passes to the next bid."))

    return _act(request, pk, act, DefaultForm, "default_form")
