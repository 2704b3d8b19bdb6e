"""The monthly partner review: set-up, new leads, outcomes, the deals walked one by one with
their to-dos, the pipeline against the review before, and the commit."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import trigger_client_event

from climcrm.forms import add_service_errors
from climcrm.visibility import get_visible_or_404
from leads.visibility import visible_leads
from opportunities.models import CLOSED_STAGES
from opportunities.services import StaleVersionError
from opportunities.visibility import visible_opportunities
from pipeline_reviews import selectors, services
from pipeline_reviews.forms import (
    CommitForm,
    DealReviewForm,
    LeadReviewForm,
    OutcomeForm,
    ReviewSetupForm,
    TodoForm,
)
from pipeline_reviews.models import Review
from pipeline_reviews.services import ReviewClosedError
from pipeline_reviews.views.common import (
    errors_text,
    get_review,
    positive_int,
    refused,
    review_reliability,
)
from pipeline_reviews.widgets import WIDGETS


def _deal_panel_context(request, review: Review, *, position=None, deal_id=None, **extra) -> dict:
    count = selectors.monthly.open_deal_count(user=request.user, review=review)
    if deal_id is not None:
        position = (
            selectors.monthly.open_deal_position(user=request.user, review=review, deal_id=deal_id)
            or position
        )
    position = positive_int(position)
    position = min(position, count) if count else 0
    deal = None
    if position:
        deal = selectors.monthly.deal_at(user=request.user, review=review, position=position)
    context = {
        "review": review,
        "deal_count": count,
        "position": position,
        "deal": deal,
        "previous_position": position - 1 if position > 1 else None,
        "next_position": position + 1 if position < count else None,
        "can_edit": not review.is_closed,
    }
    if deal is not None:
        deal_form = extra.pop("deal_form", None)
        if deal_form is None or (deal_id is not None and deal.pk != deal_id):
            # A form for a deal that just left the list (closed by someone else) is not
            # this deal's: the panel shows the next one with its own values and version.
            deal_form = DealReviewForm.for_deal(deal, renderer=WIDGETS)
        context["deal_form"] = deal_form
        context["todo_form"] = extra.pop("todo_form", None) or TodoForm(
            review=review, renderer=WIDGETS
        )
        context["deal_todos"] = selectors.monthly.deal_todos(
            user=request.user, review=review, deal_id=deal.pk
        )
    context.update(extra)
    return context


_UNKNOWN = object()


def _window(review: Review, previous=_UNKNOWN):
    if previous is _UNKNOWN:
        previous = selectors.common.previous_review(review)
    return (previous, *selectors.common.review_window(review, previous))


def _leads_context(
    request, review: Review, *, page: int, first: int = 1, previous=_UNKNOWN
) -> dict:
    """Section 1: the count of every new lead, the rows of pages ``first`` to ``page``."""
    previous, since, until = _window(review, previous)
    leads = selectors.monthly.new_leads(user=request.user, review=review, since=since, until=until)
    rows = selectors.common.section_page(leads, page=page, first=first)
    return {
        "review": review,
        "lead_count": leads.count(),
        "lead_rows": [
            (lead, LeadReviewForm(instance=lead, prefix=f"lead{lead.pk}", renderer=WIDGETS))
            for lead in rows["rows"]
        ],
        "leads_next_page": rows["next_page"],
    }


def _outcomes_context(
    request, review: Review, *, page: int, first: int = 1, previous=_UNKNOWN
) -> dict:
    """Section 2: counts and amounts of every won or lost deal, the rows of some pages."""
    previous, since, until = _window(review, previous)
    closed = selectors.monthly.closed_deals(
        user=request.user, review=review, since=since, until=until
    )
    rows = selectors.common.section_page(closed, page=page, first=first)
    return {
        "review": review,
        "outcome_totals": selectors.monthly.outcome_totals(closed),
        "outcome_rows": [
            (
                deal,
                OutcomeForm(
                    instance=deal,
                    initial={"version": deal.version},
                    prefix=f"deal{deal.pk}",
                    renderer=WIDGETS,
                ),
            )
            for deal in rows["rows"]
        ],
        "outcomes_next_page": rows["next_page"],
    }


def monthly_context(request, review: Review) -> dict:
    previous = selectors.common.previous_review(review)
    since, until = selectors.common.review_window(review, previous)
    context = {
        "previous": previous,
        "since": since,
        # Without JavaScript, "load more" reloads the page with one page more of the section.
        **_leads_context(
            request, review, page=positive_int(request.GET.get("leads_page")), previous=previous
        ),
        **_outcomes_context(
            request,
            review,
            page=positive_int(request.GET.get("outcomes_page")),
            previous=previous,
        ),
        "setup_form": ReviewSetupForm(
            review=review,
            renderer=WIDGETS,
            initial={
                "format": review.format,
                "attendees": list(review.attendees.all()),
                "notes": review.notes,
            },
        ),
        **_pipeline_context(request, review, previous),
        **_commit_context(request, review),
        **_deal_panel_context(request, review, position=request.GET.get("position")),
        **review_reliability(request, review),
    }
    return context


def _pipeline_context(request, review: Review, previous=None) -> dict:
    previous = previous if previous is not None else selectors.common.previous_review(review)
    since, until = selectors.common.review_window(review, previous)
    current = selectors.monthly.stage_summary(
        selectors.monthly.partner_open_deals(user=request.user, partner_id=review.partner_id)
    )
    before = None
    if previous is not None and hasattr(previous, "snapshot"):
        before = previous.snapshot.data.get("by_stage")
    won = selectors.monthly.won_between(
        user=request.user, partner_id=review.partner_id, since=since, until=until
    )
    return {
        "review": review,
        "previous": previous,
        "today": timezone.localdate(),
        "pipeline_rows": selectors.monthly.compare_summaries(current, before),
        "pipeline_totals": selectors.monthly.totals(current),
        "previous_totals": selectors.monthly.totals(before) if before else None,
        "carried_todos": selectors.monthly.carried_todos(
            user=request.user, review=review, previous=previous
        ),
        "previous_commit": previous.commit_amount if previous else None,
        "won_since_previous": won["total"],
        "won_count": won["count"],
    }


def _commit_context(request, review: Review, form=None) -> dict:
    proposed = selectors.monthly.proposed_commit(user=request.user, partner_id=review.partner_id)
    return {
        "review": review,
        "proposed_commit": proposed,
        "commit_form": form
        or CommitForm(
            renderer=WIDGETS,
            initial={
                "commit_amount": review.commit_amount
                if review.commit_amount is not None
                else proposed,
                "commit_note": review.commit_note,
            },
        ),
    }


@require_POST
def review_setup(request: HttpRequest, pk: int) -> HttpResponse:
    review = get_review(request, pk, write=True)
    form = ReviewSetupForm(request.POST, review=review, renderer=WIDGETS)
    if not form.is_valid():
        return refused(request, review, errors_text(ValidationError(form.errors)), status=422)
    try:
        services.review_update_setup(
            review=review,
            by=request.user,
            format=form.cleaned_data["format"],
            attendees=form.cleaned_data["attendees"],
            notes=form.cleaned_data["notes"],
        )
    except ReviewClosedError as exc:
        return refused(request, review, str(exc))
    except ValidationError as exc:
        return refused(request, review, errors_text(exc), status=422)
    messages.success(request, _("Review set up."))
    return redirect("pipeline_reviews:detail", review.pk)


@require_POST
def review_lead(request: HttpRequest, pk: int, lead_pk: int) -> HttpResponse:
    review = get_review(request, pk, write=True)
    lead = get_visible_or_404(
        visible_leads(request.user).filter(partner_id=review.partner_id), pk=lead_pk
    )
    form = LeadReviewForm(request.POST, instance=lead, prefix=f"lead{lead.pk}", renderer=WIDGETS)
    status = 200
    if form.is_valid():
        try:
            lead = services.review_lead_update(
                review=review, by=request.user, lead=lead, changes=form.cleaned_data
            )
        except ReviewClosedError as exc:
            return refused(request, review, str(exc))
        except PermissionError as exc:
            return refused(request, review, str(exc), status=403)
        except ValidationError as exc:
            form.add_error(None, errors_text(exc))
            status = 422
        else:
            form = LeadReviewForm(instance=lead, prefix=f"lead{lead.pk}", renderer=WIDGETS)
    else:
        status = 422
    if not request.htmx:
        return redirect(reverse("pipeline_reviews:detail", args=[review.pk]) + "#leads")
    response = render(
        request,
        "pipeline_reviews/review_monthly.html#lead-row",
        {"review": review, "lead": lead, "form": form, "saved": status == 200},
        status=200 if status == 200 else 422,
    )
    if status == 200:
        trigger_client_event(response, "toast", {"text": _("Lead saved."), "kind": "success"})
    return response


@require_POST
def review_outcome(request: HttpRequest, pk: int, deal_pk: int) -> HttpResponse:
    review = get_review(request, pk, write=True)
    deal = get_visible_or_404(
        visible_opportunities(request.user)
        .filter(partner_id=review.partner_id, stage__in=CLOSED_STAGES)
        .select_related("account", "loss_reason"),
        pk=deal_pk,
    )
    form = OutcomeForm(request.POST, instance=deal, prefix=f"deal{deal.pk}", renderer=WIDGETS)
    status = 200
    refusal = ""
    if form.is_valid():
        changes = {name: form.cleaned_data[name] for name in services.OUTCOME_FIELDS}
        try:
            result = services.review_outcome_update(
                review=review,
                by=request.user,
                deal=deal,
                changes=changes,
                expected_version=form.cleaned_data["version"],
            )
        except ReviewClosedError as exc:
            return refused(request, review, str(exc))
        except (PermissionError, StaleVersionError) as exc:
            # The row shows the deal as it is now, with its version, and says why.
            deal.refresh_from_db()
            form = OutcomeForm(
                instance=deal,
                initial={"version": deal.version},
                prefix=f"deal{deal.pk}",
                renderer=WIDGETS,
            )
            refusal = str(exc)
            status = 409
        except ValidationError as exc:
            form.add_error(None, errors_text(exc))
            status = 422
        else:
            deal = result.opportunity
            form = OutcomeForm(
                instance=deal,
                initial={"version": deal.version},
                prefix=f"deal{deal.pk}",
                renderer=WIDGETS,
            )
    else:
        status = 422
    if not request.htmx:
        if status != 200:
            messages.error(
                request,
                refusal or " ".join(form.non_field_errors()) or _("Please correct the errors."),
            )
        return redirect(reverse("pipeline_reviews:detail", args=[review.pk]) + "#outcomes")
    response = render(
        request,
        "pipeline_reviews/review_monthly.html#outcome-row",
        {"review": review, "deal": deal, "form": form, "outcome_error": refusal},
        status=status,
    )
    if status == 200:
        trigger_client_event(response, "toast", {"text": _("Deal saved."), "kind": "success"})
    elif status == 409:
        trigger_client_event(response, "toast", {"text": refusal, "kind": "error"})
    return response


@require_GET
def review_deal_panel(request: HttpRequest, pk: int) -> HttpResponse:
    review = get_review(request, pk, write=True)
    if not request.htmx:
        position = request.GET.get("position", "1")
        return redirect(
            reverse("pipeline_reviews:detail", args=[review.pk]) + f"?position={position}#deals"
        )
    context = _deal_panel_context(request, review, position=request.GET.get("position"))
    return render(request, "pipeline_reviews/review_monthly.html#deal-panel", context)


def _deal_panel_response(request, review, context, status=200, toast=None, changed=False):
    if not request.htmx:
        if toast and toast[1] == "error":
            messages.error(request, toast[0])
        elif toast:
            messages.success(request, toast[0])
        url = reverse("pipeline_reviews:detail", args=[review.pk])
        return redirect(f"{url}?position={context.get('position') or 1}#deals")
    response = render(
        request, "pipeline_reviews/review_monthly.html#deal-panel", context, status=status
    )
    if toast:
        trigger_client_event(response, "toast", {"text": toast[0], "kind": toast[1]})
    if changed:
        trigger_client_event(response, "review-pipeline-changed", {})
    return response


@require_POST
def review_deal(request: HttpRequest, pk: int, deal_pk: int) -> HttpResponse:
    review = get_review(request, pk, write=True)
    deal = get_visible_or_404(
        visible_opportunities(request.user).filter(partner_id=review.partner_id), pk=deal_pk
    )
    form = DealReviewForm(request.POST, renderer=WIDGETS)
    if not form.is_valid():
        context = _deal_panel_context(request, review, deal_id=deal.pk, deal_form=form)
        return _deal_panel_response(
            request, review, context, status=422, toast=(_("Please correct the errors."), "error")
        )
    try:
        services.review_deal_update(
            review=review,
            by=request.user,
            deal=deal,
            changes=form.changes(),
            expected_version=form.cleaned_data["version"],
            **form.reason(),
        )
    except ReviewClosedError as exc:
        return refused(request, review, str(exc))
    except (StaleVersionError, PermissionError) as exc:
        deal.refresh_from_db()
        fresh = DealReviewForm.for_deal(deal, renderer=WIDGETS)
        context = _deal_panel_context(
            request, review, deal_id=deal.pk, deal_form=fresh, deal_error=str(exc)
        )
        return _deal_panel_response(request, review, context, status=409, toast=(str(exc), "error"))
    except ValidationError as exc:
        add_service_errors(form, exc)
        context = _deal_panel_context(request, review, deal_id=deal.pk, deal_form=form)
        return _deal_panel_response(
            request, review, context, status=422, toast=(errors_text(exc), "error")
        )
    position = request.POST.get("position")
    context = _deal_panel_context(request, review, deal_id=deal.pk, position=position)
    return _deal_panel_response(
        request, review, context, toast=(_("Deal saved."), "success"), changed=True
    )


@require_POST
def review_todo(request: HttpRequest, pk: int, deal_pk: int) -> HttpResponse:
    review = get_review(request, pk, write=True)
    deal = get_visible_or_404(
        visible_opportunities(request.user).filter(partner_id=review.partner_id), pk=deal_pk
    )
    form = TodoForm(request.POST, review=review, renderer=WIDGETS)
    if not form.is_valid():
        context = _deal_panel_context(request, review, deal_id=deal.pk, todo_form=form)
        return _deal_panel_response(
            request, review, context, status=422, toast=(_("Please correct the errors."), "error")
        )
    try:
        services.review_todo_add(
            review=review,
            by=request.user,
            deal=deal,
            subject=form.cleaned_data["subject"],
            assignee=form.cleaned_data["assignee"],
            due_date=form.cleaned_data["due_date"],
        )
    except ReviewClosedError as exc:
        return refused(request, review, str(exc))
    except PermissionError as exc:
        return refused(request, review, str(exc), status=403)
    except ValidationError as exc:
        add_service_errors(form, exc)
        context = _deal_panel_context(request, review, deal_id=deal.pk, todo_form=form)
        return _deal_panel_response(
            request, review, context, status=422, toast=(errors_text(exc), "error")
        )
    context = _deal_panel_context(request, review, deal_id=deal.pk)
    return _deal_panel_response(request, review, context, toast=(_("To-do added."), "success"))


@require_GET
def review_section(request: HttpRequest, pk: int, name: str) -> HttpResponse:
    review = get_review(request, pk, write=True)
    if not review.is_monthly or name not in SECTIONS:
        raise Http404
    page = positive_int(request.GET.get("page"))
    if not request.htmx:
        query = f"?{name}_page={page}" if name in PAGED_SECTIONS else ""
        return redirect(reverse("pipeline_reviews:detail", args=[review.pk]) + f"{query}#{name}")
    if name in PAGED_SECTIONS:
        # "Load more": the rows of the one page asked for, followed by the next "load more".
        context = SECTIONS[name](request, review, page=page, first=page)
        partial = PAGED_SECTIONS[name]
    else:
        context = SECTIONS[name](request, review)
        partial = name
    context["can_edit"] = not review.is_closed
    return render(request, f"pipeline_reviews/review_monthly.html#{partial}", context)


SECTIONS = {
    "leads": _leads_context,
    "outcomes": _outcomes_context,
    "pipeline": _pipeline_context,
    "commit": _commit_context,
}


# Sections whose rows come a page at a time, and the partial holding one page of them.
PAGED_SECTIONS = {"leads": "lead-rows", "outcomes": "outcome-rows"}


@require_POST
def review_commit(request: HttpRequest, pk: int) -> HttpResponse:
    review = get_review(request, pk, write=True)
    form = CommitForm(request.POST, renderer=WIDGETS, initial={"commit_note": review.commit_note})
    status = 200
    if form.is_valid():
        try:
            review = services.review_commit_set(
                review=review,
                by=request.user,
                amount=form.cleaned_data["commit_amount"],
                note=form.cleaned_data["commit_note"],
            )
        except ReviewClosedError as exc:
            return refused(request, review, str(exc))
        except ValidationError as exc:
            form.add_error("commit_amount", errors_text(exc))
            status = 422
        else:
            form = None
    else:
        status = 422
    if not request.htmx:
        if status == 200:
            messages.success(request, _("Commit saved."))
        else:
            messages.error(request, _("Please correct the errors."))
        return redirect(reverse("pipeline_reviews:detail", args=[review.pk]) + "#commit")
    context = _commit_context(request, review, form=form)
    context["can_edit"] = True
    context["saved"] = status == 200
    response = render(
        request, "pipeline_reviews/review_monthly.html#commit", context, status=status
    )
    if status == 200:
        trigger_client_event(response, "toast", {"text": _("Commit saved."), "kind": "success"})
    return response
