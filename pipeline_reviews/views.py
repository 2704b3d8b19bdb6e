from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect, trigger_client_event

from accounts.visibility import visible_partners
from climcrm.audit import audit_export
from climcrm.csvexport import csv_response
from climcrm.figures import plain
from climcrm.roles import is_partner_user
from climcrm.visibility import get_visible_or_404
from leads.visibility import visible_leads
from opportunities.models import CLOSED_STAGES
from opportunities.services import StaleVersionError
from opportunities.visibility import visible_opportunities
from pipeline_reviews import selectors, services
from pipeline_reviews.forms import (
    ArchiveFilterForm,
    CommitForm,
    DealReviewForm,
    LeadReviewForm,
    MarketingActionForm,
    OutcomeForm,
    PartnerNoteForm,
    QuarterlyForm,
    ReviewCreateForm,
    ReviewSetupForm,
    TodoForm,
    quarterly_sections,
)
from pipeline_reviews.models import PartnerReviewNote, Review, ReviewKind
from pipeline_reviews.services import ReviewClosedError
from pipeline_reviews.visibility import visible_reviews
from pipeline_reviews.widgets import WIDGETS

TEMPLATES = {
    ReviewKind.MONTHLY_PARTNER: "pipeline_reviews/review_monthly.html",
    ReviewKind.CHANNEL_MANAGER: "pipeline_reviews/review_channel_manager.html",
    ReviewKind.QUARTERLY: "pipeline_reviews/review_quarterly.html",
}


# --- access ---------------------------------------------------------------------------


def _get_review(request: HttpRequest, pk: int, *, write: bool = False) -> Review:
    """The review if the user may see it (else 404); for writes, if they may run it."""
    review = get_visible_or_404(
        visible_reviews(request.user).select_related(
            "partner__account", "partner__channel_manager", "created_by", "closed_by"
        ),
        pk=pk,
    )
    if is_partner_user(request.user) and review.kind == ReviewKind.CHANNEL_MANAGER:
        raise Http404
    if write:
        if is_partner_user(request.user):
            raise Http404
        if not services.can_run_review(request.user, review):
            raise PermissionDenied(_("You may not change this review."))
    return review


def _refused(request: HttpRequest, review: Review, text: str, status: int = 409) -> HttpResponse:
    if request.htmx:
        response = HttpResponse(status=status)
        trigger_client_event(response, "toast", {"text": text, "kind": "error"})
        return response
    messages.error(request, text)
    return redirect("pipeline_reviews:detail", review.pk)


def _errors_text(exc: ValidationError) -> str:
    if hasattr(exc, "message_dict"):
        return " ".join(m for msgs in exc.message_dict.values() for m in msgs)
    return " ".join(exc.messages)


# --- archive and creation ---------------------------------------------------------------


def _filtered_reviews(request: HttpRequest):
    form = ArchiveFilterForm(request.GET or None, user=request.user)
    partner_id = kind = ""
    if form.is_valid():
        partner = form.cleaned_data.get("partner")
        partner_id = partner.pk if partner else ""
        kind = form.cleaned_data.get("kind") or ""
    sort = request.GET.get("ordering") or "-period"
    reviews = selectors.review_list(
        user=request.user,
        partner_id=partner_id,
        kind=kind,
        status=request.GET.get("status", ""),
        sort=sort,
    )
    return form, reviews, sort


REVIEW_EXPORT_HEADER = [
    gettext_lazy("Period start"),
    gettext_lazy("Kind"),
    gettext_lazy("Partner"),
    gettext_lazy("Status"),
    gettext_lazy("Closed at"),
    gettext_lazy("Commit"),
    gettext_lazy("Held by"),
]


@require_GET
def review_export(request: HttpRequest):
    """The reviews the archive shows, as CSV (climcrm.csvexport's rule)."""
    _form, reviews, _sort = _filtered_reviews(request)
    audit_export(request, "review_list")
    rows = (
        [
            review.period_start.isoformat(),
            review.get_kind_display(),
            str(review.partner) if review.partner_id else "",
            review.get_status_display(),
            timezone.localtime(review.closed_at).strftime("%Y-%m-%d %H:%M")
            if review.closed_at
            else "",
            plain(review.commit_amount),
            str(review.created_by) if review.created_by_id else "",
        ]
        for review in reviews.iterator(chunk_size=1000)
    )
    return csv_response(filename="reviews", header=REVIEW_EXPORT_HEADER, rows=rows)


@require_GET
def review_list(request: HttpRequest) -> HttpResponse:
    form, reviews, sort = _filtered_reviews(request)
    page = Paginator(reviews, 50).get_page(request.GET.get("page"))
    context = {
        "filter_form": form,
        "page_obj": page,
        "reviews": page.object_list,
        "ordering": sort,
        "can_create": not is_partner_user(request.user) and visible_partners(request.user).exists(),
    }
    template = "pipeline_reviews/review_list.html"
    if request.htmx and not request.htmx.boosted:
        template += "#review-table"
    return render(request, template, context)


