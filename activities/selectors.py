"""Reads of activities: a record's panel, "My tasks", and who may be assigned."""

import datetime
from dataclasses import dataclass

from django.db.models import Count, F, Model, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from accounts.visibility import visible_accounts
from activities.models import Activity
from activities.visibility import visible_activities
from climcrm.models import User
from climcrm.roles import INTERNAL_ROLES, is_partner_user
from climcrm.visibility import get_visible_or_404
from leads.visibility import visible_leads
from opportunities.visibility import visible_opportunities

PANEL_DONE_LIMIT = 10


@dataclass
class Target:
    """What a panel is about: one deal, lead or account."""

    kind: str  # "opportunity" | "lead" | "account"
    obj: Model

    @property
    def pk(self) -> int:
        return self.obj.pk

    @property
    def key(self) -> str:
        return f"{self.kind}-{self.obj.pk}"

    @property
    def lookup(self) -> dict:
        return {self.kind: self.obj}


_SCOPES = {
    "opportunity": visible_opportunities,
    "lead": visible_leads,
    "account": visible_accounts,
}


def panel_target(*, user, params) -> Target:
    """The deal, lead or account named in ``params`` (?opportunity=<id> …), or 404."""
    for kind, scope in _SCOPES.items():
        value = params.get(kind)
        if value:
            return Target(kind, get_visible_or_404(scope(user), pk=value))
    raise Http404


def _with_people(queryset: QuerySet) -> QuerySet:
    # The record's owner is one of the activity's people (climcrm.permissions): each item
    # asks who may change it without a query of its own.
    return queryset.select_related("assignee", "created_by", "opportunity", "lead", "account")


def panel_activities(*, user, target: Target) -> dict:
    """Open activities first (by due date), then the latest done ones."""
    scoped = visible_activities(user).filter(**target.lookup)
    open_items = _with_people(scoped.filter(done=False)).order_by(
        F("due_date").asc(nulls_last=True), "id"
    )
    done_items = _with_people(scoped.filter(done=True)).order_by("-done_at", "-id")
    done_list = list(done_items[: PANEL_DONE_LIMIT + 1])
    return {
        "open_items": list(open_items),
        "done_items": done_list[:PANEL_DONE_LIMIT],
        "more_done": len(done_list) > PANEL_DONE_LIMIT,
    }


def _my_open(user, *, team: bool = False) -> QuerySet:
    scoped = visible_activities(user).filter(done=False)
    if is_partner_user(user):
        # Partner users share their partner's to-dos: the team works them together.
        return scoped
    if team:
        # A manager's team: the people they manage (the dashboard's "Team tasks").
        return scoped.filter(assignee__manager=user)
    return scoped.filter(assignee=user)


def my_tasks(
    *, user, today: datetime.date | None = None, team: bool = False
) -> dict[str, QuerySet]:
    """The user's open to-dos (or their team's): overdue, due today, upcoming and without a
    date."""
    today = today or timezone.localdate()
    base = _with_people(_my_open(user, team=team)).select_related(
        "opportunity", "lead", "account", "opportunity__account"
    )
    return {
        "overdue": base.filter(due_date__lt=today).order_by("due_date", "id"),
        "today": base.filter(due_date=today).order_by("id"),
        "upcoming": base.filter(Q(due_date__gt=today) | Q(due_date__isnull=True)).order_by(
            F("due_date").asc(nulls_last=True), "id"
        ),
    }


def my_task_counts(
    *, user, today: datetime.date | None = None, team: bool = False
) -> dict[str, int]:
    """How many open to-dos each group of "My tasks" holds, counted in one query."""
    today = today or timezone.localdate()
    # Counting a column of the (assignee, done, due_date) index, never null, lets PostgreSQL
    # answer from the index alone (COUNT(*) takes no filter in Django).
    return _my_open(user, team=team).aggregate(
        overdue=Count("done", filter=Q(due_date__lt=today)),
        today=Count("done", filter=Q(due_date=today)),
        upcoming=Count("done", filter=Q(due_date__gt=today) | Q(due_date__isnull=True)),
    )


def assignable_users(*, user, target: Target | None = None) -> QuerySet:
    """Who a to-do may be given to: colleagues (internal) or the partner's team."""
    users = User.objects.filter(is_active=True).order_by("first_name", "last_name", "username")
    if is_partner_user(user):
        return users.filter(partner_id=user.partner_id)
    internal = users.filter(
        partner__isnull=True, groups__name__in=[r.value for r in INTERNAL_ROLES]
    )
    partner_id = getattr(target.obj, "partner_id", None) if target else None
    if partner_id:
        return users.filter(Q(pk__in=internal.values("pk")) | Q(partner_id=partner_id))
    return users.filter(pk__in=internal.values("pk"))


def activity_for_user_or_404(*, user, pk) -> Activity:
    return get_visible_or_404(
        visible_activities(user).select_related(
            "assignee", "opportunity", "lead", "account", "created_by"
        ),
        pk=pk,
    )
