"""Writes for the reviews. A closed review refuses every write.

Deal changes go through ``opportunities.services.opportunity_update`` tagged
``review:<pk>`` so the history shows what the review changed; the closing freezes the
snapshot and queues the recaps in one transaction, and the recaps leave after commit.
"""

from __future__ import annotations

import datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Partner
from activities.models import Activity, ActivityKind
from activities.services import activity_create
from climcrm import events, outbox
from climcrm.choices import BANT_CHECKS
from climcrm.models import EmailStatus, User
from climcrm.roles import is_admin, is_channel_manager, is_manager, is_partner_user
from leads.services import LeadReadOnlyError, lead_update
from opportunities.models import CLOSED_STAGES, Opportunity
from opportunities.services import ChangeResult, opportunity_update
from pipeline_reviews import emails, selectors
from pipeline_reviews.models import (
    MarketingAction,
    PartnerReviewNote,
    QuarterlyDetails,
    RecapEmail,
    Review,
    ReviewFormat,
    ReviewKind,
    ReviewSnapshot,
    ReviewStatus,
)
from pipeline_reviews.periods import month_start, quarter_start

if TYPE_CHECKING:
    from collections.abc import Iterable

    from leads.models import Lead

# What the deal-by-deal section edits, and what the won/lost section edits.
DEAL_FIELDS = (
    "stage",
    "amount",
    "amount_confirmed",
    "probability",
    "close_date",
    "forecast_category",
    "next_step",
    "loss_reason",
)
OUTCOME_FIELDS = ("objective_reasons", "recovery_possible", "lessons_learned", "corrective_actions")
# What the new-leads section edits: the qualification and the planned actions.
LEAD_REVIEW_FIELDS = (
    "organisation_fit",
    "opportunity_fit",
    "stakeholder_fit",
    *BANT_CHECKS,
    "planned_actions",
)
# Who receives the recap at the partner.
RECAP_TITLES = (User.PartnerTitle.SALES_DIRECTOR, User.PartnerTitle.SALESPERSON)


class ReviewClosedError(Exception):
    def __init__(self, review: Review | None = None) -> None:
        self.review = review
        super().__init__(_("This review is closed: it can no longer be changed."))


# --- who may do what ------------------------------------------------------------------


def can_create_review(user: User, *, kind: str, partner: Partner | None) -> bool:
    if is_partner_user(user):
        return False
    if kind == ReviewKind.CHANNEL_MANAGER:
        return is_manager(user) or is_admin(user)
    if partner is None:
        return False
    return (
        is_admin(user)
        or is_manager(user)
        or (is_channel_manager(user) and partner.channel_manager_id == user.pk)
    )


def can_run_review(user: User, review: Review) -> bool:
    return can_create_review(user, kind=review.kind, partner=review.partner)


def _check(user: User, review: Review) -> None:
    if not can_run_review(user, review):
        raise PermissionError(_("You may not change this review."))


def _lock_open_review(review: Review, by: User) -> Review:
    locked = (
        Review.objects.select_for_update(of=("self",)).select_related("partner").get(pk=review.pk)
    )
    if locked.is_closed:
        raise ReviewClosedError(locked)
    _check(by, locked)
    return locked


def _attendees_valid(partner: Partner | None, attendees: Iterable[User]) -> list:
    attendees = list(attendees or [])
    if partner is None:
        return attendees
    outsiders = [u for u in attendees if u.partner_id != partner.pk]
    if outsiders:
        raise ValidationError(
            {"attendees": [_("Attendees must be people of the partner under review.")]}
        )
    return attendees


# --- creating and setting up ----------------------------------------------------------


def review_create(
    *,
    by: User,
    kind: str,
    period: datetime.date,
    partner: Partner | None = None,
    format: str = ReviewFormat.CALL,
    attendees: Iterable[User] = (),
) -> Review:
    if kind not in ReviewKind.values:
        raise ValidationError({"kind": [_("Choose a valid kind of review.")]})
    if kind == ReviewKind.CHANNEL_MANAGER:
        partner = None
    elif partner is None:
        raise ValidationError({"partner": [_("Choose the partner under review.")]})
    if not can_create_review(by, kind=kind, partner=partner):
        raise PermissionError(_("You may not hold this review."))
    period_start = quarter_start(period) if kind == ReviewKind.QUARTERLY else month_start(period)
    attendees = _attendees_valid(partner, attendees)
    with transaction.atomic():
        if Review.objects.filter(kind=kind, partner=partner, period_start=period_start).exists():
            raise ValidationError(
                {"period": [_("A review of this kind already exists for this period.")]}
            )
        review = Review.objects.create(
            kind=kind,
            partner=partner,
            period_start=period_start,
            format=format,
            created_by=by,
        )
        review.attendees.set(attendees)
        if kind == ReviewKind.QUARTERLY:
            QuarterlyDetails.objects.create(review=review)
    return review


