from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone, translation
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from accounts.visibility import visible_accounts
from climcrm.audit import audit_export
from climcrm.csvexport import SafeWriter
from climcrm.figures import plain
from climcrm.forms import add_service_errors
from climcrm.pagination import CountedPaginator
from climcrm.permissions import can_edit_opportunity
from climcrm.roles import is_internal, is_partner_user
from climcrm.saved_views import opens_default_view
from opportunities import selectors
from opportunities.forms import OpportunityForm, initial_from
from opportunities.inline import with_inline_fields
from opportunities.kanban import loss_reasons
from opportunities.models import CLOSED_STAGES, Stage
from opportunities.path import can_move_on_path, stage_path
from opportunities.services import (
    StaleVersionError,
    opportunity_create,
    opportunity_update,
    suggested_type,
)


@require_GET
@opens_default_view("opportunities")
def opportunity_list(request: HttpRequest) -> HttpResponse:
    filterset, queryset, ordering = selectors.opportunity_list(
        user=request.user, params=request.GET, request=request
    )
    if filterset.searching():
        page_obj, totals = selectors.opportunity_search_page(
            user=request.user, queryset=queryset, number=request.GET.get("page")
        )
    else:
        totals = selectors.opportunity_totals(queryset)
        # The totals' aggregate already counted the deals: no second COUNT(*) for the pages.
        paginator = CountedPaginator(queryset, settings.CRM_PAGE_SIZE, count=totals["count"])
        page_obj = paginator.get_page(request.GET.get("page"))
    context = {
        "filter": filterset,
        "page_obj": page_obj,
        "opportunities": with_inline_fields(request.user, page_obj.object_list),
        "totals": totals,
        "ordering": ordering,
        "can_create": is_internal(request.user),
        "query_string": request.GET.urlencode(),
        "today": timezone.localdate(),
    }
    template = "opportunities/opportunity_list.html"
    if request.htmx and not request.htmx.boosted:
        template += "#results"
    return render(request, template, context)


EXPORT_COLUMNS = [
    ("id", "ID"),
    ("name", gettext_lazy("Name")),
    ("account", gettext_lazy("Account")),
    ("stage", gettext_lazy("Stage")),
    ("probability", gettext_lazy("Probability (%)")),
    ("amount", gettext_lazy("Amount")),
    ("currency", gettext_lazy("Currency")),
    ("weighted", gettext_lazy("Weighted amount")),
    ("close_date", gettext_lazy("Close date")),
    ("forecast_category", gettext_lazy("Forecast category")),
    ("owner", gettext_lazy("Owner")),
    ("partner", gettext_lazy("Partner")),
    ("type", gettext_lazy("Type")),
    ("primary_contact", gettext_lazy("Primary contact")),
    ("next_step", gettext_lazy("Next step")),
    ("loss_reason", gettext_lazy("Loss reason")),
    ("created", gettext_lazy("Created")),
]


def _export_lines(queryset, language: str):
    # The rows are produced while the response streams, after the view returned: keep
    # the language of the request for the labels.
    with translation.override(language):
        yield from _export_rows(queryset)


def _export_rows(queryset):
    writer = SafeWriter(delimiter=";")
    yield "\ufeff" + writer.writerow([str(label) for _key, label in EXPORT_COLUMNS])
    for deal in selectors.opportunity_export_rows(queryset):
        weighted = deal.weighted_amount
        yield writer.writerow(
            [
                deal.pk,
                deal.name,
                deal.account.name,
                deal.get_stage_display(),
                deal.probability,
                plain(deal.amount),
                deal.currency,
                plain(weighted),
                deal.close_date.isoformat() if deal.close_date else "",
                deal.get_forecast_category_display(),
                str(deal.owner),
                str(deal.partner) if deal.partner_id else "",
                deal.get_type_display(),
                str(deal.primary_contact) if deal.primary_contact_id else "",
                deal.next_step,
                str(deal.loss_reason) if deal.loss_reason_id else "",
                timezone.localtime(deal.created_at).strftime("%Y-%m-%d %H:%M"),
            ]
        )


