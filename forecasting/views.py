from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from accounts.visibility import visible_partners
from climcrm.audit import audit_export
from climcrm.charts import waterfall as waterfall_chart
from climcrm.csvexport import SafeWriter
from climcrm.figures import plain, rounded
from climcrm.forms import add_service_errors
from climcrm.periods import KINDS, MONTH, QUARTER, last_periods, parse_period
from climcrm.roles import is_internal, is_manager, is_partner_user
from climcrm.text import parse_id
from forecasting import reports
from forecasting.forms import ChangesForm, TargetForm
from forecasting.models import Target
from forecasting.scopes import (
    CHANNEL,
    PARTNER,
    REP,
    SCOPE_KINDS,
    TEAM,
    Scope,
    parse_scope,
    scope_choices,
)
from forecasting.services import target_delete, target_set
from opportunities.models import ForecastCategory

GROUP_CHOICES = [
    (REP, SCOPE_KINDS[REP]),
    (TEAM, SCOPE_KINDS[TEAM]),
    (PARTNER, SCOPE_KINDS[PARTNER]),
    (CHANNEL, SCOPE_KINDS[CHANNEL]),
]


def _require_reporting_user(request: HttpRequest) -> None:
    if not (is_internal(request.user) or is_partner_user(request.user)):
        raise Http404


def _report_params(request: HttpRequest) -> dict:
    kind = request.GET.get("kind")
    period = parse_period(
        request.GET.get("period"), kind if kind in (MONTH, QUARTER, "year") else None
    )
    scope = parse_scope(request.GET.get("scope"), user=request.user)
    return {"period": period, "scope": scope}


def _common_context(request: HttpRequest, params: dict) -> dict:
    partner = is_partner_user(request.user)
    return {
        **params,
        "kinds": KINDS,
        "scope_options": []
        if partner
        else scope_choices(user=request.user, alias=reports.common.reports_db()),
        "is_partner": partner,
        "can_edit_targets": is_manager(request.user),
    }


@require_GET
def forecast(request: HttpRequest) -> HttpResponse:
    _require_reporting_user(request)
    params = _report_params(request)
    group = request.GET.get("group") or REP
    report = reports.forecast.forecast_report(user=request.user, group=group, **params)
    context = {
        **_common_context(request, params),
        "report": report,
        "group": report.group,
        "groups": [] if is_partner_user(request.user) else GROUP_CHOICES,
        "group_label": dict(GROUP_CHOICES)[report.group],
        "query": urlencode(
            {"period": report.period.key, "scope": report.scope.key, "group": report.group}
        ),
    }
    template = "forecasting/forecast.html"
    if request.htmx and not request.htmx.boosted:
        template += "#report"
    return render(request, template, context)


def _paginated(request: HttpRequest, queryset):
    return Paginator(queryset, settings.CRM_PAGE_SIZE).get_page(request.GET.get("page"))


@require_GET
def forecast_drilldown(request: HttpRequest) -> HttpResponse:
    _require_reporting_user(request)
    params = _report_params(request)
    column = request.GET.get("column") or "all"
    if column not in reports.common.COLUMN_FILTERS:
        raise Http404
    deals = reports.forecast.forecast_drilldown(
        user=request.user,
        group=request.GET.get("group") or REP,
        key=request.GET.get("key") or "total",
        column=column,
        **params,
    )
    page_obj = _paginated(request, deals)
    context = {
        **params,
        "page_obj": page_obj,
        "deals": page_obj.object_list,
        "totals": reports.common.deal_totals(deals),
        "title": _("Deals behind the figure"),
        "back_url": "forecasting:forecast",
    }
    template = "forecasting/deal_list.html"
    if request.htmx and not request.htmx.boosted:
        template += "#drill"
    return render(request, template, context)


@require_GET
def forecast_export(request: HttpRequest) -> HttpResponse:
    _require_reporting_user(request)
    params = _report_params(request)
    report = reports.forecast.forecast_report(
        user=request.user, group=request.GET.get("group") or REP, **params
    )
    audit_export(request, "forecast")
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="forecast-{report.period.key}.csv"'
    response.write("\ufeff")
    # As the deals' export: semicolons, exact figures with a decimal point.
    writer = SafeWriter(response)
    names = [
        ("closed", ForecastCategory.CLOSED.label),
        ("commit", ForecastCategory.COMMIT.label),
        ("best_case", ForecastCategory.BEST_CASE.label),
        ("pipeline", ForecastCategory.PIPELINE.label),
        ("weighted", _("Weighted pipeline")),
        ("commit_forecast", _("Commit forecast")),
        ("best_case_forecast", _("Best Case forecast")),
        ("open_pipeline", _("Open pipeline")),
        ("target", _("Target")),
        ("coverage", _("Coverage")),
    ]
    writer.writerow(
        [_("Period"), str(dict(GROUP_CHOICES)[report.group])] + [label for _n, label in names]
    )
    for row in [*report.rows, {**report.total, "label": _("Total")}]:
        writer.writerow(
            [report.period.key, row["label"]]
            + [plain(row[name]) for name, _label in names if name != "coverage"]
            # A ratio has no last digit: two decimals, rounded once here.
            + [plain(rounded(row["coverage"], 2))]
        )
    return response


