from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from climcrm.audit import audit_export
from climcrm.csvexport import csv_response, yes_no
from climcrm.figures import plain
from climcrm.forms import add_service_errors
from climcrm.permissions import can_edit_opportunity
from climcrm.roles import is_channel_manager, is_internal, is_partner_user
from climcrm.text import parse_id
from climcrm.visibility import get_visible_or_404
from forecasting.reports.reliability import partner_reliability
from opportunities.services import StaleVersionError
from opportunities.visibility import visible_opportunities
from partners import selectors, services
from partners.forms import (
    AcceptRegistrationForm,
    AppealForm,
    AssignFilterForm,
    AssignForm,
    ConflictDecisionForm,
    ConflictFilterForm,
    DealRegistrationForm,
    DecisionReasonForm,
    RegistrationFilterForm,
    TargetFormSet,
)
from partners.models import MatchKey, RegistrationStatus


def _internal_or_404(request: HttpRequest) -> None:
    """Partner management is internal: anyone else must not learn the page exists."""
    if not is_internal(request.user):
        raise Http404


def _channel_manager_or_404(request: HttpRequest) -> None:
    if not is_channel_manager(request.user):
        raise Http404


def _url_or_none(name: str, *args) -> str | None:
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return None


def _error_text(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return " ".join(exc.messages)
    return str(exc)


def _page(request: HttpRequest, queryset):
    return Paginator(queryset, settings.CRM_PAGE_SIZE).get_page(request.GET.get("page"))


def _template(request: HttpRequest, name: str, partial: str = "results") -> str:
    if request.htmx and not request.htmx.boosted:
        return f"{name}#{partial}"
    return name


# Partner management -----------------------------------------------------------------


@require_GET
def partner_list(request: HttpRequest) -> HttpResponse:
    _internal_or_404(request)
    partners = selectors.partner_list(user=request.user, params=request.GET)
    return render(
        request,
        _template(request, "partners/partner_list.html"),
        {
            "page_obj": _page(request, partners),
            "ordering": request.GET.get("ordering", "account__name"),
            "query": request.GET.get("q", ""),
            "show_all": request.GET.get("active") == "all",
            "mine": bool(request.GET.get("mine")),
            "can_assign": is_channel_manager(request.user),
        },
    )


PARTNER_EXPORT_HEADER = [
    gettext_lazy("Partner"),
    gettext_lazy("Channel manager"),
    gettext_lazy("Contract start"),
    gettext_lazy("Contract end"),
    gettext_lazy("Active"),
    gettext_lazy("Users"),
    gettext_lazy("Open deals"),
    gettext_lazy("Open pipeline"),
    gettext_lazy("Weighted"),
    gettext_lazy("Won this year"),
    gettext_lazy("Registrations to decide"),
]


@require_GET
def partner_export(request: HttpRequest):
    """The filtered partner list as CSV (climcrm.csvexport's rule)."""
    _internal_or_404(request)
    partners = selectors.partner_list(user=request.user, params=request.GET)
    audit_export(request, "partner_list")
    rows = (
        [
            partner.account.name,
            str(partner.channel_manager) if partner.channel_manager_id else "",
            partner.contract_start.isoformat() if partner.contract_start else "",
            partner.contract_end.isoformat() if partner.contract_end else "",
            yes_no(partner.is_active),
            partner.user_count,
            partner.open_count,
            plain(partner.open_amount),
            plain(partner.open_weighted),
            plain(partner.won_amount),
            partner.pending_registrations,
        ]
        for partner in partners.iterator(chunk_size=500)
    )
    return csv_response(filename="partners", header=PARTNER_EXPORT_HEADER, rows=rows)


def _plan_year(request: HttpRequest) -> int:
    raw = request.POST.get("year") or request.GET.get("year") or ""
    year = parse_id(raw) or timezone.localdate().year
    return min(max(year, 2000), 2100)


def _detail_context(request: HttpRequest, partner, year: int, formset=None) -> dict:
    plan = selectors.business_plan(partner=partner, year=year)
    can_edit_plan = is_channel_manager(request.user)
    if can_edit_plan and formset is None:
        formset = TargetFormSet(
            initial=[
                {
                    "quarter": row["quarter"],
                    "revenue": row["revenue"],
                    "new_customers": row["new_customers"],
                    "leads": row["leads"],
                }
                for row in plan
            ]
        )
    return {
        "partner": partner,
        "users": selectors.partner_users(partner),
        "by_stage": selectors.partner_pipeline(user=request.user, partner=partner),
        "plan": plan,
        "plan_totals": {
            "revenue": sum(row["revenue"] or 0 for row in plan),
            "new_customers": sum(row["new_customers"] or 0 for row in plan),
            "leads": sum(row["leads"] or 0 for row in plan),
            "won_revenue": sum(row["won_revenue"] for row in plan),
            "registrations": sum(row["registrations"] for row in plan),
        },
        "year": year,
        "years": [year - 1, year + 1],
        "formset": formset if can_edit_plan else None,
        "pending": selectors.registration_queue(
            user=request.user, params={"partner": str(partner.pk)}
        )[:10],
        "reviews_url": _url_or_none("pipeline_reviews:list"),
        "can_assign": is_channel_manager(request.user),
        "reliability": partner_reliability(user=request.user, partner_id=partner.pk),
    }


@require_GET
def partner_detail(request: HttpRequest, pk: int) -> HttpResponse:
    _internal_or_404(request)
    partner = selectors.partner_get(user=request.user, pk=pk)
    return render(
        request,
        "partners/partner_detail.html",
        _detail_context(request, partner, _plan_year(request)),
    )


@require_POST
def partner_targets(request: HttpRequest, pk: int) -> HttpResponse:
    _channel_manager_or_404(request)
    partner = selectors.partner_get(user=request.user, pk=pk)
    year = _plan_year(request)
    formset = TargetFormSet(request.POST)
    if formset.is_valid():
        try:
            services.partner_targets_save(
                partner=partner, by=request.user, year=year, rows=formset.cleaned_data
            )
        except PermissionError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, _("Business plan %(year)s saved.") % {"year": year})
            return redirect(f"{reverse('partners:detail', args=[partner.pk])}?year={year}#plan")
    return render(
        request,
        "partners/partner_detail.html",
        _detail_context(request, partner, year, formset=formset),
        status=200,
    )