@require_http_methods(["GET", "POST"])
def review_create(request: HttpRequest) -> HttpResponse:
    if is_partner_user(request.user):
        raise Http404
    form = ReviewCreateForm(request.POST or None, user=request.user, initial=request.GET.dict())
    if request.method == "POST" and form.is_valid():
        try:
            review = services.review_create(
                by=request.user,
                kind=form.cleaned_data["kind"],
                partner=form.cleaned_data.get("partner"),
                period=form.cleaned_data["period"],
                format=form.cleaned_data["format"],
            )
        except PermissionError as exc:
            form.add_error(None, str(exc))
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(request, _("Review created."))
            return redirect("pipeline_reviews:detail", review.pk)
    return render(request, "pipeline_reviews/review_create.html", {"form": form})


# --- the review screen ------------------------------------------------------------------


def _deal_panel_context(request, review: Review, *, position=None, deal_id=None, **extra) -> dict:
    count = selectors.open_deal_count(user=request.user, review=review)
    if deal_id is not None:
        position = (
            selectors.open_deal_position(user=request.user, review=review, deal_id=deal_id)
            or position
        )
    position = _positive_int(position)
    position = min(position, count) if count else 0
    deal = None
    if position:
        deal = selectors.deal_at(user=request.user, review=review, position=position)
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
        context["deal_todos"] = selectors.deal_todos(
            user=request.user, review=review, deal_id=deal.pk
        )
    context.update(extra)
    return context


def _positive_int(value, default: int = 1) -> int:
    try:
        return max(1, int(value or default))
    except (TypeError, ValueError):
        return default


_UNKNOWN = object()


def _window(review: Review, previous=_UNKNOWN):
    if previous is _UNKNOWN:
        previous = selectors.previous_review(review)
    return (previous, *selectors.review_window(review, previous))


