from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import get_language, gettext_lazy, ngettext
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import trigger_client_event

from climcrm.audit import audit_export
from climcrm.choices import Source
from climcrm.csvexport import SafeWriter
from climcrm.forms import add_service_errors
from climcrm.pagination import capped_page
from climcrm.roles import is_internal
from climcrm.saved_views import opens_default_view
from climcrm.text import normalize_company_name
from climcrm.visibility import get_visible_or_404
from leads import importing, lifecycle, selectors, services
from leads.forms import (
    NEW,
    BulkActionForm,
    ConvertForm,
    ImportUploadForm,
    LeadForm,
    StatusForm,
    WebToLeadForm,
)
from leads.models import ImportJob, Lead, LeadStatus
from leads.uploads import UploadLimitHandler, rejected_rows_response, too_large_message
from leads.visibility import visible_leads
from opportunities.models import OpportunityType
from opportunities.services import suggested_type

EXPORT_COLUMNS = (
    ("first_name", gettext_lazy("First name")),
    ("last_name", gettext_lazy("Last name")),
    ("email", gettext_lazy("Email")),
    ("phone", gettext_lazy("Phone")),
    ("company", gettext_lazy("Company")),
    ("job_title", gettext_lazy("Job title")),
    ("status", gettext_lazy("Status")),
    ("source", gettext_lazy("Source")),
    ("origin", gettext_lazy("Origin")),
    ("partner", gettext_lazy("Partner")),
    ("owner", gettext_lazy("Owner")),
    ("created_at", gettext_lazy("Created")),
    ("status_changed_at", gettext_lazy("Status changed")),
)


# --- access helpers -------------------------------------------------------------------


def _get_lead(request: HttpRequest, pk: int) -> Lead:
    """The lead if the user may see it, else 404 (also for other partners' leads)."""
    return selectors.lead_get(user=request.user, pk=pk)


def _require_internal(request: HttpRequest) -> None:
    if not is_internal(request.user):
        raise Http404


def _get_job(request: HttpRequest, pk: int) -> ImportJob:
    _require_internal(request)
    return get_visible_or_404(ImportJob.objects.filter(created_by=request.user), pk=pk)


def _url(name: str, pk) -> str | None:
    """The page of a record built by another part of the product, when it exists."""
    try:
        return reverse(name, args=[pk])
    except NoReverseMatch:
        return None


def conversion_target_url(lead: Lead) -> str:
    """Where a converted lead leads: its opportunity, else its account, else itself."""
    if lead.converted_opportunity_id:
        url = _url("opportunities:detail", lead.converted_opportunity_id)
        if url:
            return url
    if lead.converted_account_id:
        url = _url("accounts:detail", lead.converted_account_id)
        if url:
            return url
    return reverse("leads:detail", args=[lead.pk])


def converted_deal_on_board_url(lead: Lead) -> str:
    """Right after the conversion: the new deal marked on the board; without one, as above."""
    if lead.converted_opportunity_id:
        try:
            board = reverse("opportunities:kanban")
        except NoReverseMatch:
            return conversion_target_url(lead)
        return f"{board}?highlight={lead.converted_opportunity_id}"
    return conversion_target_url(lead)


# --- list, bulk actions, export -------------------------------------------------------


@require_GET
@opens_default_view("leads")
def lead_list(request: HttpRequest) -> HttpResponse:
    lead_filter = selectors.lead_list(user=request.user, params=request.GET)
    page_obj = capped_page(request, lead_filter.qs)
    context = {
        "filter": lead_filter,
        "page_obj": page_obj,
        "leads": page_obj.object_list,
        "ordering": request.GET.get("ordering", ""),
        "bulk_form": BulkActionForm(leads_queryset=Lead.objects.none())
        if is_internal(request.user)
        else None,
        "query_string": request.GET.urlencode(),
        "is_filtered": any(
            value for key, value in request.GET.items() if key not in ("page", "ordering")
        ),
    }
    template = "leads/lead_list.html"
    if request.htmx and not request.htmx.boosted:
        template += "#results"
    return render(request, template, context)