# Partner portal ---------------------------------------------------------------------


@require_GET
def portal(request: HttpRequest) -> HttpResponse:
    if is_internal(request.user):
        return redirect("partners:list")
    if not is_partner_user(request.user):
        raise Http404
    context = selectors.portal_context(user=request.user)
    context["partner"] = request.user.partner
    context["reviews_url"] = _url_or_none("pipeline_reviews:list")
    context["kanban_url"] = _url_or_none("opportunities:kanban")
    context["edit_available"] = _url_or_none("opportunities:edit", 0) is not None
    context["detail_available"] = _url_or_none("opportunities:detail", 0) is not None
    context["toggle_available"] = _url_or_none("activities:toggle", 0) is not None
    return render(request, "partners/portal.html", context)


# Deal registration ------------------------------------------------------------------


@require_GET
def registration_list(request: HttpRequest) -> HttpResponse:
    params = request.GET.copy()
    if "status" not in params and is_partner_user(request.user):
        params["status"] = ""
    filters = RegistrationFilterForm(
        params or None, user=request.user, initial={"status": RegistrationStatus.SUBMITTED}
    )
    filters.is_valid()
    queue = selectors.registration_queue(user=request.user, params=params)
    return render(
        request,
        _template(request, "partners/registration_list.html"),
        {
            "filters": filters,
            "page_obj": _page(request, queue),
            "ordering": request.GET.get("ordering", "-submitted_at"),
            "can_decide": services.can_decide_registrations(request.user),
            "status": params.get("status", RegistrationStatus.SUBMITTED.value),
        },
    )


REGISTRATION_EXPORT_HEADER = [
    gettext_lazy("Company"),
    gettext_lazy("Partner"),
    gettext_lazy("Contact"),
    gettext_lazy("Contact email"),
    gettext_lazy("Contact phone"),
    gettext_lazy("Estimated amount"),
    gettext_lazy("Expected close date"),
    gettext_lazy("Submitted"),
    gettext_lazy("Status"),
    gettext_lazy("Reason"),
    gettext_lazy("Protected until"),
]


