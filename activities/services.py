"""Writes of activities and to-dos.

Who may write: internal users on anything they can see; partner users only on their own
partner's deals and leads (never on an account alone: accounts are not theirs).
"""

import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from activities.models import Activity, ActivityKind
from climcrm.roles import is_internal, is_partner_user
from climcrm.visibility import (
    visible_accounts,
    visible_activities,
    visible_leads,
    visible_opportunities,
)

UPDATABLE_FIELDS = ("kind", "subject", "description", "due_date", "assignee")


def can_write_on(user, *, opportunity=None, lead=None, account=None) -> bool:
    """True when ``user`` may attach activities to these objects."""
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


def _may_see(user, activity: Activity) -> bool:
    return visible_activities(user).filter(pk=activity.pk).exists()


def _check_assignee(assignee, *, opportunity=None, lead=None, account=None) -> None:
    """The assignee must be an active user who can see what the to-do is about."""
    if assignee is None:
        return
    if not assignee.is_active:
        raise ValidationError({"assignee": _("This user is no longer active.")})
    if not can_write_on(assignee, opportunity=opportunity, lead=lead, account=account):
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
    by,
    subject: str,
    kind: str = ActivityKind.TASK,
    description: str = "",
    due_date: datetime.date | None = None,
    assignee=None,
    opportunity=None,
    lead=None,
    account=None,
    done: bool = False,
    review=None,
) -> Activity:
    """Log an activity or plan a to-do on a deal, a lead or an account.

    Without an assignee the author is the assignee. A done activity (a call made, a note)
    is recorded as done now.
    """
    if opportunity is None and lead is None and account is None:
        raise ValidationError(_("An activity is about a deal, a lead or an account."))
    if not can_write_on(by, opportunity=opportunity, lead=lead, account=account):
        raise PermissionError(_("You may not add activities here."))
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
        review=review,
        done=done,
        done_at=timezone.now() if done else None,
    )
    activity.full_clean()
    activity.save()
    return activity


def _locked(activity: Activity) -> Activity:
    return Activity.objects.select_for_update().get(pk=activity.pk)


def _check_write(by, activity: Activity) -> None:
    if not _may_see(by, activity) or not can_write_on(
        by, opportunity=activity.opportunity, lead=activity.lead, account=activity.account
    ):
        raise PermissionError(_("You may not change this activity."))


@transaction.atomic
def activity_complete(*, activity: Activity, by) -> Activity:
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
def activity_reopen(*, activity: Activity, by) -> Activity:
    locked = _locked(activity)
    _check_write(by, locked)
    if locked.done:
        locked.done = False
        locked.done_at = None
        locked.save(update_fields=["done", "done_at", "updated_at"])
    activity.refresh_from_db()
    return activity


@transaction.atomic
def activity_update(*, activity: Activity, by, changes: dict[str, Any]) -> Activity:
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