@require_POST
def lead_bulk(request: HttpRequest) -> HttpResponse:
    _require_internal(request)
    back = request.POST.get("next") or ""
    list_url = reverse("leads:list") + (f"?{back}" if back else "")
    if not url_has_allowed_host_and_scheme(list_url, allowed_hosts=None):
        list_url = reverse("leads:list")
    form = BulkActionForm(request.POST, leads_queryset=visible_leads(request.user))
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect(list_url)
    leads = list(form.cleaned_data["leads"].select_related("owner", "partner"))
    if form.cleaned_data["action"] == BulkActionForm.ASSIGN:
        owner = form.cleaned_data["owner"]
        result = services.lead_bulk_assign(leads=leads, owner=owner, by=request.user)
        if result.changed:
            messages.success(
                request,
                ngettext(
                    "%(count)s lead assigned to %(owner)s.",
                    "%(count)s leads assigned to %(owner)s.",
                    len(result.changed),
                )
                % {"count": len(result.changed), "owner": owner},
            )
    else:
        status = form.cleaned_data["status"]
        result = services.lead_bulk_change_status(
            leads=leads, to_status=status, by=request.user, reason=form.cleaned_data["reason"]
        )
        if result.changed:
            messages.success(
                request,
                ngettext(
                    "%(count)s lead moved to %(status)s.",
                    "%(count)s leads moved to %(status)s.",
                    len(result.changed),
                )
                % {"count": len(result.changed), "status": LeadStatus(status).label},
            )
    for lead, reason in result.skipped[:20]:
        messages.warning(
            request, _("%(lead)s not changed: %(reason)s") % {"lead": lead, "reason": reason}
        )
    if len(result.skipped) > 20:
        more = len(result.skipped) - 20
        messages.warning(
            request,
            ngettext("%(count)s more lead not changed.", "%(count)s more leads not changed.", more)
            % {"count": more},
        )
    return redirect(list_url)


@require_GET
def lead_export(request: HttpRequest) -> StreamingHttpResponse:
    """The filtered list as CSV for Excel (semicolons, UTF-8 with BOM), streamed."""
    lead_filter = selectors.lead_list(user=request.user, params=request.GET)
    queryset = lead_filter.qs
    audit_export(request, "leads")
    writer = SafeWriter(delimiter=";")
    status_labels = dict(LeadStatus.choices)
    source_labels = dict(Lead._meta.get_field("source").choices)
    origin_labels = dict(Lead._meta.get_field("origin").choices)

    def rows():
        yield "\ufeff"
        yield writer.writerow([str(label) for _name, label in EXPORT_COLUMNS])
        for lead in queryset.iterator(chunk_size=2000):
            yield writer.writerow(
                [
                    lead.first_name,
                    lead.last_name,
                    lead.email,
                    lead.phone,
                    lead.company,
                    lead.job_title,
                    status_labels.get(lead.status, lead.status),
                    source_labels.get(lead.source, lead.source),
                    origin_labels.get(lead.origin, lead.origin),
                    str(lead.partner) if lead.partner_id else "",
                    str(lead.owner) if lead.owner_id else "",
                    timezone.localtime(lead.created_at).strftime("%Y-%m-%d %H:%M"),
                    timezone.localtime(lead.status_changed_at).strftime("%Y-%m-%d %H:%M")
                    if lead.status_changed_at
                    else "",
                ]
            )

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    stamp = timezone.localdate().isoformat()
    response["Content-Disposition"] = f'attachment; filename="leads-{stamp}.csv"'
    return response


# --- one lead -------------------------------------------------------------------------


@require_GET
def lead_detail(request: HttpRequest, pk: int) -> HttpResponse:
    lead = _get_lead(request, pk)
    can_edit = services.can_edit_lead(request.user, lead) and not lead.is_read_only
    context = {
        "lead": lead,
        "can_edit": can_edit,
        "can_convert": services.can_convert_lead(request.user, lead),
        "path": lifecycle.lifecycle_path(lead),
        "actions": lifecycle.next_actions(lead) if can_edit else [],
        "toggles": lifecycle.toggles(lead),
        "status_changes": selectors.lead_status_changes(lead=lead),
        "activities": selectors.lead_activities(lead=lead),
        "converted_opportunity_url": _url("opportunities:detail", lead.converted_opportunity_id)
        if lead.converted_opportunity_id
        else None,
        "converted_account_url": _url("accounts:detail", lead.converted_account_id)
        if lead.converted_account_id
        else None,
        "converted_contact_url": _url("accounts:contact-detail", lead.converted_contact_id)
        if lead.converted_contact_id
        else None,
    }
    template = "leads/lead_detail.html"
    if request.htmx and request.GET.get("part") == "qualification":
        template += "#qualification"
    return render(request, template, context)