@require_GET
def registration_export(request: HttpRequest):
    """The registrations the list shows, as CSV; a partner user gets only theirs."""
    params = request.GET.copy()
    if "status" not in params and is_partner_user(request.user):
        params["status"] = ""
    queue = selectors.registration_queue(user=request.user, params=params)
    audit_export(request, "registration_list")
    rows = (
        [
            registration.company_name,
            registration.partner.account.name,
            registration.contact_name,
            registration.contact_email,
            registration.contact_phone,
            plain(registration.estimated_amount),
            registration.expected_close_date.isoformat()
            if registration.expected_close_date
            else "",
            timezone.localtime(registration.submitted_at).strftime("%Y-%m-%d %H:%M"),
            registration.get_status_display(),
            registration.decision_reason,
            registration.protected_until.isoformat() if registration.protected_until else "",
        ]
        for registration in queue.iterator(chunk_size=1000)
    )
    return csv_response(filename="registrations", header=REGISTRATION_EXPORT_HEADER, rows=rows)


@require_http_methods(["GET", "POST"])
def registration_create(request: HttpRequest) -> HttpResponse:
    if not (is_partner_user(request.user) or is_internal(request.user)):
        raise Http404
    form = DealRegistrationForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            registration = services.registration_submit(
                by=request.user, partner=form.cleaned_data.get("partner"), **form.values()
            )
        except (ValidationError, PermissionError) as exc:
            form.add_error(None, _error_text(exc))
        else:
            messages.success(
                request,
                _("Your registration for %(company)s was submitted to the channel manager.")
                % {"company": registration.company_name},
            )
            return redirect("partners:registration-detail", pk=registration.pk)
    return render(request, "partners/registration_form.html", {"form": form})


def _decision_context(request: HttpRequest, registration, **forms) -> dict:
    can_appeal = services.can_appeal(request.user, registration)
    context = {
        "registration": registration,
        "missing": services.missing_mandatory_fields(registration),
        "events": registration.events.select_related("by"),
        "can_edit": services.can_edit_registration(request.user, registration),
        "conflict_refusal": registration.conflict_refusal,
        "can_appeal": can_appeal,
        "appeal_form": (forms.get("appeal_form") or AppealForm()) if can_appeal else None,
        "can_decide": services.can_decide_registrations(request.user)
        and registration.status == RegistrationStatus.SUBMITTED,
        "can_renew": services.can_decide_registrations(request.user)
        and registration.status == RegistrationStatus.ACCEPTED,
        "opportunity_url": _url_or_none("opportunities:detail", registration.opportunity_id)
        if registration.opportunity_id
        and visible_opportunities(request.user).filter(pk=registration.opportunity_id).exists()
        else None,
    }
    if is_internal(request.user):
        context["conflicts"] = selectors.registration_conflicts(
            user=request.user, registration=registration
        )
        context["conflict_links"] = [
            (kind, MatchKey(kind).label) for kind in context["conflicts"]["kinds"]
        ]
    if context["can_decide"]:
        accounts = selectors.duplicate_accounts(user=request.user, registration=registration)
        contacts = selectors.duplicate_contacts(user=request.user, registration=registration)
        context["duplicate_accounts"] = accounts
        context["accept_form"] = forms.get("accept_form") or AcceptRegistrationForm(
            registration=registration, accounts=accounts, contacts=contacts, user=request.user
        )
        context["reject_form"] = forms.get("reject_form") or DecisionReasonForm(prefix="reject")
        context["return_form"] = forms.get("return_form") or DecisionReasonForm(prefix="return")
    return context


@require_GET
def registration_detail(request: HttpRequest, pk: int) -> HttpResponse:
    registration = selectors.registration_get(user=request.user, pk=pk)
    return render(
        request, "partners/registration_detail.html", _decision_context(request, registration)
    )


