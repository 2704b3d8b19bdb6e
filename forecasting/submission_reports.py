"""The weekly forecast call and the trend, read from the frozen submissions.

``forecast_call``: each rep and partner a user oversees, their latest submission for the
period and its change since last week, "not yet submitted" for those who have not
submitted this week, and the roll-up (rep → team → sales total; partner → channel manager
→ channel total), submitted beside adjusted. A team's or a channel's total may itself be
adjusted by the level above (``ForecastGroupAdjustment``): the group shows its total
unadjusted beside adjusted, and the sales and channel totals add up the adjusted ones.
``forecast_trend``: the forecast at each weekly point of a period against the same point of
the previous periods.

The number of queries does not depend on the number of deals nor of rows.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from climcrm.periods import Period
from climcrm.roles import is_partner_user
from forecasting.models import ForecastAdjustment, ForecastSnapshot, ForecastSubmission
from forecasting.scopes import display_name
from forecasting.submissions import (
    CHANNEL,
    TEAM,
    SubmittedFigures,
    adjustments_visible_to_partners,
    group_adjustments,
    group_key,
    may_adjust_group,
    overseen_partners,
    overseen_reps,
    partner_key,
    rep_key,
    submitted_figures,
    week_of,
)

ZERO = Decimal("0")
FIGURES = ("commit", "adjusted_commit", "best_case", "adjusted_best_case")
FIGURE_NAMES = ("commit", "best_case")


def _start_of(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


@dataclass
class CallRow:
    key: str
    label: str
    kind: str  # "rep" or "partner"
    current: SubmittedFigures | None
    last_week: SubmittedFigures | None
    submitted_this_week: bool

    def figure(self, name: str) -> Decimal:
        return getattr(self.current, name) if self.current else ZERO

    @property
    def commit_change(self) -> Decimal | None:
        if self.current is None or self.last_week is None:
            return None
        return self.current.commit - self.last_week.commit

    @property
    def best_case_change(self) -> Decimal | None:
        if self.current is None or self.last_week is None:
            return None
        return self.current.best_case - self.last_week.best_case


@dataclass
class CallGroup:
    """A team (a manager's reps) or a channel manager's partners, added up.

    ``totals`` adds up the rows (their own adjustments included); ``adjustments`` holds the
    latest adjustment of each figure of the group's total by the level above, and
    ``adjusted_commit``/``adjusted_best_case`` what the level above sees."""

    key: str  # the head's id, "0" for those without one
    label: str
    kind: str = TEAM  # TEAM or CHANNEL
    rows: list[CallRow] = field(default_factory=list)
    totals: dict = field(default_factory=dict)
    adjustments: dict = field(default_factory=dict)
    can_adjust: bool = False

    @property
    def missing(self) -> int:
        return sum(1 for row in self.rows if not row.submitted_this_week)

    @property
    def group_key(self) -> str | None:
        return None if self.key == "0" else group_key(self.kind, int(self.key))

    @property
    def is_adjusted(self) -> bool:
        return bool(self.adjustments)

    def _adjusted(self, figure: str) -> Decimal:
        adjustment = self.adjustments.get(figure)
        if adjustment is not None:
            return adjustment.to_amount
        return self.totals.get(f"adjusted_{figure}", ZERO)

    @property
    def adjusted_commit(self) -> Decimal:
        return self._adjusted("commit")

    @property
    def adjusted_best_case(self) -> Decimal:
        return self._adjusted("best_case")


@dataclass
class ForecastCall:
    period: Period
    week: datetime.date
    rep_groups: list[CallGroup]
    partner_groups: list[CallGroup]
    rep_total: dict
    partner_total: dict
    show_adjustments: bool

    @property
    def rows(self) -> list[CallRow]:
        return [row for group in self.rep_groups + self.partner_groups for row in group.rows]

    @property
    def missing(self) -> list[CallRow]:
        return [row for row in self.rows if not row.submitted_this_week]


def _totals(rows: list[CallRow]) -> dict:
    return {name: sum((row.figure(name) for row in rows), ZERO) for name in FIGURES}


def _grand_total(groups: list[CallGroup]) -> dict:
    """What the level above sees: the rows' submitted figures and the groups' adjusted
    totals."""
    totals = _totals([row for group in groups for row in group.rows])
    totals["adjusted_commit"] = sum((g.adjusted_commit for g in groups), ZERO)
    totals["adjusted_best_case"] = sum((g.adjusted_best_case for g in groups), ZERO)
    return totals


def _group(groups: dict, key, label: str, kind: str, may_adjust: bool) -> CallGroup:
    if key not in groups:
        groups[key] = CallGroup(key=str(key), label=label, kind=kind, can_adjust=may_adjust)
    return groups[key]


# The three levels above a team's manager and above a channel manager, read with the rows.
_ABOVE_MANAGER = (
    "manager__manager_id",
    "manager__manager__manager_id",
    "manager__manager__manager__manager_id",
)
_ABOVE_CHANNEL = (
    "channel_manager__manager_id",
    "channel_manager__manager__manager_id",
    "channel_manager__manager__manager__manager_id",
)


def forecast_call(*, user, period: Period, now: datetime.datetime | None = None) -> ForecastCall:
    """The week's forecast call for ``user`` (seven queries)."""
    now = now or timezone.now()
    week = week_of(timezone.localdate(now))
    reps = list(
        overseen_reps(user).values(
            "pk",
            "first_name",
            "last_name",
            "username",
            "manager_id",
            "manager__first_name",
            "manager__last_name",
            "manager__username",
            *_ABOVE_MANAGER,
        )
    )
    partners = list(
        overseen_partners(user).values(
            "pk",
            "account__name",
            "channel_manager_id",
            "channel_manager__first_name",
            "channel_manager__last_name",
            "channel_manager__username",
            *_ABOVE_CHANNEL,
        )
    )
    keys = [rep_key(r["pk"]) for r in reps] + [partner_key(p["pk"]) for p in partners]
    current = submitted_figures(period=period, keys=keys)
    last_week = submitted_figures(period=period, keys=keys, before=_start_of(week))
    show_adjustments = not is_partner_user(user) or adjustments_visible_to_partners()

    def row_for(key: str, label: str, kind: str) -> CallRow:
        this = current.get(key)
        before = last_week.get(key)
        if not show_adjustments:
            this, before = _unadjusted(this), _unadjusted(before)
        return CallRow(
            key=key,
            label=label,
            kind=kind,
            current=this,
            last_week=before,
            submitted_this_week=this is not None and this.submission.week >= week,
        )

    def may_adjust(kind: str, head_id, row: dict, above: tuple) -> bool:
        if not head_id or not show_adjustments:
            return False
        return may_adjust_group(user, kind, head_id, [row[name] for name in above])

    teams: dict = {}
    for rep in reps:
        head = rep["manager_id"]
        label = display_name(rep, "manager__") if head else str(_("No manager"))
        group = _group(teams, head or 0, label, TEAM, may_adjust(TEAM, head, rep, _ABOVE_MANAGER))
        group.rows.append(row_for(rep_key(rep["pk"]), display_name(rep), "rep"))
    channels: dict = {}
    for partner in partners:
        head = partner["channel_manager_id"]
        label = display_name(partner, "channel_manager__") if head else str(_("No channel manager"))
        group = _group(
            channels, head or 0, label, CHANNEL, may_adjust(CHANNEL, head, partner, _ABOVE_CHANNEL)
        )
        group.rows.append(row_for(partner_key(partner["pk"]), partner["account__name"], "partner"))
    groups = [*teams.values(), *channels.values()]
    # A team's or channel's total judged by the level above is internal judgment on several
    # reps or partners together: never shown to a partner user (it would reveal the other
    # partners' figures), whatever FORECAST_ADJUSTMENTS_VISIBLE_TO_PARTNERS says.
    judged = {}
    if groups and not is_partner_user(user):
        keys = [g.group_key for g in groups if g.group_key is not None]
        judged = group_adjustments(period=period, keys=keys)
    for group in groups:
        group.totals = _totals(group.rows)
        group.adjustments = judged.get(group.group_key or "", {})
    rep_groups = sorted(teams.values(), key=lambda g: (g.key == "0", g.label.lower()))
    partner_groups = sorted(channels.values(), key=lambda g: (g.key == "0", g.label.lower()))
    return ForecastCall(
        period=period,
        week=week,
        rep_groups=rep_groups,
        partner_groups=partner_groups,
        rep_total=_grand_total(rep_groups),
        partner_total=_grand_total(partner_groups),
        show_adjustments=show_adjustments,
    )


def _unadjusted(figures: SubmittedFigures | None) -> SubmittedFigures | None:
    if figures is None:
        return None
    return SubmittedFigures(
        submission=figures.submission,
        commit=figures.commit,
        best_case=figures.best_case,
        adjusted_commit=figures.commit,
        adjusted_best_case=figures.best_case,
    )


# ---------------------------------------------------------------- trend


@dataclass
class TrendPoint:
    week: int  # 1 for the period's first week
    values: list[Decimal | None]  # one per period, current first


@dataclass
class ForecastTrend:
    side: str  # "rep" or "partner"
    periods: list[Period]  # current first
    points: list[TrendPoint]
    scale: Decimal
    figure: str = "commit"  # "commit" or "best_case"


def weekly_points(period: Period) -> list[tuple[datetime.date, datetime.datetime]]:
    """The weeks of a period (the first and last ones cut at its bounds): each one's first
    day, and the moment its forecast is read at, its end."""
    weeks = []
    day = period.start
    while day < period.end:
        end = min(week_of(day) + datetime.timedelta(days=7), period.end)
        weeks.append((day, _start_of(end)))
        day = end
    return weeks


def forecast_trend(
    *,
    user,
    period: Period,
    side: str = "rep",
    figure: str = "commit",
    previous: int = 3,
    now: datetime.datetime | None = None,
) -> ForecastTrend:
    """The Commit forecast (``figure`` "commit") or the Best Case one ("best_case"),
    adjusted where the user sees adjustments, of the reps (``side`` "rep") or the partners
    ("partner") ``user`` oversees, at the end of each week of ``period`` and of the
    ``previous`` periods at the same week. Where none of them had submitted yet, the
    period's forecast snapshot (taken at its start) stands in: won + Commit for Commit,
    won + Commit + Best Case for Best Case, as a submission's figures are proposed. Weeks
    still to come are empty; the week under way reads now. Five queries."""
    now = now or timezone.now()
    figure = figure if figure in FIGURE_NAMES else "commit"
    if is_partner_user(user):
        side = "partner"
    periods = [period]
    for _i in range(previous):
        periods.append(periods[-1].previous())
    if side == "partner":
        keys = [partner_key(pk) for pk in overseen_partners(user).values_list("pk", flat=True)]
    else:
        side = "rep"
        keys = [rep_key(pk) for pk in overseen_reps(user).values_list("pk", flat=True)]
    show_adjustments = not is_partner_user(user) or adjustments_visible_to_partners()
    period_q = Q()
    for p in periods:
        period_q |= Q(period_kind=p.kind, period_start=p.start)
    submissions = list(
        ForecastSubmission.objects.filter(period_q, scope_key__in=keys)
        .order_by("submitted_at", "id")
        .annotate(figure=F(figure))
        .values("pk", "period_start", "scope_key", "figure", "submitted_at")
    )
    adjustments = list(
        ForecastAdjustment.objects.filter(
            figure=figure, submission_id__in=[s["pk"] for s in submissions]
        )
        .order_by("adjusted_at", "id")
        .values("submission_id", "to_amount", "adjusted_at")
    )
    snapshots = {
        (row["period_start"], row["scope_key"]): row["commit"]
        + row["closed"]
        + (row["best_case"] if figure == "best_case" else ZERO)
        for row in ForecastSnapshot.objects.filter(period_q, scope_key__in=keys).values(
            "period_start", "scope_key", "commit", "closed", "best_case"
        )
    }
    weeks_by_period = [weekly_points(p) for p in periods]
    points = []
    for index in range(max(len(weeks) for weeks in weeks_by_period)):
        values: list[Decimal | None] = []
        for p, weeks in zip(periods, weeks_by_period, strict=True):
            if index >= len(weeks) or _start_of(weeks[index][0]) > now:
                values.append(None)
                continue
            # The week under way reads everything up to now, included.
            moment = min(weeks[index][1], now + datetime.timedelta(microseconds=1))
            values.append(
                _total_at(p, moment, keys, submissions, adjustments, snapshots, show_adjustments)
            )
        points.append(TrendPoint(week=index + 1, values=values))
    scale = max(
        (value for point in points for value in point.values if value is not None), default=ZERO
    )
    return ForecastTrend(side=side, periods=periods, points=points, scale=scale, figure=figure)


def _total_at(
    period, moment, keys, submissions, adjustments, snapshots, show_adjustments
) -> Decimal | None:
    """The forecast figure of ``period`` as submitted (and adjusted) before ``moment``."""
    latest: dict[str, dict] = {}
    for row in submissions:
        if row["period_start"] == period.start and row["submitted_at"] < moment:
            latest[row["scope_key"]] = row
    if not latest:
        found = [snapshots[(period.start, key)] for key in keys if (period.start, key) in snapshots]
        return sum(found, ZERO) if found else None
    adjusted: dict[int, Decimal] = {}
    if show_adjustments:
        ids = {row["pk"] for row in latest.values()}
        for row in adjustments:
            if row["submission_id"] in ids and row["adjusted_at"] < moment:
                adjusted[row["submission_id"]] = row["to_amount"]
    return sum((adjusted.get(row["pk"], row["figure"]) for row in latest.values()), ZERO)