def review_update_setup(
    *, review: Review, by: User, format: str, attendees: Iterable[User] = (), notes: str = ""
) -> Review:
    with transaction.atomic():
        locked = _lock_open_review(review, by)
        if format not in ReviewFormat.values:
            raise ValidationError({"format": [_("Choose a valid format.")]})
        locked.format = format
        locked.notes = notes
        locked.save(update_fields=["format", "notes"])
        locked.attendees.set(_attendees_valid(locked.partner, attendees))
    review.refresh_from_db()
    return review


# --- section 1: new leads ------------------------------------------------------------


def review_lead_update(*, review: Review, by: User, lead: Lead, changes: dict[str, Any]) -> Lead:
    """Qualification flags and planned actions of a new lead, edited during the review."""
    requested = {k: v for k, v in changes.items() if k in LEAD_REVIEW_FIELDS}
    with transaction.atomic():
        _lock_open_review(review, by)
        if lead.partner_id != review.partner_id:
            raise PermissionError(_("This lead is not one of the partner's."))
        try:
            return lead_update(lead=lead, by=by, changes=requested)
        except LeadReadOnlyError as exc:
            raise ValidationError(str(exc)) from exc


# --- sections 2 and 4: deals ---------------------------------------------------------


def review_outcome_update(
    *,
    review: Review,
    by: User,
    deal: Opportunity,
    changes: dict[str, Any],
    expected_version: int | str | None,
) -> ChangeResult:
    """Objective reasons, recovery, lessons and corrective actions of a won or lost deal."""
    requested = {k: v for k, v in changes.items() if k in OUTCOME_FIELDS}
    with transaction.atomic():
        _lock_open_review(review, by)
        if deal.partner_id != review.partner_id or deal.stage not in CLOSED_STAGES:
            raise PermissionError(_("This deal is not one of the partner's won or lost deals."))
        return opportunity_update(
            opportunity=deal,
            by=by,
            changes=requested,
            expected_version=expected_version,
            tag=review.tag,
        )


def review_deal_update(
    *,
    review: Review,
    by: User,
    deal: Opportunity,
    changes: dict[str, Any],
    expected_version: int | str | None,
    reason_code: Any = None,
    reason_text: str = "",
) -> ChangeResult:
    """A deal's fields edited in the deal-by-deal section, through the stage machine; a
    change that goes backward needs a reason (``opportunity_update``)."""
    requested = {k: v for k, v in changes.items() if k in DEAL_FIELDS}
    if requested.get("loss_reason") is None:
        requested.pop("loss_reason", None)
    with transaction.atomic():
        _lock_open_review(review, by)
        if deal.partner_id != review.partner_id:
            raise PermissionError(_("This deal is not one of the partner's."))
        return opportunity_update(
            opportunity=deal,
            by=by,
            changes=requested,
            expected_version=expected_version,
            tag=review.tag,
            reason_code=reason_code,
            reason_text=reason_text,
        )


def review_todo_add(
    *,
    review: Review,
    by: User,
    deal: Opportunity,
    subject: str,
    assignee: User | None = None,
    due_date: datetime.date | None = None,
) -> Activity:
    subject = (subject or "").strip()
    errors = {}
    if not subject:
        errors["subject"] = [_("Say what is to be done.")]
    if due_date is None:
        errors["due_date"] = [_("Say by when.")]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        _lock_open_review(review, by)
        if deal.partner_id != review.partner_id:
            raise PermissionError(_("This deal is not one of the partner's."))
        return activity_create(
            by=by,
            kind=ActivityKind.TASK,
            subject=subject[:255],
            assignee=assignee,
            due_date=due_date,
            opportunity=deal,
            review=review,
        )


# --- section 5: the new commit --------------------------------------------------------


def review_commit_set(*, review: Review, by: User, amount: Decimal, note: str = "") -> Review:
    try:
        value = Decimal(str(amount)).quantize(Decimal("0.01"))
    except (InvalidOperation, TypeError, ValueError):
        raise ValidationError({"commit_amount": [_("Enter a valid amount.")]}) from None
    if not value.is_finite() or value < 0:
        raise ValidationError({"commit_amount": [_("The commit cannot be negative.")]})
    with transaction.atomic():
        locked = _lock_open_review(review, by)
        locked.commit_amount = value
        locked.commit_note = note or ""
        locked.save(update_fields=["commit_amount", "commit_note"])
    review.refresh_from_db()
    return review