@require_http_methods(["GET", "POST"])
def targets(request: HttpRequest) -> HttpResponse:
    if not is_internal(request.user):
        raise Http404
    partners = list(
        visible_partners(request.user).select_related("account").order_by("account__name")
    )
    form = TargetForm(request.POST or None, partners=partners)
    if request.method == "POST":
        if not is_manager(request.user):
            raise PermissionDenied
        if "delete" in request.POST:
            target_id = parse_id(request.POST.get("delete"))
            if target_id is None:
                raise Http404
            target = Target.objects.filter(pk=target_id).first()
            if target is None:
                raise Http404
            target_delete(by=request.user, target=target)
            messages.success(request, _("Target removed."))
            return redirect(f"{request.path}?year={target.year}")
        if form.is_valid():
            data = form.cleaned_data
            try:
                target_set(
                    by=request.user,
                    year=data["year"],
                    quarter=data["quarter"],
                    amount=data["amount"],
                    **data["target_for"],
                )
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, _("Target saved."))
                return redirect(f"{request.path}?year={data['year']}")
    year_param = request.GET.get("year") or ""
    year = (
        int(year_param)
        if year_param.isascii() and year_param.isdigit() and 2000 <= int(year_param) <= 2100
        else form.fields["year"].initial
    )
    rows = (
        Target.objects.filter(year=year)
        .select_related("user", "partner__account")
        .order_by("partner__account__name", "user__last_name", "user__first_name", "quarter")
    )
    return render(
        request,
        "forecasting/targets.html",
        {"form": form, "targets": rows, "year": year, "can_edit_targets": is_manager(request.user)},
    )


@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    _require_reporting_user(request)
    params = _report_params(request)
    report = reports.metrics.metrics_report(user=request.user, **params)
    context = {**_common_context(request, params), "report": report}
    return render(request, "forecasting/metrics.html", context)


def _changes_range(request: HttpRequest) -> tuple[ChangesForm, tuple]:
    default_start, default_end = ChangesForm.default_range()
    data = {
        "start": request.GET.get("start") or default_start.isoformat(),
        "end": request.GET.get("end") or default_end.isoformat(),
    }
    form = ChangesForm(data)
    if form.is_valid():
        return form, (form.cleaned_data["start"], form.cleaned_data["end"])
    return form, (default_start, default_end)


CHANGE_LABELS = {
    "new": gettext_lazy("New deals"),
    "advanced": gettext_lazy("Advanced"),
    "moved_back": gettext_lazy("Moved back"),
    "won": gettext_lazy("Won"),
    "lost": gettext_lazy("Lost"),
    "slipped": gettext_lazy("Slipped"),
    "amount_up": gettext_lazy("Amount up"),
    "amount_down": gettext_lazy("Amount down"),
    "moved_in": gettext_lazy("Moved into the scope"),
    "moved_out": gettext_lazy("Moved out of the scope"),
}
# The waterfall's steps (``reports.changes.pipeline_waterfall``).
WATERFALL_LABELS = {
    "new": gettext_lazy("New deals"),
    "moved_in": gettext_lazy("Moved into the scope"),
    "reopened": gettext_lazy("Reopened"),
    "pulled_in": gettext_lazy("Close date brought forward"),
    "increases": gettext_lazy("Amount up"),
    "decreases": gettext_lazy("Amount down"),
    "won": gettext_lazy("Won"),
    "lost": gettext_lazy("Lost"),
    "slipped": gettext_lazy("Slipped"),
    "moved_out": gettext_lazy("Moved out of the scope"),
}


def _waterfall_bars(waterfall: dict) -> list[dict]:
    names = (*reports.changes.WATERFALL_UP, *reports.changes.WATERFALL_DOWN)
    steps = [
        (
            name,
            WATERFALL_LABELS[name],
            waterfall["steps"][name]["amount"],
            waterfall["steps"][name]["count"],
        )
        for name in names
    ]
    return waterfall_chart(waterfall["start"], steps, waterfall["end"])


