"""Forecast accuracy: the Commit forecast of each period at its start (frozen by a snapshot,
else rebuilt from the kept totals) against what was won, and the estimate of the won deals."""

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import (
    Case,
    Count,
    DateTimeField,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from climcrm.figures import rate
from climcrm.models import User
from climcrm.periods import MONTH, QUARTER, Period
from forecasting import summaries
from forecasting.models import ForecastSnapshot, SnapshotScope
from forecasting.reports.common import (
    MONEY,
    ZERO,
    money_sum,
    period_deals,
    report_scope,
    reports_db,
    scoped_deals,
)
from forecasting.scopes import ALL, PARTNER, REP, TEAM, Scope
from opportunities.models import OpportunityHistory, Stage


@dataclass
class AccuracyRow:
    period: Period
    commit: Decimal
    source: str  # "snapshot" or "history"
    won: Decimal
    won_count: int
    estimated: Decimal
    realised: Decimal

    @property
    def accuracy(self):
        return rate(self.won, self.commit)

    @property
    def estimate_ratio(self):
        return rate(self.realised, self.estimated)

    @property
    def gap(self):
        return self.won - self.commit


def _snapshot_commits(*, periods: list[Period], scope: Scope) -> dict:
    """Commit forecasts frozen by snapshots, per period start (one query)."""
    if not periods:
        return {}
    snapshots = ForecastSnapshot.objects.using(reports_db()).filter(
        period_kind=periods[0].kind, period_start__in=[p.start for p in periods]
    )
    if scope.kind == ALL:
        snapshots = snapshots.filter(scope=SnapshotScope.ALL)
    elif scope.kind == REP:
        snapshots = snapshots.filter(Q(user_id=scope.pk), scope=SnapshotScope.REP)
    elif scope.kind == TEAM:
        snapshots = snapshots.filter(
            scope=SnapshotScope.REP,
            user__in=User.objects.filter(manager_id=scope.pk).values("pk"),
        )
    elif scope.kind == PARTNER:
        snapshots = snapshots.filter(Q(partner_id=scope.pk), scope=SnapshotScope.PARTNER)
    else:
        snapshots = snapshots.filter(
            scope=SnapshotScope.PARTNER, partner__channel_manager_id=scope.pk
        )
    return {
        row["period_start"]: row["commit"] + row["closed"]
        for row in snapshots.order_by()
        .values("period_start")
        .annotate(commit=Sum("commit"), closed=Sum("closed"))
    }


# A won deal's amount at the start of the month or quarter of its close date, kept by the
# deal services (``Opportunity.close_month_start_amount``).
START_AMOUNTS = {MONTH: "close_month_start_amount", QUARTER: "close_quarter_start_amount"}


def won_estimate(periods: list[Period]) -> dict:
    """Annotations giving ``estimate`` to won deals closing in one of ``periods``: its amount
    when it first entered Commit, else at the start of its period, else at its creation.

    The deal services keep each of those amounts on the deal, so the estimate reads no
    history; only for other kinds of period (a year) is the amount at the period start
    looked up in each deal's history.
    """
    annotations: dict[str, Any] = {}
    kind = periods[0].kind
    at_start: Any
    if kind in START_AMOUNTS:
        at_start = F(START_AMOUNTS[kind])
    else:
        annotations["period_start"] = Case(
            *[
                When(close_date__gte=p.start, close_date__lt=p.end, then=Value(p.start_moment()))
                for p in periods
            ],
            output_field=DateTimeField(),
        )
        at_start = Subquery(
            OpportunityHistory.objects.filter(
                opportunity_id=OuterRef("pk"), changed_at__lte=OuterRef("period_start")
            )
            .order_by("-version")
            .values("amount")[:1]
        )
    annotations["estimate"] = Coalesce(
        F("commit_entry_amount"), at_start, F("created_amount"), Value(ZERO), output_field=MONEY
    )
    return annotations


def won_estimates(*, user, periods: list[Period], scope: Scope) -> dict[int, dict]:
    """Per period: won amount and count, and the estimate of those won deals.

    The estimate of a won deal is its amount when it entered Commit (first time), else
    its amount at the period start, else its amount at creation. One query.
    """
    if not periods:
        return {}
    bucket = Case(
        *[
            When(close_date__gte=p.start, close_date__lt=p.end, then=Value(index))
            for index, p in enumerate(periods)
        ],
        default=Value(-1),
        output_field=IntegerField(),
    )
    won = (
        scoped_deals(user, scope)
        .filter(
            stage=Stage.CLOSED_WON, close_date__gte=periods[0].start, close_date__lt=periods[-1].end
        )
        .annotate(bucket=bucket, **won_estimate(periods))
        .order_by()
        .values("bucket")
        .annotate(
            count=Count("pk"),
            won=money_sum("amount"),
            estimated=money_sum("estimate"),
        )
    )
    return {row["bucket"]: row for row in won}


def forecast_accuracy(*, user, periods: list[Period], scope: Scope) -> list[AccuracyRow]:
    """Per period: commit at its start (snapshot, else the kept totals) against won.

    At most three queries: the snapshots, the Commit changes since the starts of the
    periods without a snapshot, and the won deals. Months and quarters read the won deals
    from the kept totals; other periods (a year) from the deals and their history.
    """
    scope = report_scope(user, scope)
    snapshots = _snapshot_commits(periods=periods, scope=scope)
    unfrozen = [period for period in periods if period.start not in snapshots]
    commits = (
        summaries.commit_at_starts(scope, unfrozen, now=timezone.now(), alias=reports_db())
        if unfrozen
        else []
    )
    reconstructed = dict(zip(unfrozen, commits, strict=True))
    if periods and periods[0].kind in summaries.WON_ESTIMATES:
        won = summaries.won_estimates(scope, periods, alias=reports_db())
    else:
        won = won_estimates(user=user, periods=periods, scope=scope)
    rows = []
    for index, period in enumerate(periods):
        result = won.get(index, {})
        from_snapshot = period.start in snapshots
        rows.append(
            AccuracyRow(
                period=period,
                commit=snapshots[period.start] if from_snapshot else reconstructed[period],
                source="snapshot" if from_snapshot else "history",
                won=result.get("won", ZERO),
                won_count=result.get("count", 0),
                estimated=result.get("estimated", ZERO),
                realised=result.get("won", ZERO),
            )
        )
    return rows


def accuracy_deals(*, user, period: Period, scope: Scope) -> QuerySet:
    """The won deals of a period with their estimate, for the drill-down."""
    return (
        period_deals(user, period, scope)
        .filter(stage=Stage.CLOSED_WON)
        .annotate(**won_estimate([period]))
        .select_related("account", "owner", "partner__account")
        .order_by("close_date", "pk")
    )
