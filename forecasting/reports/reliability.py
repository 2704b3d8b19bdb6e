"""Forecast reliability of each rep and each partner, period by period.

For each period (the quarters or months of the trend) and each rep (owner) or partner:

- the Commit and Best Case they submitted for the period against what they won;
- the amounts they estimated for their won deals against the amounts realised (seed 002):
  at creation, when the deal first entered Commit, at the start of the period of its close
  date, each compared over the won deals that have it;
- the slip rate: of the deals expected in the period (closing in it now, or moved out of
  it), the share whose close date a history row moved past its end and that do not close
  in it now;
- a reliability score:

      amount accuracy = 100 − 100 × Σ |won amount − estimate| ÷ Σ won amount   (never below 0)
      dates kept      = 100 − slip rate
      reliability     = (amount accuracy + dates kept) ÷ 2

  the estimate of a won deal being the one of the accuracy report (``accuracy.won_estimate``):
  its amount when it entered Commit, else at the period start, else at creation. When only
  one part has deals behind it, the score is that part. The score over several periods is
  computed from their summed figures, so bigger deals and busier periods weigh more.

Deals closing in a period, won amounts and estimates belong to the deal's current owner and
partner; slips to the owner and partner of the history row (who held the deal then). Figures
keep full precision; the page rounds each once. Queries: two per group (deals, history rows)
plus the names and the submissions, whatever the number of deals.
"""

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import cached_property

from django.db.models import (
    Case,
    Count,
    DateField,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Q,
    Value,
    When,
)
from django.db.models.functions import Abs

from climcrm.charts import share
from climcrm.figures import rate
from climcrm.periods import MONTH, QUARTER, Period, last_periods
from climcrm.roles import is_partner_user
from forecasting.models import ForecastSubmission
from forecasting.reports.accuracy import START_AMOUNTS, won_estimate
from forecasting.reports.common import (
    ZERO,
    money_sum,
    names_for,
    report_scope,
    reports_db,
    scoped_deals,
    scoped_history,
)
from forecasting.scopes import ALL, CHANNEL, PARTNER, REP, TEAM, Scope
from forecasting.submissions import visible_submissions
from opportunities.models import Opportunity, Stage

HUNDRED = Decimal(100)
GROUP_FIELDS = {REP: "owner_id", PARTNER: "partner_id"}
PERIOD_KINDS = (QUARTER, MONTH)
TREND_LENGTH = 8

_SUMS = (
    "won",
    "estimated",
    "abs_error",
    "created",
    "created_won",
    "commit_entry",
    "commit_entry_won",
    "at_start",
    "at_start_won",
    "submitted_won",
)
_COUNTS = ("won_count", "expected_count", "slipped_count")


@dataclass
class ReliabilityFigures:
    """The figures of one subject over one period (or several, added up)."""

    period: Period | None = None
    won: Decimal = ZERO
    won_count: int = 0
    estimated: Decimal = ZERO
    abs_error: Decimal = ZERO
    created: Decimal = ZERO
    created_won: Decimal = ZERO
    commit_entry: Decimal = ZERO
    commit_entry_won: Decimal = ZERO
    at_start: Decimal = ZERO
    at_start_won: Decimal = ZERO
    expected_count: int = 0
    slipped_count: int = 0
    submitted_commit: Decimal | None = None
    submitted_best_case: Decimal | None = None
    # What was won in the periods with a submission: what the submitted figures compare with.
    submitted_won: Decimal = ZERO

    def plus(self, other: "ReliabilityFigures") -> "ReliabilityFigures":
        total = ReliabilityFigures(period=None)
        for name in _SUMS + _COUNTS:
            setattr(total, name, getattr(self, name) + getattr(other, name))
        for name in ("submitted_commit", "submitted_best_case"):
            mine, theirs = getattr(self, name), getattr(other, name)
            setattr(
                total,
                name,
                None if mine is None and theirs is None else (mine or 0) + (theirs or 0),
            )
        return total

    # Realised against each estimate, in % (100 % = the estimate came true).
    @property
    def won_of_commit(self) -> Decimal | None:
        return rate(self.submitted_won, self.submitted_commit)

    @property
    def won_of_best_case(self) -> Decimal | None:
        return rate(self.submitted_won, self.submitted_best_case)

    @property
    def won_of_created(self) -> Decimal | None:
        return rate(self.created_won, self.created)

    @property
    def won_of_commit_entry(self) -> Decimal | None:
        return rate(self.commit_entry_won, self.commit_entry)

    @property
    def won_of_at_start(self) -> Decimal | None:
        return rate(self.at_start_won, self.at_start)

    @property
    def slip_rate(self) -> Decimal | None:
        return rate(self.slipped_count, self.expected_count)

    @property
    def amount_accuracy(self) -> Decimal | None:
        if not self.won:
            return None
        return max(ZERO, HUNDRED - self.abs_error * HUNDRED / self.won)

    @property
    def dates_kept(self) -> Decimal | None:
        slip_rate = self.slip_rate
        return None if slip_rate is None else HUNDRED - slip_rate

    @property
    def score(self) -> Decimal | None:
        parts = [part for part in (self.amount_accuracy, self.dates_kept) if part is not None]
        if not parts:
            return None
        return sum(parts, ZERO) / len(parts)

    @property
    def bar(self) -> str:
        """The score as a bar's length, in % of 100 (``climcrm.charts.share``)."""
        return f"{share(self.score, HUNDRED):f}"


