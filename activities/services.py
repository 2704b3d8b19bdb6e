"""Writes of activities and to-dos.

Who may write is decided in ``climcrm.permissions`` (``can_add_activity``,
``can_change_activity``; its docstring says whose a to-do is). Refusals raise
``PermissionError`` with the reason, in the user's language.
"""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Model
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.visibility import visible_accounts
from activities.models import Activity, ActivityKind
from activities.visibility import visible_activities
from climcrm.permissions import can_add_activity, can_change_activity
from climcrm.roles import is_internal, is_partner_user
from leads.visibility import visible_leads
from opportunities.visibility import visible_opportunities

if TYPE_CHECKING:
    from accounts.models import Account
    from climcrm.models import User
    from leads.models import Lead
    from opportunities.models import Opportunity

UPDATABLE_FIELDS = ("kind", "subject", "description", "due_date", "assignee")


def _works_on(
    user: User,
    *,
    opportunity: Opportunity | None = None,
    lead: Lead | None = None,
    account: Account | None = None,
) -> bool:
    """True when ``user`` sees what a to-do is about, in the place they read to-dos:
    partner users read theirs on their partner's deals and leads, never on an account."""
    if is_partner_user(user):
        if account is not None and opportunity is None and lead is None:
            return False
        targets = [t for t in (opportunity, lead) if t is not None]
        return bool(targets) and all(
            t.partner_id is not None and t.partner_id == user.partner_id for t in targets
        )
    if not is_internal(user):
        return False
    checks = (
        (opportunity, visible_opportunities),
        (lead, visible_leads),
        (account, visible_accounts),
    )
    return all(
        target is None or scope(user).filter(pk=target.pk).exists() for target, scope in checks
    )


def _may_see(user: User, activity: Activity) -> bool:
    return visible_activities(user).filter(pk=activity.pk).exists()


def _person(user: User) -> str:
    return user.get_full_name() or user.username


def add_refusal(user: User) -> str:
    """Why ``user`` may not add an activity to a record."""
    if is_partner_user(user):
        return _("You may add activities only to your company's deals and leads.")
    return _(
        "You may add activities only to your own leads, opportunities and accounts, or to "
        "those of your team."
    )


def change_refusal(user: User, activity: Activity) -> str:
    """Why ``user`` may not change this activity: whose it is."""
    if is_partner_user(user):
        return _("You may change only the activities of your company's deals and leads.")
    holder = activity.assignee or activity.created_by
    if holder is None:
        return _("You may change only your own activities and those of your team.")
    return _(
        "This activity is %(person)s's: only they, its author, the owner of what it is "
        "about and their sales manager may change it."
    ) % {"person": _person(holder)}


def _check_assignee(
    assignee: User | None,
    *,
    opportunity: Opportunity | None = None,
    lead: Lead | None = None,
    account: Account | None = None,
) -> None:
    """The assignee must be an active user who can see what the to-do is about."""
    if assignee is None:
        return
    if not assignee.is_active:
        raise ValidationError({"assignee": _("This user is no longer active.")})
    if not _works_on(assignee, opportunity=opportunity, lead=lead, account=account):
        raise ValidationError(
            {"assignee": _("This person cannot see what the to-do is about: choose someone else.")}
        )


def _validate(values: dict[str, Any]) -> None:
    errors: dict[str, list[str]] = {}
    if not (values.get("subject") or "").strip():
        errors.setdefault("subject", []).append(_("Enter a subject."))
    if values.get("kind") not in ActivityKind.values:
        errors.setdefault("kind", []).append(_("Choose a valid type."))
    due = values.get("due_date")
    if due is not None and not isinstance(due, datetime.date):
        errors.setdefault("due_date", []).append(_("Enter a valid date."))
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def activity_create(
    *,
    by: User,
    subject: str,
    kind: str = ActivityKind.TASK,
    description: str = "",
    due_date: datetime.date | None = None,
    assignee: User | None = None,
    opportunity: Opportunity | None = None,
    lead: Lead | None = None,
    account: Account | None = None,
    done: bool = False,
    # A review of the pipeline_reviews app, a layer above: typed as any model.
    review: Model | None = None,
) -> Activity:
    """Log an activity or plan a to-do on a deal, a lead or an account.

    Without an assignee the author is the assignee. A done activity (a call made, a note)
    is recorded as done now. A review to-do (``review``) is checked by the review, whose
    runner may plan to-dos on any deal of the partner under review.
    """
    if opportunity is None and lead is None and account is None:
        raise ValidationError(_("An activity is about a deal, a lead or an account."))
    if review is None and not can_add_activity(
        by, opportunity=opportunity, lead=lead, account=account
    ):
        raise PermissionError(add_refusal(by))
    assignee = assignee or by
    values = {"subject": subject, "kind": kind, "due_date": due_date}
    _validate(values)
    _check_assignee(assignee, opportunity=opportunity, lead=lead, account=account)
    activity = Activity(
        kind=kind,
        subject=subject.strip(),
        description=description,
        due_date=due_date,
        assignee=assignee,
        created_by=by,
        opportunity=opportunity,
        lead=lead,
        account=account,
        review=review,  # type: ignore[misc]  # a pipeline_reviews Review
        done=done,
        done_at=timezone.now() if done else None,
    )
    activity.full_clean()
    activity.save()
    return activity


def _locked(activity: Activity) -> Activity:
    return (
        Activity.objects.select_for_update(of=("self",))
        .select_related("assignee", "created_by", "opportunity", "lead", "account")
        .get(pk=activity.pk)
    )


def _check_write(by: User, activity: Activity) -> None:
    if not _may_see(by, activity):
        raise PermissionError(_("You may not change this activity."))
    if not can_change_activity(by, activity):
        raise PermissionError(change_refusal(by, activity))


@transaction.atomic
def activity_complete(*, activity: Activity, by: User) -> Activity:
    """Mark done (idempotent: completing a done activity keeps its first completion time)."""
    locked = _locked(activity)
    _check_write(by, locked)
    if not locked.done:
        locked.done = True
        locked.done_at = timezone.now()
        locked.save(update_fields=["done", "done_at", "updated_at"])
    activity.refresh_from_db()
    return activity


@transaction.atomic
def activity_reopen(*, activity: Activity, by: User) -> Activity:
    locked = _locked(activity)
    _check_write(by, locked)
    if locked.done:
        locked.done = False
        locked.done_at = None
        locked.save(update_fields=["done", "done_at", "updated_at"])
    activity.refresh_from_db()
    return activity


@transaction.atomic
def activity_update(*, activity: Activity, by: User, changes: dict[str, Any]) -> Activity:
    """Change the subject, type, description, due date or assignee."""
    locked = _locked(activity)
    _check_write(by, locked)
    requested = {k: v for k, v in changes.items() if k in UPDATABLE_FIELDS}
    values = {name: getattr(locked, name) for name in UPDATABLE_FIELDS} | requested
    _validate(values)
    if "assignee" in requested and requested["assignee"] != locked.assignee:
        _check_assignee(
            requested["assignee"],
            opportunity=locked.opportunity,
            lead=locked.lead,
            account=locked.account,
        )
    for name, value in requested.items():
        setattr(locked, name, value.strip() if name == "subject" else value)
    locked.full_clean()
    locked.save()
    activity.refresh_from_db()
    return activity


@transaction.atomic
def activity_delete(*, activity: Activity, by: User) -> None:
    """Remove an activity or to-do entered by mistake (the deal's to-do counts follow)."""
    locked = _locked(activity)
    _check_write(by, locked)
    locked.delete()
