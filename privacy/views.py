import sys

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DatabaseError, InterfaceError, OperationalError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template import loader
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods
from django_htmx.http import trigger_client_event

from accounts.visibility import visible_contacts
from climcrm.audit import audit_export as log_export
from climcrm.csvexport import csv_response
from climcrm.pagination import capped_page
from climcrm.roles import is_admin, is_partner_user
from climcrm.visibility import get_visible_or_404
from leads.visibility import visible_leads
from opportunities.models import Opportunity
from privacy import selectors, services


def _anonymisable_or_404(request: HttpRequest, queryset, pk: int):
    """The record, when the user sees it and may anonymise people; 404 otherwise."""
    if not services.can_anonymise(request.user):
        raise Http404
    return get_visible_or_404(queryset, pk=pk)


def _detail_url(name: str, pk: int) -> str:
    try:
        return reverse(name, args=[pk])
    except NoReverseMatch:
        return reverse("dashboard")


def _confirm(request: HttpRequest, *, obj, kind: str, anonymise, detail_url_name: str, deals):
    if request.method == "POST":
        try:
            anonymise(**{kind: obj}, by=request.user, request=request)
        except (ValidationError, PermissionError) as error:
            messages.error(request, " ".join(getattr(error, "messages", [str(error)])))
        else:
            messages.success(
                request, _("The personal data was erased. Deals and figures are kept.")
            )
        return redirect(_detail_url(detail_url_name, obj.pk))
    return render(
        request,
        "privacy/anonymise_confirm.html",
        {
            "object": obj,
            "kind": kind,
            "deal_count": deals.count(),
            "cancel_url": _detail_url(detail_url_name, obj.pk),
        },
    )


@require_http_methods(["GET", "POST"])
def anonymise_contact(request: HttpRequest, pk: int) -> HttpResponse:
    contact = _anonymisable_or_404(request, visible_contacts(request.user), pk)
    return _confirm(
        request,
        obj=contact,
        kind="contact",
        anonymise=services.anonymise_contact,
        detail_url_name="accounts:contact-detail",
        deals=Opportunity.objects.filter(primary_contact=contact),
    )


@require_http_methods(["GET", "POST"])
def anonymise_lead(request: HttpRequest, pk: int) -> HttpResponse:
    lead = _anonymisable_or_404(request, visible_leads(request.user), pk)
    deals = Opportunity.objects.filter(lead=lead)
    return _confirm(
        request,
        obj=lead,
        kind="lead",
        anonymise=services.anonymise_lead,
        detail_url_name="leads:detail",
        deals=deals,
    )


@require_GET
def audit_log(request: HttpRequest) -> HttpResponse:
    if is_partner_user(request.user):
        raise Http404  # internal pages do not exist for partner users
    if not is_admin(request.user):
        raise PermissionDenied
    filterset, entries = selectors.audit_entries(params=request.GET)
    page_obj = capped_page(request, entries)
    template = "privacy/audit_log.html"
    if request.htmx and not request.htmx.boosted:
        template += "#results"
    return render(request, template, {"filter": filterset, "page_obj": page_obj})


AUDIT_EXPORT_HEADER = [
    gettext_lazy("When"),
    gettext_lazy("User"),
    gettext_lazy("Action"),
    gettext_lazy("Detail"),
    gettext_lazy("IP address"),
]


@require_GET
def audit_export(request: HttpRequest):
    """The filtered audit log as CSV, for admins (the export is itself logged)."""
    if is_partner_user(request.user):
        raise Http404
    if not is_admin(request.user):
        raise PermissionDenied
    _filterset, entries = selectors.audit_entries(params=request.GET)
    log_export(request, "audit_log")
    rows = (
        [
            timezone.localtime(entry.at).strftime("%Y-%m-%d %H:%M:%S"),
            entry.user.username if entry.user_id else "",
            entry.get_action_display(),
            entry.detail,
            entry.ip_address or "",
        ]
        for entry in entries.iterator(chunk_size=2000)
    )
    return csv_response(filename="audit-log", header=AUDIT_EXPORT_HEADER, rows=rows)


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: the database being unreachable is a 503 worth retrying, not a crash.

    Renders without the database (no session, no user, no context processors): it is
    called precisely when those may be failing.
    """

    error = sys.exc_info()[1]
    unavailable = isinstance(error, DatabaseError) and _is_connection_error(error)
    status = 503 if unavailable else 500
    if unavailable:
        message = _("ClimCRM is briefly unavailable. Try again in a few seconds.")
    else:
        message = _("Something went wrong on our side. The error was logged.")
    if request.headers.get("HX-Request"):
        response = HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")
        trigger_client_event(response, "toast", {"text": message, "kind": "error"})
    else:
        body = loader.get_template("privacy/server_error.html").render(
            {"message": message, "status": status}
        )
        response = HttpResponse(body, status=status)
    if unavailable:
        response["Retry-After"] = "5"
    return response


def _is_connection_error(error) -> bool:
    return isinstance(error, OperationalError | InterfaceError)