@dataclass
class SubjectReliability:
    """A rep or a partner: one row of figures per period of the trend, and their total."""

    kind: str
    key: int
    name: str
    periods: list[ReliabilityFigures] = field(default_factory=list)

    @cached_property
    def total(self) -> ReliabilityFigures:
        total = ReliabilityFigures()
        for figures in self.periods:
            total = total.plus(figures)
        return total

    @property
    def scope_key(self) -> str:
        return f"{self.kind}:{self.key}"


def _by_period(column: str, periods: list[Period], value, output_field) -> Case:
    """``value(index, period)`` for the period ``column`` falls in, else NULL (-1 for
    integers)."""
    return Case(
        *[
            When(**{f"{column}__gte": p.start, f"{column}__lt": p.end}, then=value(index, p))
            for index, p in enumerate(periods)
        ],
        default=Value(-1) if isinstance(output_field, IntegerField) else None,
        output_field=output_field,
    )


def _bucket(column: str, periods: list[Period]) -> Case:
    return _by_period(column, periods, lambda index, _p: Value(index), IntegerField())


def _deal_rows(user, scope: Scope, group: str, periods: list[Period], alias: str) -> dict:
    """Per (subject, period index): the deals closing in the period now (``closing_count``),
    and the won ones with their amounts and estimates. One query."""
    key = GROUP_FIELDS[group]
    at_start = START_AMOUNTS[periods[0].kind]
    won = Q(stage=Stage.CLOSED_WON)
    rows = (
        scoped_deals(user, scope, alias=alias)
        .filter(
            close_date__gte=periods[0].start,
            close_date__lt=periods[-1].end,
            **{f"{key}__isnull": False},
        )
        .annotate(bucket=_bucket("close_date", periods), **won_estimate(periods))
        .order_by()
        .values(key, "bucket")
        .annotate(
            closing_count=Count("pk"),
            won_count=Count("pk", filter=won),
            won=money_sum("amount", won),
            estimated=money_sum("estimate", won),
            abs_error=money_sum(Abs(F("amount") - F("estimate")), won),
            created=money_sum("created_amount", won),
            created_won=money_sum("amount", won & Q(created_amount__isnull=False)),
            commit_entry=money_sum("commit_entry_amount", won),
            commit_entry_won=money_sum("amount", won & Q(commit_entry_amount__isnull=False)),
            at_start=money_sum(at_start, won),
            at_start_won=money_sum("amount", won & Q(**{f"{at_start}__isnull": False})),
        )
    )
    return {(row[key], row["bucket"]): row for row in rows}


def _slip_rows(user, scope: Scope, group: str, periods: list[Period], alias: str) -> dict:
    """Per (subject, period index): the deals whose close date a history row moved from the
    period to past its end, and that do not close in it now. One query.

    The deals expected in a period are those closing in it now and those slipped out of it:
    each counts once, whatever the number of rows that moved its date."""
    key = GROUP_FIELDS[group]
    # One range over all the periods, then each row against its own period's bounds: a
    # single range plans in a fraction of the time of one OR'd range per period.
    starts = _by_period("prev_close_date", periods, lambda _i, p: Value(p.start), DateField())
    ends = _by_period("prev_close_date", periods, lambda _i, p: Value(p.end), DateField())
    # The deal of each slipped row, when it closes in that row's period now. Only the deals
    # closing within the periods can: their range of the close date index is all that is
    # read, not every deal.
    closing_now = (
        Opportunity.objects.using(alias)
        .filter(close_date__gte=periods[0].start, close_date__lt=periods[-1].end)
        .filter(
            pk=OuterRef("opportunity_id"),
            close_date__gte=OuterRef("start"),
            close_date__lt=OuterRef("end"),
        )
    )
    slipped = (
        scoped_history(user, scope, alias=alias)
        # The partial index of later close dates answers (for one partner, its own one).
        .filter(
            prev_close_date__gte=periods[0].start,
            prev_close_date__lt=periods[-1].end,
            close_date__gt=F("prev_close_date"),
            **{f"{key}__isnull": False},
        )
        .annotate(bucket=_bucket("prev_close_date", periods), start=starts, end=ends)
        .filter(close_date__gte=F("end"))
        .filter(~Exists(closing_now))
        .order_by()
        .values(key, "bucket")
        .annotate(slipped_count=Count("opportunity_id", distinct=True))
    )
    return {(row[key], row["bucket"]): row for row in slipped}


