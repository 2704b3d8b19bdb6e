"""The monthly channel-manager review: a note per partner."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_htmx.http import trigger_client_event

from accounts.visibility import visible_partners
from climcrm.visibility import get_visible_or_404
from pipeline_reviews import selectors, services
from pipeline_reviews.forms import PartnerNoteForm
from pipeline_reviews.models import PartnerReviewNote, Review
from pipeline_reviews.services import ReviewClosedError
from pipeline_reviews.views.common import get_review, refused
from pipeline_reviews.widgets import WIDGETS


def channel_manager_context(request, review: Review) -> dict:
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


@require_POST
def review_partner_note(request: HttpRequest, pk: int, partner_pk: int) -> HttpResponse:
    review = get_review(request, pk, write=True)
    partner = get_visible_or_404(visible_partners(request.user), pk=partner_pk)
    form = PartnerNoteForm(
        request.POST,
        instance=review.partner_notes.filter(partner=partner).first(),
        prefix=f"p{partner.pk}",
        renderer=WIDGETS,
    )
    if not form.is_valid():
        return refused(request, review, _("Please correct the errors."), status=422)
    try:
        services.partner_note_update(
            review=review, by=request.user, partner=partner, values=form.cleaned_data
        )
    except ReviewClosedError as exc:
        return refused(request, review, str(exc))
    except PermissionError as exc:
        return refused(request, review, str(exc), status=403)
    if request.htmx:
        response = HttpResponse(status=204)
        trigger_client_event(response, "toast", {"text": _("Notes saved."), "kind": "success"})
        return response
    messages.success(request, _("Notes saved."))
    return redirect(reverse("pipeline_reviews:detail", args=[review.pk]) + f"#partner-{partner.pk}")