@require_GET
def opportunity_export(request: HttpRequest) -> StreamingHttpResponse:
    """The filtered list as CSV: semicolons and a BOM so Excel opens it in French Switzerland,
    exact amounts with a decimal point in both languages (``climcrm.figures.plain``)."""
    _filterset, queryset, _ordering = selectors.opportunity_list(
        user=request.user, params=request.GET, request=request
    )
    audit_export(request, "opportunities")
    response = StreamingHttpResponse(
        _export_lines(queryset, get_language() or "fr"), content_type="text/csv; charset=utf-8"
    )
    stamp = timezone.localdate().isoformat()
    response["Content-Disposition"] = f'attachment; filename="opportunities-{stamp}.csv"'
    return response


@require_GET
def opportunity_detail(request: HttpRequest, pk: int) -> HttpResponse:
    opportunity = selectors.opportunity_get(user=request.user, pk=pk)
    context = {
        "opportunity": opportunity,
        "bant": selectors.bant_checklist(opportunity),
        "history": selectors.opportunity_history(opportunity=opportunity),
        "can_edit": can_edit_opportunity(request.user, opportunity),
        "is_closed": opportunity.stage in CLOSED_STAGES,
        "path": stage_path(opportunity),
        "can_move": can_move_on_path(request.user, opportunity),
        "loss_reasons": loss_reasons(),
        "detail_url": request.path,
    }
    return render(request, "opportunities/opportunity_detail.html", context)


def _service_errors(form: OpportunityForm, call):
    """Run a service call; its refusals become form errors. Returns its result or None."""
    try:
        return call()
    except ValidationError as error:
        add_service_errors(form, error)
    except PermissionError as error:
        form.add_error(None, str(error))
    return None


@require_http_methods(["GET", "POST"])
def opportunity_create_view(request: HttpRequest) -> HttpResponse:
    if not is_internal(request.user):
        # Partners bring deals in through deal registration, not this form.
        raise Http404
    initial = {}
    account_id = request.GET.get("account", "")
    if account_id.isascii() and account_id.isdigit():
        account = visible_accounts(request.user).filter(pk=account_id).first()
        if account is not None:
            initial = {"account": account.pk, "type": suggested_type(account)}
    form = OpportunityForm(request.POST or None, user=request.user, initial=initial)
    if request.method == "POST" and form.is_valid():
        values = form.changes()
        opportunity = _service_errors(form, lambda: opportunity_create(by=request.user, **values))
        if opportunity is not None:
            messages.success(request, _("The deal was created."))
            return redirect("opportunities:detail", pk=opportunity.pk)
    return render(
        request, "opportunities/opportunity_form.html", {"form": form, "opportunity": None}
    )


@require_http_methods(["GET", "POST"])
def opportunity_edit(request: HttpRequest, pk: int) -> HttpResponse:
    opportunity = selectors.opportunity_for_edit(user=request.user, pk=pk)
    if not can_edit_opportunity(request.user, opportunity):
        messages.error(request, _("You may not change this deal."))
        return redirect("opportunities:detail", pk=opportunity.pk)
    stale = None
    if request.method == "POST":
        form = OpportunityForm(request.POST, user=request.user, opportunity=opportunity)
        if form.is_valid():
            try:
                result = _service_errors(
                    form,
                    lambda: opportunity_update(
                        opportunity=opportunity,
                        by=request.user,
                        changes=form.changes(),
                        expected_version=form.cleaned_data["version"],
                        **form.reason(),
                    ),
                )
            except StaleVersionError as error:
                stale = error
                # Keep everything typed; the next save applies it over the current version.
                data = request.POST.copy()
                data["version"] = str(error.opportunity.version)
                form = OpportunityForm(data, user=request.user, opportunity=error.opportunity)
                form.is_valid()
                form.add_error(None, str(error))
                result = None
            if result is not None:
                if result.changed_fields:
                    messages.success(request, _("The deal was saved."))
                else:
                    messages.info(request, _("Nothing changed."))
                return redirect("opportunities:detail", pk=opportunity.pk)
    else:
        form = OpportunityForm(
            initial=initial_from(opportunity), user=request.user, opportunity=opportunity
        )
    context = {
        "form": form,
        "opportunity": opportunity,
        "stale": stale,
        "is_partner": is_partner_user(request.user),
        "lost_stage": Stage.CLOSED_LOST,
    }
    return render(request, "opportunities/opportunity_form.html", context)