def submitted_forecasts(
    *, user, scope: Scope, group: str, periods: list[Period], alias: str | None = None
) -> dict:
    """The Commit and Best Case each subject submitted per period, as submitted (before any
    manager's adjustment), from its latest submission for the period the user may open:
    ``{(subject, period index): (commit, best_case)}``. One query."""
    key = "user_id" if group == REP else "partner_id"
    alias = alias or reports_db()
    rows = visible_submissions(user).using(alias)
    if group == REP:
        scoped = {ALL: Q(), REP: Q(user_id=scope.pk), TEAM: Q(user__manager_id=scope.pk)}
    else:
        scoped = {
            ALL: Q(),
            PARTNER: Q(partner_id=scope.pk),
            CHANNEL: Q(partner__channel_manager_id=scope.pk),
        }
    if scope.kind not in scoped:
        return {}
    newer = ForecastSubmission.objects.using(alias).filter(
        Q(submitted_at__gt=OuterRef("submitted_at"))
        | Q(submitted_at=OuterRef("submitted_at"), pk__gt=OuterRef("pk")),
        period_kind=OuterRef("period_kind"),
        period_start=OuterRef("period_start"),
        scope_key=OuterRef("scope_key"),
    )
    index = {period.start: number for number, period in enumerate(periods)}
    latest = (
        rows.filter(
            scoped[scope.kind],
            period_kind=periods[0].kind,
            period_start__in=list(index),
            **{f"{key}__isnull": False},
        )
        .filter(~Exists(newer))
        .order_by()
        .values(key, "period_start", "commit", "best_case")
    )
    return {
        (row[key], index[row["period_start"]]): (row["commit"], row["best_case"]) for row in latest
    }


def reliability(
    *, user, scope: Scope, group: str, periods: list[Period], alias: str | None = None
) -> list[SubjectReliability]:
    """The reliability of each rep (``group`` REP) or partner (PARTNER) within ``scope``,
    period by period over ``periods`` (consecutive months or quarters, oldest first).

    A partner user reads their own partner only, and no rep.
    """
    scope = report_scope(user, scope)
    if group not in GROUP_FIELDS or not periods or periods[0].kind not in PERIOD_KINDS:
        return []
    if group == REP and is_partner_user(user):
        return []
    alias = alias or reports_db()
    deals = _deal_rows(user, scope, group, periods, alias)
    slips = _slip_rows(user, scope, group, periods, alias)
    submitted = submitted_forecasts(
        user=user, scope=scope, group=group, periods=periods, alias=alias
    )
    keys = {key for key, _index in (*deals, *slips, *submitted)}
    names = names_for(group, sorted(keys), alias) if keys else {}
    subjects = []
    for key in keys:
        subject = SubjectReliability(kind=group, key=key, name=names.get(key, ""))
        for index, period in enumerate(periods):
            figures = ReliabilityFigures(period=period)
            row = {**deals.get((key, index), {}), **slips.get((key, index), {})}
            for name, value in row.items():
                if name in _SUMS or name in _COUNTS:
                    setattr(figures, name, value)
            figures.expected_count = row.get("closing_count", 0) + figures.slipped_count
            commit, best_case = submitted.get((key, index), (None, None))
            if commit is not None:
                figures.submitted_commit, figures.submitted_best_case = commit, best_case
                figures.submitted_won = figures.won
            subject.periods.append(figures)
        subjects.append(subject)
    return sorted(subjects, key=lambda s: (s.name.lower(), s.key))


def partner_reliability(
    *, user, partner_id: int, day: date | None = None, alias: str | None = None
) -> SubjectReliability:
    """One partner's reliability over the 8 quarters up to the one of ``day`` (today by
    default): the block of the partner's page and of its reviews."""
    periods = last_periods(QUARTER, TREND_LENGTH, today=day)
    rows = reliability(
        user=user, scope=Scope(PARTNER, partner_id), group=PARTNER, periods=periods, alias=alias
    )
    if rows:
        return rows[0]
    empty = SubjectReliability(kind=PARTNER, key=partner_id, name="")
    empty.periods = [ReliabilityFigures(period=period) for period in periods]
    return empty