def _leads_context(
    request, review: Review, *, page: int, first: int = 1, previous=_UNKNOWN
) -> dict:
    """Section 1: the count of every new lead, the rows of pages ``first`` to ``page``."""
    previous, since, until = _window(review, previous)
    leads = selectors.new_leads(user=request.user, review=review, since=since, until=until)
    rows = selectors.section_page(leads, page=page, first=first)
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
    closed = selectors.closed_deals(user=request.user, review=review, since=since, until=until)
    rows = selectors.section_page(closed, page=page, first=first)
    return {
        "review": review,
        "outcome_totals": selectors.outcome_totals(closed),
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


def _monthly_context(request, review: Review) -> dict:
    previous = selectors.previous_review(review)
    since, until = selectors.review_window(review, previous)
    context = {
        "previous": previous,
        "since": since,
        # Without JavaScript, "load more" reloads the page with one page more of the section.
        **_leads_context(
            request, review, page=_positive_int(request.GET.get("leads_page")), previous=previous
        ),
        **_outcomes_context(
            request,
            review,
            page=_positive_int(request.GET.get("outcomes_page")),
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
    }
    return context


def _pipeline_context(request, review: Review, previous=None) -> dict:
    previous = previous if previous is not None else selectors.previous_review(review)
    since, until = selectors.review_window(review, previous)
    current = selectors.stage_summary(
        selectors.partner_open_deals(user=request.user, partner_id=review.partner_id)
    )
    before = None
    if previous is not None and hasattr(previous, "snapshot"):
        before = previous.snapshot.data.get("by_stage")
    won = selectors.won_between(
        user=request.user, partner_id=review.partner_id, since=since, until=until
    )
    return {
        "review": review,
        "previous": previous,
        "today": timezone.localdate(),
        "pipeline_rows": selectors.compare_summaries(current, before),
        "pipeline_totals": selectors.totals(current),
        "previous_totals": selectors.totals(before) if before else None,
        "carried_todos": selectors.carried_todos(
            user=request.user, review=review, previous=previous
        ),
        "previous_commit": previous.commit_amount if previous else None,
        "won_since_previous": won["total"],
        "won_count": won["count"],
    }


def _commit_context(request, review: Review, form=None) -> dict:
    proposed = selectors.proposed_commit(user=request.user, partner_id=review.partner_id)
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


def _channel_manager_context(request, review: Review) -> dict:
    data = selectors.review_recap(user=request.user, review=review)
    notes = {note.partner_id: note for note in review.partner_notes.all()}
    editable = services.can_run_review(request.user, review)
    for manager in data["managers"]:
        for partner in manager["partners"]:
            note = notes.get(partner["id"]) or PartnerReviewNote(partner_id=partner["id"])
            partner["note"] = note
            if editable:
                partner["form"] = PartnerNoteForm(
                    instance=note, prefix=f"p{partner['id']}", renderer=WIDGETS
                )
    return {"recap": data}


def _quarterly_context(request, review: Review) -> dict:
    details = getattr(review, "quarterly", None)
    return {
        "recap": selectors.review_recap(user=request.user, review=review),
        "details": details,
        "quarterly_form": QuarterlyForm(instance=details, renderer=WIDGETS),
        "quarterly_sections": quarterly_sections(QuarterlyForm(instance=details, renderer=WIDGETS)),
        "marketing_actions": review.marketing_actions.all(),
        "marketing_form": MarketingActionForm(renderer=WIDGETS),
    }


@require_GET
def review_detail(request: HttpRequest, pk: int) -> HttpResponse:
    review = _get_review(request, pk)
    if review.is_closed or is_partner_user(request.user):
        return review_recap(request, pk)
    context = {"review": review, "can_run": services.can_run_review(request.user, review)}
    if review.is_monthly:
        context.update(_monthly_context(request, review))
    elif review.is_quarterly:
        context.update(_quarterly_context(request, review))
    else:
        context.update(_channel_manager_context(request, review))
    return render(request, TEMPLATES[review.kind], context)


@require_GET
def review_recap(request: HttpRequest, pk: int) -> HttpResponse:
    review = _get_review(request, pk)
    context = {
        "review": review,
        "recap": selectors.review_recap(user=request.user, review=review),
        "attendees": review.attendees.all(),
        "can_run": not is_partner_user(request.user)
        and services.can_run_review(request.user, review),
    }
    if review.is_channel_manager_review:
        notes = {note.partner_id: note for note in review.partner_notes.all()}
        for manager in context["recap"]["managers"]:
            for partner in manager["partners"]:
                partner["note"] = notes.get(partner["id"])
    if review.is_quarterly:
        context["details"] = getattr(review, "quarterly", None)
        context["marketing_actions"] = review.marketing_actions.all()
    if review.is_monthly:
        context["recap_emails"] = review.recaps.all() if not is_partner_user(request.user) else []
    return render(request, "pipeline_reviews/review_recap.html", context)


@require_POST
def review_setup(request: HttpRequest, pk: int) -> HttpResponse:
    review = _get_review(request, pk, write=True)
    form = ReviewSetupForm(request.POST, review=review, renderer=WIDGETS)
    if not form.is_valid():
        return _refused(request, review, _errors_text(ValidationError(form.errors)), status=422)
    try:
        services.review_update_setup(
            review=review,
            by=request.user,
            format=form.cleaned_data["format"],
            attendees=form.cleaned_data["attendees"],
            notes=form.cleaned_data["notes"],
        )
    except ReviewClosedError as exc:
        return _refused(request, review, str(exc))
    except ValidationError as exc:
        return _refused(request, review, _errors_text(exc), status=422)
    messages.success(request, _("Review set up."))
    return redirect("pipeline_reviews:detail", review.pk)


@require_POST
def review_lead(request: HttpRequest, pk: int, lead_pk: int) -> HttpResponse:
    review = _get_review(request, pk, write=True)
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
            return _refused(request, review, str(exc))
        except PermissionError as exc:
            return _refused(request, review, str(exc), status=403)
        except ValidationError as exc:
            form.add_error(None, _errors_text(exc))
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
    review = _get_review(request, pk, write=True)
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
            return _refused(request, review, str(exc))
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
            form.add_error(None, _errors_text(exc))
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
    review = _get_review(request, pk, write=True)
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
    review = _get_review(request, pk, write=True)
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
        )
    except ReviewClosedError as exc:
        return _refused(request, review, str(exc))
    except (StaleVersionError, PermissionError) as exc:
        deal.refresh_from_db()
        fresh = DealReviewForm.for_deal(deal, renderer=WIDGETS)
        context = _deal_panel_context(
            request, review, deal_id=deal.pk, deal_form=fresh, deal_error=str(exc)
        )
        return _deal_panel_response(request, review, context, status=409, toast=(str(exc), "error"))
    except ValidationError as exc:
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
        context = _deal_panel_context(request, review, deal_id=deal.pk, deal_form=form)
        return _deal_panel_response(
            request, review, context, status=422, toast=(_errors_text(exc), "error")
        )
    position = request.POST.get("position")
    context = _deal_panel_context(request, review, deal_id=deal.pk, position=position)
    return _deal_panel_response(
        request, review, context, toast=(_("Deal saved."), "success"), changed=True
    )


@require_POST
def review_todo(request: HttpRequest, pk: int, deal_pk: int) -> HttpResponse:
    review = _get_review(request, pk, write=True)
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
        return _refused(request, review, str(exc))
    except PermissionError as exc:
        return _refused(request, review, str(exc), status=403)
    except ValidationError as exc:
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
        context = _deal_panel_context(request, review, deal_id=deal.pk, todo_form=form)
        return _deal_panel_response(
            request, review, context, status=422, toast=(_errors_text(exc), "error")
        )
    context = _deal_panel_context(request, review, deal_id=deal.pk)
    return _deal_panel_response(request, review, context, toast=(_("To-do added."), "success"))


@require_GET
def review_section(request: HttpRequest, pk: int, name: str) -> HttpResponse:
    review = _get_review(request, pk, write=True)
    if not review.is_monthly or name not in SECTIONS:
        raise Http404
    page = _positive_int(request.GET.get("page"))
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
    review = _get_review(request, pk, write=True)
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
            return _refused(request, review, str(exc))
        except ValidationError as exc:
            form.add_error("commit_amount", _errors_text(exc))
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


@require_POST
def review_close(request: HttpRequest, pk: int) -> HttpResponse:
    review = _get_review(request, pk, write=True)
    try:
        services.review_close(review=review, by=request.user)
    except ReviewClosedError as exc:
        return _refused(request, review, str(exc))
    messages.success(
        request, _("Review closed: the snapshot is frozen and the recap is on its way.")
    )
    url = reverse("pipeline_reviews:recap", args=[review.pk])
    if request.htmx:
        return HttpResponseClientRedirect(url)
    return redirect(url)


@require_POST
def review_partner_note(request: HttpRequest, pk: int, partner_pk: int) -> HttpResponse:
    review = _get_review(request, pk, write=True)
    partner = get_visible_or_404(visible_partners(request.user), pk=partner_pk)
    form = PartnerNoteForm(
        request.POST,
        instance=review.partner_notes.filter(partner=partner).first(),
        prefix=f"p{partner.pk}",
        renderer=WIDGETS,
    )
    if not form.is_valid():
        return _refused(request, review, _("Please correct the errors."), status=422)
    try:
        services.partner_note_update(
            review=review, by=request.user, partner=partner, values=form.cleaned_data
        )
    except ReviewClosedError as exc:
        return _refused(request, review, str(exc))
    except PermissionError as exc:
        return _refused(request, review, str(exc), status=403)
    if request.htmx:
        response = HttpResponse(status=204)
        trigger_client_event(response, "toast", {"text": _("Notes saved."), "kind": "success"})
        return response
    messages.success(request, _("Notes saved."))
    return redirect(reverse("pipeline_reviews:detail", args=[review.pk]) + f"#partner-{partner.pk}")


@require_POST
def review_quarterly(request: HttpRequest, pk: int) -> HttpResponse:
    review = _get_review(request, pk, write=True)
    if not review.is_quarterly:
        raise Http404
    form = QuarterlyForm(
        request.POST, instance=getattr(review, "quarterly", None), renderer=WIDGETS
    )
    if form.is_valid():
        try:
            services.quarterly_update(review=review, by=request.user, values=form.cleaned_data)
        except ReviewClosedError as exc:
            return _refused(request, review, str(exc))
        except ValidationError as exc:
            return _refused(request, review, _errors_text(exc), status=422)
        messages.success(request, _("Review saved."))
        return redirect("pipeline_reviews:detail", review.pk)
    context = {
        "review": review,
        "can_run": True,
        **_quarterly_context(request, review),
        "quarterly_form": form,
    }
    return render(request, TEMPLATES[review.kind], context, status=422)


@require_POST
def review_marketing_add(request: HttpRequest, pk: int) -> HttpResponse:
    review = _get_review(request, pk, write=True)
    if not review.is_quarterly:
        raise Http404
    form = MarketingActionForm(request.POST, renderer=WIDGETS)
    if form.is_valid():
        try:
            services.marketing_action_add(review=review, by=request.user, **form.cleaned_data)
        except ReviewClosedError as exc:
            return _refused(request, review, str(exc))
        except ValidationError as exc:
            return _refused(request, review, _errors_text(exc), status=422)
        messages.success(request, _("Marketing action added."))
        return redirect(reverse("pipeline_reviews:detail", args=[review.pk]) + "#marketing")
    context = {
        "review": review,
        "can_run": True,
        **_quarterly_context(request, review),
        "marketing_form": form,
    }
    return render(request, TEMPLATES[review.kind], context, status=422)


@require_POST
def review_marketing_delete(request: HttpRequest, pk: int, action_pk: int) -> HttpResponse:
    review = _get_review(request, pk, write=True)
    try:
        services.marketing_action_delete(review=review, by=request.user, action_id=action_pk)
    except ReviewClosedError as exc:
        return _refused(request, review, str(exc))
    return redirect(reverse("pipeline_reviews:detail", args=[review.pk]) + "#marketing")