# --- the channel-manager review and the quarterly review -------------------------------

PARTNER_NOTE_FIELDS = ("difficulties", "progress_areas", "support_requested", "corrective_actions")


def partner_note_update(
    *, review: Review, by: User, partner: Partner, values: dict[str, str]
) -> PartnerReviewNote:
    with transaction.atomic():
        _lock_open_review(review, by)
        if not review.is_channel_manager_review:
            raise PermissionError(_("Partner notes belong to the channel-manager review."))
        note, _created = PartnerReviewNote.objects.get_or_create(review=review, partner=partner)
        for name in PARTNER_NOTE_FIELDS:
            if name in values:
                setattr(note, name, values[name] or "")
        note.save()
    return note


def quarterly_update(*, review: Review, by: User, values: dict[str, Any]) -> QuarterlyDetails:
    with transaction.atomic():
        _lock_open_review(review, by)
        details, _created = QuarterlyDetails.objects.select_for_update().get_or_create(
            review=review
        )
        for field in QuarterlyDetails._meta.concrete_fields:
            if field.name in values and field.name not in ("id", "review"):
                setattr(details, field.name, values[field.name])
        details.full_clean()
        details.save()
    return details


def marketing_action_add(*, review: Review, by: User, **values: Any) -> MarketingAction:
    with transaction.atomic():
        _lock_open_review(review, by)
        action = MarketingAction(review=review, **values)
        action.full_clean()
        action.save()
    return action


def marketing_action_delete(*, review: Review, by: User, action_id: int) -> None:
    with transaction.atomic():
        _lock_open_review(review, by)
        MarketingAction.objects.filter(review=review, pk=action_id).delete()


# --- closing --------------------------------------------------------------------------


def recap_recipients(review: Review) -> list:
    """The partner's sales director and salespeople, and the channel manager."""
    if review.partner_id is None:
        return []
    people = list(
        User.objects.filter(
            partner_id=review.partner_id, partner_title__in=RECAP_TITLES, is_active=True
        )
        .exclude(email="")
        .order_by("partner_title", "last_name", "id")
    )
    manager = review.partner.channel_manager if review.partner is not None else None
    if manager is not None and manager.is_active and manager.email:
        people.append(manager)
    seen, result = set(), []
    for person in people:
        if person.email.lower() not in seen:
            seen.add(person.email.lower())
            result.append(person)
    return result


def review_close(
    *, review: Review, by: User, at: datetime.datetime | None = None, notify: bool = True
) -> Review:
    """Freeze the snapshot, close the review and queue the recaps, in one transaction.

    ``at`` backdates the closing (demo data, reviews recorded afterwards): the snapshot then
    reads the pipeline from the history as it was at that moment. ``notify=False`` queues
    no recap.
    """

    with transaction.atomic():
        locked = _lock_open_review(review, by)
        now = at or timezone.now()
        locked.status = ReviewStatus.CLOSED
        locked.closed_at = now
        locked.closed_by = by
        data = selectors.recap_data(user=by, review=locked, as_of=at)
        locked.save(update_fields=["status", "closed_at", "closed_by"])
        ReviewSnapshot.objects.create(review=locked, taken_at=now, data=data)
        events.publish(
            events.REVIEW_CLOSED,
            record=locked,
            before={"status": ReviewStatus.DRAFT},
            by=by,
            at=now,
        )
        if locked.is_monthly and notify:
            recaps = [
                RecapEmail.objects.create(
                    review=locked,
                    recipient=person,
                    email=person.email,
                    language=person.language,
                    **emails.render_recap(review=locked, data=data, recipient=person),
                )
                for person in recap_recipients(locked)
            ]
            # Each recap is a task enqueued after commit: closing never waits for mail.
            outbox.send_on_commit(recaps)
    review.refresh_from_db()
    return review


# --- sending the recaps ---------------------------------------------------------------


def send_review_recaps(*, review_id: int | None = None) -> dict[str, int]:
    """Send now every recap not sent yet (of one review or all), failed ones included.

    Safe beside the workers: each recap is claimed by one sender and marked sent once
    (``climcrm.outbox.deliver``); the workers retry failures on their own.
    """
    pending = RecapEmail.objects.filter(sent_at__isnull=True).exclude(status=EmailStatus.SENDING)
    if review_id is not None:
        pending = pending.filter(review_id=review_id)
    result = {"sent": 0, "failed": 0}
    for pk in list(pending.order_by("id").values_list("pk", flat=True)):
        outcome = outbox.deliver(RecapEmail, pk, now_or_failed=True)
        if outcome == "sent":
            result["sent"] += 1
        elif outcome != "skipped":
            result["failed"] += 1
    return result
