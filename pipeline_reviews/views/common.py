"""What the review pages share: the review a user may see or run, refusals as a toast or a
message, the template of each kind of review."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DEFAULT_DB_ALIAS
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django_htmx.http import trigger_client_event

from climcrm.roles import is_partner_user
from climcrm.visibility import get_visible_or_404
from forecasting.reports.reliability import partner_reliability
from pipeline_reviews import services
from pipeline_reviews.models import Review, ReviewKind
from pipeline_reviews.visibility import visible_reviews

TEMPLATES = {
    ReviewKind.MONTHLY_PARTNER: "pipeline_reviews/review_monthly.html",
    ReviewKind.CHANNEL_MANAGER: "pipeline_reviews/review_channel_manager.html",
    ReviewKind.QUARTERLY: "pipeline_reviews/review_quarterly.html",
}


def get_review(request: HttpRequest, pk: int, *, write: bool = False) -> Review:
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


def refused(request: HttpRequest, review: Review, text: str, status: int = 409) -> HttpResponse:
    if request.htmx:
        response = HttpResponse(status=status)
        trigger_client_event(response, "toast", {"text": text, "kind": "error"})
        return response
    messages.error(request, text)
    return redirect("pipeline_reviews:detail", review.pk)


def errors_text(exc: ValidationError) -> str:
    if hasattr(exc, "message_dict"):
        return " ".join(m for msgs in exc.message_dict.values() for m in msgs)
    return " ".join(exc.messages)


def positive_int(value, default: int = 1) -> int:
    try:
        return max(1, int(value or default))
    except (TypeError, ValueError):
        return default


def review_reliability(request: HttpRequest, review: Review) -> dict:
    """The reviewed partner's forecast reliability, over the 8 quarters up to the review's."""
    if review.partner_id is None:
        return {"reliability": None}
    return {
        # Read on the primary, as the rest of the review (held on what was just changed).
        "reliability": partner_reliability(
            user=request.user,
            partner_id=review.partner_id,
            day=review.period_start,
            alias=DEFAULT_DB_ALIAS,
        )
    }