@require_GET
def changes(request: HttpRequest) -> HttpResponse:
    _require_reporting_user(request)
    form, (start, end) = _changes_range(request)
    scope = parse_scope(request.GET.get("scope"), user=request.user)
    summary, waterfall = reports.changes.changes_and_waterfall(
        user=request.user, start_day=start, end_day=end, scope=scope
    )
    rows = [
        {"kind": kind, "label": CHANGE_LABELS[kind], **summary[kind]}
        for kind in reports.changes.CHANGE_KINDS
    ]
    context = {
        **_common_context(request, {"scope": scope}),
        "form": form,
        "start": start,
        "end": end,
        "rows": rows,
        "waterfall": _waterfall_bars(waterfall),
        "waterfall_end_is_now": waterfall["end_is_now"],
    }
    return render(request, "forecasting/changes.html", context)


@require_GET
def changes_drilldown(request: HttpRequest) -> HttpResponse:
    _require_reporting_user(request)
    kind = request.GET.get("change") or ""
    if kind not in CHANGE_LABELS:
        raise Http404
    _form, (start, end) = _changes_range(request)
    scope = parse_scope(request.GET.get("scope"), user=request.user)
    deals = reports.changes.changed_deals(
        user=request.user, start_day=start, end_day=end, scope=scope, kind=kind
    )
    page_obj = _paginated(request, deals)
    shown = list(page_obj.object_list)
    told = reports.changes.change_narratives(
        [deal for deal in shown if not deal.reassigned], start_day=start, end_day=end
    )
    for deal in shown:
        deal.narrative = told.get(deal.pk, "")
    context = {
        "page_obj": page_obj,
        "deals": shown,
        "title": CHANGE_LABELS[kind],
        "compare": True,
        "start": start,
        "end": end,
        "back_url": "forecasting:changes",
    }
    template = "forecasting/deal_list.html"
    if request.htmx and not request.htmx.boosted:
        template += "#drill"
    return render(request, template, context)


ACCURACY_PERIODS = {MONTH: 6, QUARTER: 4}


@require_GET
def accuracy(request: HttpRequest) -> HttpResponse:
    _require_reporting_user(request)
    kind = request.GET.get("kind") if request.GET.get("kind") in ACCURACY_PERIODS else QUARTER
    scope = parse_scope(request.GET.get("scope"), user=request.user)
    periods = last_periods(kind, ACCURACY_PERIODS[kind])
    rows = reports.accuracy.forecast_accuracy(user=request.user, periods=periods, scope=scope)
    context = {
        **_common_context(request, {"scope": scope}),
        "kind": kind,
        "accuracy_kinds": [(k, label) for k, label in KINDS if k in ACCURACY_PERIODS],
        "rows": rows,
    }
    return render(request, "forecasting/accuracy.html", context)


@require_GET
def accuracy_drilldown(request: HttpRequest) -> HttpResponse:
    _require_reporting_user(request)
    params = _report_params(request)
    deals = reports.accuracy.accuracy_deals(user=request.user, **params)
    page_obj = _paginated(request, deals)
    context = {
        **params,
        "page_obj": page_obj,
        "deals": page_obj.object_list,
        "title": _("Won deals: estimated against realised"),
        "estimates": True,
        "back_url": "forecasting:accuracy",
    }
    template = "forecasting/deal_list.html"
    if request.htmx and not request.htmx.boosted:
        template += "#drill"
    return render(request, template, context)


@require_GET
def reliability(request: HttpRequest) -> HttpResponse:
    _require_reporting_user(request)
    kind = request.GET.get("kind") if request.GET.get("kind") in (MONTH, QUARTER) else QUARTER
    scope = parse_scope(request.GET.get("scope"), user=request.user)
    periods = last_periods(kind, reports.reliability.TREND_LENGTH)
    groups = [
        (
            group,
            reports.reliability.reliability(
                user=request.user, scope=Scope(), group=group, periods=periods
            ),
        )
        for group in ((PARTNER,) if is_partner_user(request.user) else (REP, PARTNER))
    ]
    subjects = {subject.scope_key: subject for _group, rows in groups for subject in rows}
    context = {
        **_common_context(request, {"scope": scope}),
        "kind": kind,
        "reliability_kinds": [(k, label) for k, label in KINDS if k in (MONTH, QUARTER)],
        "periods": periods,
        "groups": [(SCOPE_KINDS[group], rows) for group, rows in groups],
        "subject": subjects.get(scope.key),
    }
    return render(request, "forecasting/reliability.html", context)