@require_http_methods(["GET", "POST"])
def registration_edit(request: HttpRequest, pk: int) -> HttpResponse:
    registration = selectors.registration_get(user=request.user, pk=pk)
    if not services.can_edit_registration(request.user, registration):
        messages.error(request, _("This registration can no longer be changed."))
        return redirect("partners:registration-detail", pk=registration.pk)
    form = DealRegistrationForm(request.POST or None, instance=registration, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            services.registration_update(
                registration=registration, by=request.user, changes=form.values()
            )
        except (ValidationError, PermissionError) as exc:
            form.add_error(None, _error_text(exc))
        else:
            messages.success(request, _("The registration was saved."))
            return redirect("partners:registration-detail", pk=registration.pk)
    return render(
        request, "partners/registration_form.html", {"form": form, "registration": registration}
    )


def _decision_failed(request, registration, exc, **forms) -> HttpResponse:
    messages.error(request, _error_text(exc))
    registration.refresh_from_db()
    return render(
        request,
        "partners/registration_detail.html",
        _decision_context(request, registration, **forms),
        status=200,
    )


@require_POST
def registration_accept(request: HttpRequest, pk: int) -> HttpResponse:
    _channel_manager_or_404(request)
    registration = selectors.registration_get(user=request.user, pk=pk)
    accounts = selectors.duplicate_accounts(user=request.user, registration=registration)
    contacts = selectors.duplicate_contacts(user=request.user, registration=registration)
    form = AcceptRegistrationForm(
        request.POST,
        registration=registration,
        accounts=accounts,
        contacts=contacts,
        user=request.user,
    )
    if not form.is_valid():
        return _decision_failed(
            request,
            registration,
            ValidationError(_("Check the acceptance form.")),
            accept_form=form,
        )
    try:
        result = services.registration_accept(
            registration=registration,
            by=request.user,
            owner=form.cleaned_data["owner"],
            account=form.chosen_account(),
            contact=form.chosen_contact(),
        )
    except (ValidationError, PermissionError) as exc:
        return _decision_failed(request, registration, exc, accept_form=form)
    messages.success(
        request,
        _("Registration accepted: the deal “%(deal)s” is assigned to %(partner)s.")
        % {"deal": result.opportunity.name, "partner": registration.partner},
    )
    return redirect("partners:registration-detail", pk=registration.pk)


def _decide_with_reason(request: HttpRequest, pk: int, *, prefix: str, service, done: str):
    _channel_manager_or_404(request)
    registration = selectors.registration_get(user=request.user, pk=pk)
    form = DecisionReasonForm(request.POST, prefix=prefix)
    if not form.is_valid():
        return _decision_failed(
            request,
            registration,
            ValidationError(_("Give the reason: the partner will read it.")),
            **{f"{prefix}_form": form},
        )
    try:
        service(registration=registration, by=request.user, reason=form.cleaned_data["reason"])
    except (ValidationError, PermissionError) as exc:
        return _decision_failed(request, registration, exc, **{f"{prefix}_form": form})
    messages.success(request, done)
    return redirect("partners:registration-queue")


@require_POST
def registration_reject(request: HttpRequest, pk: int) -> HttpResponse:
    return _decide_with_reason(
        request,
        pk,
        prefix="reject",
        service=services.registration_reject,
        done=_("Registration rejected; the partner was told why."),
    )


@require_POST
def registration_return(request: HttpRequest, pk: int) -> HttpResponse:
    return _decide_with_reason(
        request,
        pk,
        prefix="return",
        service=services.registration_return,
        done=_("Registration returned to the partner for more information."),
    )


@require_POST
def registration_appeal(request: HttpRequest, pk: int) -> HttpResponse:
    """The refused partner returns the registration once, with new information."""
    registration = selectors.registration_get(user=request.user, pk=pk)
    form = AppealForm(request.POST)
    if not form.is_valid():
        if services.can_appeal(request.user, registration):
            return _decision_failed(
                request,
                registration,
                ValidationError(_("Say what is new: the channel manager decides again.")),
                appeal_form=form,
            )
        messages.error(request, _("This registration cannot be appealed."))
        return redirect("partners:registration-detail", pk=registration.pk)
    try:
        services.registration_appeal(
            registration=registration, by=request.user, text=form.cleaned_data["appeal"]
        )
    except (ValidationError, PermissionError) as exc:
        messages.error(request, _error_text(exc))
    else:
        messages.success(
            request,
            _("Your appeal was sent: the channel manager will decide again on this registration."),
        )
    return redirect("partners:registration-detail", pk=registration.pk)


@require_POST
def registration_renew(request: HttpRequest, pk: int) -> HttpResponse:
    _channel_manager_or_404(request)
    registration = selectors.registration_get(user=request.user, pk=pk)
    try:
        services.registration_renew(registration=registration, by=request.user)
    except (ValidationError, PermissionError) as exc:
        messages.error(request, _error_text(exc))
    else:
        messages.success(request, _("Protection renewed."))
    return redirect("partners:registration-detail", pk=registration.pk)


# Conflicts between partners ---------------------------------------------------------


@require_GET
def conflict_queue(request: HttpRequest) -> HttpResponse:
    """Competing registrations of the same customer by different partners, grouped."""
    _internal_or_404(request)
    scoped = selectors.conflict_scope(user=request.user, params={}) == "mine"
    filters = ConflictFilterForm(
        request.GET or None, scoped=scoped, initial={"scope": "mine"} if scoped else {}
    )
    filters.is_valid()
    page = _page(request, selectors.conflict_groups(user=request.user, params=request.GET))
    return render(
        request,
        _template(request, "partners/conflict_queue.html"),
        {
            "filters": filters,
            "page_obj": page,
            "groups": selectors.conflict_groups_with_members(page.object_list),
            "can_decide": services.can_decide_registrations(request.user),
        },
    )


def _conflict_or_404(request: HttpRequest, pk: int, kind: str):
    _internal_or_404(request)
    if kind not in MatchKey.values:
        raise Http404
    registration = selectors.registration_get(user=request.user, pk=pk)
    group = selectors.conflict_group(user=request.user, registration=registration, kind=kind)
    if group is None:
        raise Http404
    return registration, group


def _group_accounts(request: HttpRequest, group) -> list:
    """Existing accounts the customer may be, from the registrations that may be accepted."""
    candidates = [m for m in group.members if m.status == RegistrationStatus.SUBMITTED]
    return selectors.group_duplicate_accounts(user=request.user, registrations=candidates)


def _conflict_context(request: HttpRequest, group, form=None) -> dict:
    is_open = group.partner_count >= 2 and bool(group.pending)
    can_decide = is_open and services.can_decide_registrations(request.user)
    if can_decide and form is None:
        form = ConflictDecisionForm(
            group=group, accounts=_group_accounts(request, group), user=request.user
        )
    return {
        "group": group,
        "is_open": is_open,
        "form": form if can_decide else None,
        "decisions": selectors.conflict_decisions(
            user=request.user, kind=group.kind, key=group.key
        ),
    }


@require_GET
def conflict_detail(request: HttpRequest, pk: int, kind: str) -> HttpResponse:
    """The competing registrations side by side, and the channel manager's decision."""
    group = _conflict_or_404(request, pk, kind)[1]
    return render(request, "partners/conflict_detail.html", _conflict_context(request, group))


@require_POST
def conflict_decide(request: HttpRequest, pk: int, kind: str) -> HttpResponse:
    _channel_manager_or_404(request)
    group = _conflict_or_404(request, pk, kind)[1]
    form = ConflictDecisionForm(
        request.POST, group=group, accounts=_group_accounts(request, group), user=request.user
    )
    if form.is_valid():
        account = form.chosen_account()
        winner = next((m for m in group.members if m.pk == form.winner_id()), None)
        contact = None
        if account is not None and winner is not None and winner.contact_email:
            contact = account.contacts.filter(email__iexact=winner.contact_email).first()
        try:
            result = services.conflict_decide(
                by=request.user,
                kind=group.kind,
                key=group.key,
                seen=form.cleaned_data["seen"],
                winner_id=form.winner_id(),
                reason=form.cleaned_data["reason"],
                message=form.cleaned_data["message"],
                refusal=form.cleaned_data["refusal"],
                owner=form.cleaned_data["owner"],
                account=account,
                contact=contact,
            )
        except (ValidationError, PermissionError) as exc:
            if isinstance(exc, ValidationError) and hasattr(exc, "error_dict"):
                add_service_errors(form, exc)
            else:
                form.add_error(None, _error_text(exc))
        else:
            refused = len(result.refused)
            if result.accepted is not None:
                text = ngettext(
                    "Conflict decided: the deal “%(deal)s” was created and %(count)s other "
                    "registration was refused.",
                    "Conflict decided: the deal “%(deal)s” was created and %(count)s other "
                    "registrations were refused.",
                    refused,
                ) % {"deal": result.accepted.opportunity.name, "count": refused}
            else:
                text = ngettext(
                    "Conflict decided: %(count)s registration was refused.",
                    "Conflict decided: %(count)s registrations were refused.",
                    refused,
                ) % {"count": refused}
            messages.success(request, text)
            return redirect("partners:conflict-queue")
    messages.error(request, _("The conflict was not decided: check the form."))
    return render(
        request, "partners/conflict_detail.html", _conflict_context(request, group, form=form)
    )


# Assignment -------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def assign(request: HttpRequest) -> HttpResponse:
    """Assign or re-assign many deals at once to a partner."""
    _channel_manager_or_404(request)
    if request.method == "POST":
        form = AssignForm(request.POST)
        ids = [i for i in map(parse_id, request.POST.getlist("opportunities")) if i is not None]
        if not ids:
            messages.error(request, _("Select at least one deal."))
        elif form.is_valid():
            deals = visible_opportunities(request.user).filter(pk__in=ids).select_related("partner")
            result = services.opportunities_assign_partner(
                opportunities=list(deals),
                partner=form.cleaned_data["partner"],
                by=request.user,
                # Each row of the list carries the version of its deal the page showed.
                expected_versions={pk: request.POST.get(f"version-{pk}") for pk in ids},
            )
            if result.changed:
                messages.success(
                    request,
                    ngettext(
                        "%(count)s deal assigned.",
                        "%(count)s deals assigned.",
                        len(result.changed),
                    )
                    % {"count": len(result.changed)},
                )
            for deal, reason in result.failed:
                messages.error(
                    request, _("%(deal)s: %(reason)s") % {"deal": deal.name, "reason": reason}
                )
        else:
            messages.error(request, _("Choose a valid partner."))
        return redirect(f"{reverse('partners:assign')}?{request.GET.urlencode()}")
    filters = AssignFilterForm(request.GET or None)
    deals = selectors.assignable_opportunities(user=request.user, params=request.GET)
    return render(
        request,
        _template(request, "partners/assign_list.html"),
        {
            "filters": filters,
            "assign_form": AssignForm(),
            "page_obj": _page(request, deals),
            "ordering": request.GET.get("ordering", "close_date"),
        },
    )


@require_http_methods(["GET", "POST"])
def assign_one(request: HttpRequest, pk: int) -> HttpResponse:
    _channel_manager_or_404(request)
    deal = get_visible_or_404(
        visible_opportunities(request.user).select_related("account", "partner__account", "owner"),
        pk=pk,
    )
    form = AssignForm(request.POST or None, initial={"partner": deal.partner_id})
    if request.method == "POST" and form.is_valid():
        try:
            changed = services.opportunity_assign_partner(
                opportunity=deal,
                partner=form.cleaned_data["partner"],
                by=request.user,
                expected_version=request.POST.get("version"),
            )
        except (ValidationError, PermissionError, StaleVersionError) as exc:
            form.add_error(None, _error_text(exc))
        else:
            if changed:
                messages.success(request, _("The deal's partner was changed."))
            return redirect(_url_or_none("opportunities:detail", deal.pk) or "partners:assign")
    return render(
        request,
        "partners/assign_one.html",
        {
            "deal": deal,
            "form": form,
            "deal_url": _url_or_none("opportunities:detail", deal.pk),
            "may_edit": can_edit_opportunity(request.user, deal),
        },
    )
