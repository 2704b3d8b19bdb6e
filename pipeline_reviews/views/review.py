"""Pages of every kind of review: the archive and its export, creating a review, a review's
page (the running review of its kind, or its recap) and closing it."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from accounts.visibility import visible_partners
from climcrm.audit import audit_export
from climcrm.csvexport import csv_response
from climcrm.figures import plain
from climcrm.forms import add_service_errors
from climcrm.roles import is_partner_user
from pipeline_reviews import selectors, services
from pipeline_reviews.forms import ArchiveFilterForm, ReviewCreateForm
from pipeline_reviews.services import ReviewClosedError
from pipeline_reviews.views.channel_manager import channel_manager_context
from pipeline_reviews.views.common import TEMPLATES, get_review, refused, review_reliability
from pipeline_reviews.views.monthly import monthly_context
from pipeline_reviews.views.quarterly import quarterly_context


def _filtered_reviews(request: HttpRequest):
    form = ArchiveFilterForm(request.GET or None, user=request.user)
    partner_id = kind = ""
    if form.is_valid():
        partner = form.cleaned_data.get("partner")
        partner_id = partner.pk if partner else ""
        kind = form.cleaned_data.get("kind") or ""
    sort = request.GET.get("ordering") or "-period"
    reviews = selectors.common.review_list(
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
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Review created."))
            return redirect("pipeline_reviews:detail", review.pk)
    return render(request, "pipeline_reviews/review_create.html", {"form": form})


@require_GET
def review_detail(request: HttpRequest, pk: int) -> HttpResponse:
    review = get_review(request, pk)
    if review.is_closed or is_partner_user(request.user):
        return review_recap(request, pk)
    context = {"review": review, "can_run": services.can_run_review(request.user, review)}
    if review.is_monthly:
        context.update(monthly_context(request, review))
    elif review.is_quarterly:
        context.update(quarterly_context(request, review))
    else:
        context.update(channel_manager_context(request, review))
    return render(request, TEMPLATES[review.kind], context)


@require_GET
def review_recap(request: HttpRequest, pk: int) -> HttpResponse:
    review = get_review(request, pk)
    context = {
        "review": review,
        "recap": selectors.review_recap(user=request.user, review=review),
        "attendees": review.attendees.all(),
        "can_run": not is_partner_user(request.user)
        and services.can_run_review(request.user, review),
    }
    if not review.is_channel_manager_review:
        context.update(review_reliability(request, review))
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
def review_close(request: HttpRequest, pk: int) -> HttpResponse:
    review = get_review(request, pk, write=True)
    try:
        services.review_close(review=review, by=request.user)
    except ReviewClosedError as exc:
        return refused(request, review, str(exc))
    messages.success(
        request, _("Review closed: the snapshot is frozen and the recap is on its way.")
    )
    url = reverse("pipeline_reviews:recap", args=[review.pk])
    if request.htmx:
        return HttpResponseClientRedirect(url)
    return redirect(url)