@require_POST
def lead_toggle(request: HttpRequest, pk: int) -> HttpResponse:
    """Turn one BANT flag or qualification level on or off, through the lead service.

    The value sent is the one wanted, not "flip": two people clicking the same toggle agree.
    """
    lead = _get_lead(request, pk)
    name = request.POST.get("field", "")
    if name not in lifecycle.TOGGLE_FIELDS:
        raise Http404
    wanted = request.POST.get("value") == "1"
    status, text, kind = 200, "", "success"
    try:
        services.lead_update(lead=lead, by=request.user, changes={name: wanted})
    except services.LeadReadOnlyError as exc:
        status, text, kind = 409, str(exc), "error"
    except PermissionError as exc:
        status, text, kind = 403, str(exc), "error"
    except ValidationError as exc:
        status, text, kind = 400, " ".join(exc.messages), "error"
    else:
        text = _("Qualification saved.")
    if not request.htmx:
        (messages.success if status == 200 else messages.error)(request, text)
        return redirect("leads:detail", pk=lead.pk)
    lead.refresh_from_db()
    can_edit = services.can_edit_lead(request.user, lead) and not lead.is_read_only
    context = {"lead": lead, "can_edit": can_edit, "toggles": lifecycle.toggles(lead)}
    response = render(request, "leads/lead_detail.html#qualification", context, status=status)
    trigger_client_event(response, "toast", {"text": text, "kind": kind})
    return trigger_client_event(response, "lead-changed", {"id": lead.pk})


