from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from accounts import selectors
from accounts.forms import AccountForm, ContactForm
from accounts.services import (
    account_create,
    account_update,
    change_refusal,
    contact_create,
    contact_update,
)
from climcrm.audit import audit_export
from climcrm.csvexport import csv_response, yes_no
from climcrm.forms import add_service_errors
from climcrm.pagination import capped_page
from climcrm.permissions import can_change_account
from climcrm.roles import is_internal
from climcrm.saved_views import opens_default_view


def _require_internal(user) -> None:
    # Partner users read the accounts of their deals but do not maintain them: for them
    # the maintenance pages do not exist.
    if not is_internal(user):
        raise Http404


def _list_response(request, template: str, context: dict) -> HttpResponse:
    if request.htmx and not request.htmx.boosted:
        template += "#results"
    return render(request, template, context)


@require_GET
@opens_default_view("accounts")
def account_list(request: HttpRequest) -> HttpResponse:
    filterset, queryset, ordering = selectors.account_list(user=request.user, params=request.GET)
    page_obj = capped_page(request, queryset)
    context = {
        "filter": filterset,
        "page_obj": page_obj,
        "accounts": page_obj.object_list,
        "ordering": ordering,
        "can_create": is_internal(request.user),
    }
    return _list_response(request, "accounts/account_list.html", context)


ACCOUNT_EXPORT_HEADER = [
    gettext_lazy("Name"),
    gettext_lazy("Industry / segment"),
    gettext_lazy("Street"),
    gettext_lazy("Postal code"),
    gettext_lazy("City"),
    gettext_lazy("Country"),
    gettext_lazy("Website"),
    gettext_lazy("Owner"),
    gettext_lazy("Customer"),
    gettext_lazy("Open deals"),
]


@require_GET
def account_export(request: HttpRequest):
    """The filtered list as CSV (the product's one CSV rule: climcrm.csvexport)."""
    _filterset, queryset, _ordering = selectors.account_list(user=request.user, params=request.GET)
    audit_export(request, "account_list")
    rows = (
        [
            account.name,
            account.industry,
            account.street,
            account.postal_code,
            account.city,
            str(account.country),
            account.website,
            str(account.owner) if account.owner_id else "",
            yes_no(account.is_customer),
            account.open_deals,
        ]
        for account in queryset.iterator(chunk_size=2000)
    )
    return csv_response(filename="accounts", header=ACCOUNT_EXPORT_HEADER, rows=rows)


@require_GET
def account_detail(request: HttpRequest, pk: int) -> HttpResponse:
    account = selectors.account_get(user=request.user, pk=pk)
    context = {
        "account": account,
        "contacts": selectors.account_contacts(user=request.user, account=account),
        "opportunities": selectors.account_opportunities(user=request.user, account=account),
        "totals": selectors.account_totals(user=request.user, account=account),
        "can_edit": can_change_account(request.user, account),
        "can_add": is_internal(request.user),
    }
    return render(request, "accounts/account_detail.html", context)


@require_http_methods(["GET", "POST"])
def account_create_view(request: HttpRequest) -> HttpResponse:
    _require_internal(request.user)
    form = AccountForm(request.POST or None, user=request.user, initial={"owner": request.user})
    if request.method == "POST" and form.is_valid():
        try:
            account = account_create(by=request.user, **form.changes())
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("The account was created."))
            return redirect("accounts:detail", pk=account.pk)
    return render(request, "accounts/account_form.html", {"form": form, "account": None})


@require_http_methods(["GET", "POST"])
def account_edit(request: HttpRequest, pk: int) -> HttpResponse:
    account = selectors.account_get(user=request.user, pk=pk)
    _require_internal(request.user)
    if not can_change_account(request.user, account):
        raise PermissionDenied(change_refusal(request.user, account))
    form = AccountForm(request.POST or None, instance=account, user=request.user)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            account_update(account=account, by=request.user, changes=form.changes())
        except ValidationError as error:
            add_service_errors(form, error)
        except PermissionError as error:
            form.add_error(None, str(error))
            status = 403
        else:
            messages.success(request, _("The account was saved."))
            return redirect("accounts:detail", pk=account.pk)
    context = {"form": form, "account": account}
    return render(request, "accounts/account_form.html", context, status=status)


@require_GET
def contact_list(request: HttpRequest) -> HttpResponse:
    filterset, queryset, ordering = selectors.contact_list(user=request.user, params=request.GET)
    page_obj = capped_page(request, queryset)
    context = {
        "filter": filterset,
        "page_obj": page_obj,
        "contacts": page_obj.object_list,
        "ordering": ordering,
        "can_create": is_internal(request.user),
    }
    return _list_response(request, "accounts/contact_list.html", context)


CONTACT_EXPORT_HEADER = [
    gettext_lazy("First name"),
    gettext_lazy("Last name"),
    gettext_lazy("Email"),
    gettext_lazy("Phone"),
    gettext_lazy("Job title"),
    gettext_lazy("Account"),
    gettext_lazy("Decision maker"),
]


@require_GET
def contact_export(request: HttpRequest):
    _filterset, queryset, _ordering = selectors.contact_list(user=request.user, params=request.GET)
    audit_export(request, "contact_list")
    rows = (
        [
            contact.first_name,
            contact.last_name,
            contact.email,
            contact.phone,
            contact.job_title,
            contact.account.name,
            yes_no(contact.is_decision_maker),
        ]
        for contact in queryset.iterator(chunk_size=2000)
    )
    return csv_response(filename="contacts", header=CONTACT_EXPORT_HEADER, rows=rows)


@require_GET
def contact_detail(request: HttpRequest, pk: int) -> HttpResponse:
    contact = selectors.contact_get(user=request.user, pk=pk)
    context = {
        "contact": contact,
        "opportunities": selectors.contact_opportunities(user=request.user, contact=contact),
        "can_edit": is_internal(request.user),
    }
    return render(request, "accounts/contact_detail.html", context)


@require_http_methods(["GET", "POST"])
def contact_create_view(request: HttpRequest) -> HttpResponse:
    _require_internal(request.user)
    initial = {}
    if request.GET.get("account"):
        initial["account"] = request.GET["account"]
    form = ContactForm(request.POST or None, user=request.user, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            contact = contact_create(by=request.user, **form.changes())
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("The contact was created."))
            return redirect("accounts:contact-detail", pk=contact.pk)
    return render(request, "accounts/contact_form.html", {"form": form, "contact": None})


@require_http_methods(["GET", "POST"])
def contact_edit(request: HttpRequest, pk: int) -> HttpResponse:
    contact = selectors.contact_get(user=request.user, pk=pk)
    _require_internal(request.user)
    form = ContactForm(request.POST or None, instance=contact, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            contact_update(contact=contact, by=request.user, changes=form.changes())
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("The contact was saved."))
            return redirect("accounts:contact-detail", pk=contact.pk)
    return render(request, "accounts/contact_form.html", {"form": form, "contact": contact})


def _lookup_query(request: HttpRequest) -> str:
    return request.GET.get("q", "").strip()[:100]


def _lookup_response(rows) -> JsonResponse:
    return JsonResponse([{"value": row.pk, "text": str(row)} for row in rows], safe=False)


@require_GET
def account_lookup(request: HttpRequest) -> JsonResponse:
    query = _lookup_query(request)
    return _lookup_response(selectors.account_lookup(user=request.user, query=query))


@require_GET
def contact_lookup(request: HttpRequest) -> JsonResponse:
    query = _lookup_query(request)
    contacts = selectors.contact_lookup(
        user=request.user, query=query, account_pk=request.GET.get("account") or None
    )
    return _lookup_response(contacts)
