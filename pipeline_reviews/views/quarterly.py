"""The quarterly business review: its sections and the marketing actions."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from pipeline_reviews import selectors, services
from pipeline_reviews.forms import MarketingActionForm, QuarterlyForm, quarterly_sections
from pipeline_reviews.models import Review
from pipeline_reviews.services import ReviewClosedError
from pipeline_reviews.views.common import (
    TEMPLATES,
    errors_text,
    get_review,
    refused,
    review_reliability,
)
from pipeline_reviews.widgets import WIDGETS


def quarterly_context(request, review: Review) -> dict:
    details = getattr(review, "quarterly", None)
    return {
        "recap": selectors.review_recap(user=request.user, review=review),
        "details": details,
        "quarterly_form": QuarterlyForm(instance=details, renderer=WIDGETS),
        "quarterly_sections": quarterly_sections(QuarterlyForm(instance=details, renderer=WIDGETS)),
        "marketing_actions": review.marketing_actions.all(),
        "marketing_form": MarketingActionForm(renderer=WIDGETS),
        **review_reliability(request, review),
    }


@require_POST
def review_quarterly(request: HttpRequest, pk: int) -> HttpResponse:
    review = get_review(request, pk, write=True)
    if not review.is_quarterly:
        raise Http404
    form = QuarterlyForm(
        request.POST, instance=getattr(review, "quarterly", None), renderer=WIDGETS
    )
    if form.is_valid():
        try:
            services.quarterly_update(review=review, by=request.user, values=form.cleaned_data)
        except ReviewClosedError as exc:
            return refused(request, review, str(exc))
        except ValidationError as exc:
            return refused(request, review, errors_text(exc), status=422)
        messages.success(request, _("Review saved."))
        return redirect("pipeline_reviews:detail", review.pk)
    context = {
        "review": review,
        "can_run": True,
        **quarterly_context(request, review),
        "quarterly_form": form,
    }
    return render(request, TEMPLATES[review.kind], context, status=422)


@require_POST
def review_marketing_add(request: HttpRequest, pk: int) -> HttpResponse:
    review = get_review(request, pk, write=True)
    if not review.is_quarterly:
        raise Http404
    form = MarketingActionForm(request.POST, renderer=WIDGETS)
    if form.is_valid():
        try:
            services.marketing_action_add(review=review, by=request.user, **form.cleaned_data)
        except ReviewClosedError as exc:
            return refused(request, review, str(exc))
        except ValidationError as exc:
            return refused(request, review, errors_text(exc), status=422)
        messages.success(request, _("Marketing action added."))
        return redirect(reverse("pipeline_reviews:detail", args=[review.pk]) + "#marketing")
    context = {
        "review": review,
        "can_run": True,
        **quarterly_context(request, review),
        "marketing_form": form,
    }
    return render(request, TEMPLATES[review.kind], context, status=422)


@require_POST
def review_marketing_delete(request: HttpRequest, pk: int, action_pk: int) -> HttpResponse:
    review = get_review(request, pk, write=True)
    try:
        services.marketing_action_delete(review=review, by=request.user, action_id=action_pk)
    except ReviewClosedError as exc:
        return refused(request, review, str(exc))
    return redirect(reverse("pipeline_reviews:detail", args=[review.pk]) + "#marketing")