@require_http_methods(["GET", "POST"])
def lead_create(request: HttpRequest) -> HttpResponse:
    form = LeadForm(request.POST or None, user=request.user, initial={"owner": request.user.pk})
    if request.method == "POST" and form.is_valid():
        try:
            lead = services.lead_create(by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Lead created."))
            return redirect("leads:detail", pk=lead.pk)
    return render(request, "leads/lead_form.html", {"form": form, "lead": None})


@require_http_methods(["GET", "POST"])
def lead_edit(request: HttpRequest, pk: int) -> HttpResponse:
    lead = _get_lead(request, pk)
    if lead.is_read_only or not services.can_edit_lead(request.user, lead):
        messages.error(
            request,
            str(services.LeadReadOnlyError(lead))
            if lead.is_read_only
            else _("You may not change this lead."),
        )
        return redirect("leads:detail", pk=lead.pk)
    form = LeadForm(request.POST or None, instance=lead, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            services.lead_update(lead=lead, by=request.user, changes=form.cleaned_data)
        except (services.LeadReadOnlyError, PermissionError) as exc:
            messages.error(request, str(exc))
            return redirect("leads:detail", pk=lead.pk)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Lead saved."))
            return redirect("leads:detail", pk=lead.pk)
    return render(request, "leads/lead_form.html", {"form": form, "lead": lead})


@require_POST
def lead_change_status(request: HttpRequest, pk: int) -> HttpResponse:
    lead = _get_lead(request, pk)
    form = StatusForm(request.POST, lead=lead)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect("leads:detail", pk=lead.pk)
    try:
        services.lead_change_status(
            lead=lead,
            to_status=form.cleaned_data["status"],
            by=request.user,
            reason=form.cleaned_data["reason"],
        )
    except ValidationError as exc:
        for error in exc.messages:
            messages.error(request, error)
    except (services.LeadReadOnlyError, PermissionError) as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request, _("Status changed to %(status)s.") % {"status": lead.get_status_display()}
        )
    return redirect("leads:detail", pk=lead.pk)


# --- conversion -----------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def lead_convert(request: HttpRequest, pk: int) -> HttpResponse:
    lead = _get_lead(request, pk)
    if lead.status == LeadStatus.CONVERTED:
        # A second submit, or the back button: show what the lead became.
        if request.method == "POST":
            messages.info(request, _("This lead has already been converted."))
            return redirect(converted_deal_on_board_url(lead))
        return redirect(conversion_target_url(lead))
    if not services.can_convert_lead(request.user, lead):
        messages.error(request, _("You may not convert this lead."))
        return redirect("leads:detail", pk=lead.pk)
    accounts = list(selectors.likely_duplicate_accounts(user=request.user, lead=lead))
    contacts = list(selectors.likely_duplicate_contacts(user=request.user, lead=lead))
    # Contacts of a proposed account with the lead's email come first.
    account_ids = {account.pk for account in accounts}
    for contact in contacts:
        if contact.account_id not in account_ids:
            accounts.append(contact.account)
            account_ids.add(contact.account_id)
    form = ConvertForm(
        request.POST or None,
        accounts=accounts,
        contacts=contacts,
        initial=_convert_initial(lead, accounts, contacts),
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            result = services.lead_convert(
                lead=lead,
                by=request.user,
                account=data["account_obj"],
                account_name=data["account_name"],
                contact=data["contact_obj"],
                create_opportunity=data["create_opportunity"],
                opportunity_name=data["opportunity_name"],
                amount=data["amount"],
                close_date=data["close_date"],
                opportunity_type=data["type"],
            )
        except services.LeadAlreadyConvertedError as exc:
            messages.info(request, str(exc))
            return redirect(converted_deal_on_board_url(exc.lead))
        except (services.LeadReadOnlyError, PermissionError) as exc:
            messages.error(request, str(exc))
            return redirect("leads:detail", pk=lead.pk)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _conversion_message(result))
            return redirect(converted_deal_on_board_url(result.lead))
    proposals = [
        {"account": account, "suggested_type": _type_label(suggested_type(account))}
        for account in accounts
    ]
    context = {
        "lead": lead,
        "form": form,
        "proposals": proposals,
        "contacts": contacts,
        "new_account_type": _type_label(suggested_type(None)),
        "currency": settings.CRM_CURRENCY,
    }
    return render(request, "leads/lead_convert.html", context)


def _type_label(value: str) -> str:
    return str(OpportunityType(value).label)


def _convert_initial(lead: Lead, accounts, contacts) -> dict:
    normalized = normalize_company_name(lead.company) if lead.company else None
    same_name = next((a for a in accounts if a.normalized_name == normalized), None)
    account = same_name or (accounts[0] if accounts and not lead.company else None)
    contact = next((c for c in contacts if account and c.account_id == account.pk), None)
    return {
        "account": str(account.pk) if account else NEW,
        "account_name": lead.company or str(lead),
        "contact": str(contact.pk) if contact else NEW,
        "create_opportunity": True,
        "opportunity_name": services.default_opportunity_name(lead),
        "close_date": services.default_close_date(),
    }


def _conversion_message(result: services.ConversionResult) -> str:
    parts = [
        (_("new account %(name)s") if result.created_account else _("account %(name)s"))
        % {"name": result.account},
        (_("new contact %(name)s") if result.created_contact else _("contact %(name)s"))
        % {"name": result.contact},
    ]
    if result.opportunity is not None:
        parts.append(_("opportunity %(name)s") % {"name": result.opportunity})
    return _("Lead converted: %(parts)s.") % {"parts": ", ".join(parts)}


# --- CSV import -----------------------------------------------------------------------


@csrf_exempt
@require_http_methods(["GET", "POST"])
def lead_import(request: HttpRequest) -> HttpResponse:
    _require_internal(request)
    # The limit must be in place before anything (the CSRF check included) reads the body.
    request.upload_handlers.insert(0, UploadLimitHandler(request))
    return _lead_import(request)


@csrf_protect
def _lead_import(request: HttpRequest) -> HttpResponse:
    form = ImportUploadForm()
    status = 200
    if request.method == "POST":
        length = int(request.META.get("CONTENT_LENGTH") or 0)
        # Refuse before reading the body when the request says it is too large.
        if length > settings.CRM_MAX_UPLOAD_BYTES + 64 * 1024:
            form = _upload_form_with_error(None, too_large_message())
            status = 413
        else:
            form = ImportUploadForm(request.POST, request.FILES)
            if getattr(request, "leads_upload_too_large", False):
                form = _upload_form_with_error("file", too_large_message())
                status = 413
            elif form.is_valid():
                try:
                    job, ignored, removed_nuls = importing.create_job(
                        upload=form.cleaned_data["file"], by=request.user
                    )
                except importing.ImportFileError as exc:
                    form.add_error("file", str(exc))
                else:
                    if removed_nuls:
                        messages.info(
                            request,
                            ngettext(
                                "%(count)s invisible NUL character was removed from the file.",
                                "%(count)s invisible NUL characters were removed from the file.",
                                removed_nuls,
                            )
                            % {"count": removed_nuls},
                        )
                    if ignored:
                        messages.info(
                            request,
                            _("Columns not imported: %(columns)s.")
                            % {"columns": ", ".join(ignored[:20])},
                        )
                    return redirect("leads:import-preview", pk=job.pk)
    return render(
        request,
        "leads/lead_import.html",
        {
            "form": form,
            "headers": importing.HEADER_ALIASES,
            "labels": importing.FIELD_LABELS,
            "sources": [str(label) for label in Source.labels],
        },
        status=status,
    )


def _upload_form_with_error(field: str | None, message: str) -> ImportUploadForm:
    form = ImportUploadForm(data={}, files={})
    form.full_clean()
    form.errors.clear()
    form.add_error(field, message)
    return form


@require_GET
def lead_import_preview(request: HttpRequest, pk: int) -> HttpResponse:
    job = _get_job(request, pk)
    if job.status != ImportJob.Status.PREVIEWED:
        return redirect("leads:import-result", pk=job.pk)
    summary = importing.preview(job)
    columns = [importing.FIELD_LABELS[name] for name in job.mapping.values()]
    context = {
        "job": job,
        "summary": summary,
        "columns": columns,
        "fields": list(job.mapping.values()),
    }
    return render(request, "leads/lead_import_preview.html", context)


@require_POST
def lead_import_confirm(request: HttpRequest, pk: int) -> HttpResponse:
    """Hand the import to a worker and show its progress: it goes on if the page closes."""
    job = _get_job(request, pk)
    importing.import_start(job=job)
    return redirect("leads:import-result", pk=job.pk)


@require_GET
def lead_import_result(request: HttpRequest, pk: int) -> HttpResponse:
    """The import's progress while a worker imports, then its result. With HTMX, only the
    status region (which asks again every second until the import is done)."""
    job = _get_job(request, pk)
    if job.status == ImportJob.Status.PREVIEWED:
        return redirect("leads:import-preview", pk=job.pk)
    template = "leads/lead_import_result.html"
    if request.htmx:
        template += "#import-status"
    return render(request, template, {"job": job})


@require_GET
def lead_import_rejected(request: HttpRequest, pk: int) -> HttpResponse:
    """The rejected rows with their reasons: as imported, or as the preview sees them."""
    job = _get_job(request, pk)
    audit_export(request, f"lead import {job.pk} rejected rows")
    return rejected_rows_response(
        kept=job.rejected_content if job.status == ImportJob.Status.DONE else None,
        header=importing.rejected_header(job),
        results=importing.iter_results(job),
        filename=f"rejected-{job.pk}.csv",
    )


@require_GET
def lead_import_template(request: HttpRequest) -> HttpResponse:
    _require_internal(request)
    language = (get_language() or "fr")[:2]
    response = HttpResponse(
        "\ufeff" + importing.template_csv(language), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = 'attachment; filename="leads-template.csv"'
    return response


# --- public web-to-lead form ----------------------------------------------------------


@login_not_required
@require_http_methods(["GET", "POST"])
def web_to_lead(request: HttpRequest) -> HttpResponse:
    """The form a website links to. Shows nothing of the CRM, whoever looks at it."""
    form = WebToLeadForm(request.POST or None)
    if request.method == "POST":
        ip = request.META.get("REMOTE_ADDR") or "0.0.0.0"
        if not services.public_form_allowed(ip_address=ip, rate=settings.CRM_PUBLIC_FORM_RATE):
            return render(
                request, "leads/web_to_lead.html", {"form": form, "rate_limited": True}, status=429
            )
        if form.is_robot:
            # Robots are thanked like people, and nothing is recorded.
            return redirect("web-to-lead-thanks")
        if form.is_valid():
            data = {k: v for k, v in form.cleaned_data.items() if k != "website"}
            try:
                services.web_lead_create(**data)
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                return redirect("web-to-lead-thanks")
    return render(request, "leads/web_to_lead.html", {"form": form})


@login_not_required
@require_GET
def web_to_lead_thanks(request: HttpRequest) -> HttpResponse:
    return render(request, "leads/web_to_lead_thanks.html")
