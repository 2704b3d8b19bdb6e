"""Running totals of the pipeline, kept by the deal services, read by the metrics, forecast
and forecast accuracy pages.

The metrics add up every deal created, closed or moved in a period, and the open pipeline
at month ends; the forecast and accuracy every deal closing in a period. Over years of deals
those sums read hundreds of thousands of rows; here they read one row per month, owner or
partner, type and stage (``PipelineSummary``), whatever the number of deals. The deal
services call ``record_deal_change`` in the same transaction as the change, so the totals
are never behind the deals. ``forecasting.kept`` computes them from the deals and their
history (``manage.py totals`` checks and repairs them), and the tests check that both ways
give the same rows.

What a deal adds, as a function of its current row (``deal_rows``):

* ``open``: an open deal, by its stage now (``month`` is ``OPEN_MONTH``);
* ``created``: the deal, in the month it was created, by the furthest stage it reached;
* ``closed``: a won or lost deal, in the month it closed; ``days`` is its sales cycle;
* ``forecast``: an open or won deal, in the month of its close date, by stage and forecast
  category (held in ``type``), ``rank`` 1 when it has no amount;
* ``won_m``, ``won_q``: a won deal, in the month of its close date, ``weighted`` holding its
  estimate for forecast accuracy (amount on entering Commit, else at the start of the month
  or quarter of its close date, else at creation).

And from its history:

* ``change``: the open pipeline a change added and took away, owner, partner and stage as
  they were then, in the month of the change. The pipeline at the end of a month is the open
  pipeline now less the changes made since;
* ``stay``: a stay in an open stage that ended in the month (by the stage left); ``days`` is
  its length;
* ``commit``: the Commit forecast (Commit and won amounts) a change added and took away,
  owner, partner and close month (``close_month``) as they were then, in the month of the
  change. The Commit forecast of a period at its start is the one now (``forecast`` rows)
  less the changes made since.

Owners and partners are held as ids with 0 for none, so that the unique key holds, and
each total is kept twice: per owner and per partner (``ANY``).
"""

from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db.models import (
    Q,
    Sum,
)
from django.utils import timezone

from accounts.models import Partner
from climcrm.models import User
from forecasting import month_changes
from forecasting.models import PipelineSummary
from forecasting.month_changes import month_of
from forecasting.scopes import ALL, PARTNER, REP, TEAM
from forecasting.totals import add_to
from opportunities.changes import DealChange, deal_state
from opportunities.models import (
    CLOSED_STAGES,
    OPEN_STAGES,
    ForecastCategory,
    OpportunityHistory,
    Stage,
)

ZERO = Decimal("0")
OPEN_MONTH = date(2000, 1, 1)
OPEN, CHANGE, CREATED, CLOSED, STAY = "open", "change", "created", "closed", "stay"
FORECAST, COMMIT_CHANGE = "forecast", "commit"
# Won deals by close month, ``weighted`` holding the sum of their estimates (forecast
# accuracy) as a month's or a quarter's estimate reads it.
WON_ESTIMATES = {
    "month": ("won_m", "close_month_start_amount"),
    "quarter": ("won_q", "close_quarter_start_amount"),
}
# Every total is written twice: per owner (partner ``ANY``) and per partner (owner ``ANY``).
# A report is about everyone, an owner or team, or a partner or channel, never an owner and
# a partner at once: so a month holds owners + partners rows, not owners × partners.
ANY = -1
_TICK = timedelta(microseconds=1)
KEY_FIELDS = ("kind", "month", "owner_key", "partner_key", "type", "stage", "rank", "close_month")
MEASURES = ("count", "amount", "weighted", "days")


def change_month(moment: datetime) -> date:
    """The month a change counts in: a change made exactly at midnight on the 1st still
    belongs to the state at the end of the month before (``changed_at <= moment``)."""
    return month_of(moment - _TICK)


def weighted(amount, probability) -> Decimal:
    return (amount or ZERO) * (probability or 0) / 100


def _days(later: datetime, earlier: datetime) -> float:
    return (later - earlier).total_seconds() / 86400.0


def _add(totals: dict, key: tuple, sign: int, count=1, amount=ZERO, weight=ZERO, days=0.0):
    """Add to the owner's row and to the partner's row of ``key`` (see ``ANY``)."""
    if len(key) < len(KEY_FIELDS):
        key = (*key, OPEN_MONTH)  # only ``commit_change`` rows are about a close month
    kind, month, owner, partner, *rest = key
    for split in ((kind, month, owner, ANY, *rest), (kind, month, ANY, partner, *rest)):
        entry = totals[split]
        entry[0] += sign * count
        entry[1] += sign * (amount or ZERO)
        entry[2] += sign * weight
        entry[3] += sign * days


def deal_rows(state: dict, totals: dict, sign: int = 1) -> None:
    """Add (``sign`` 1) or take away (-1) what the deal's current row contributes."""
    owner, partner, kind = state["owner"], state["partner"], state["type"]  # kind: deal type
    amount = state["amount"]
    if state["stage"] in OPEN_STAGES:
        key = (OPEN, OPEN_MONTH, owner, partner, kind, state["stage"], 0)
        _add(totals, key, sign, 1, amount, weighted(amount, state["probability"]))
    created = month_of(state["created_at"])
    _add(
        totals,
        (CREATED, created, owner, partner, kind, "", state["furthest_rank"]),
        sign,
        1,
        amount,
    )
    if state["stage"] != Stage.CLOSED_LOST:
        key = (
            FORECAST,
            state["close_date"].replace(day=1),
            owner,
            partner,
            state["forecast_category"],
            state["stage"],
            1 if amount is None else 0,
        )
        _add(totals, key, sign, 1, amount, weighted(amount, state["probability"]))
    if state["stage"] == Stage.CLOSED_WON:
        for won_kind, at_start in WON_ESTIMATES.values():
            estimate = _first_set(
                state["commit_entry_amount"], state[at_start], state["created_amount"]
            )
            key = (won_kind, state["close_date"].replace(day=1), owner, partner, "", "", 0)
            _add(totals, key, sign, 1, amount, estimate)
    if state["stage"] in CLOSED_STAGES and state["closed_at"] is not None:
        key = (
            CLOSED,
            month_of(state["closed_at"]),
            owner,
            partner,
            kind,
            state["stage"],
            state["furthest_rank"],
        )
        days = _days(state["closed_at"], state["created_at"])
        _add(totals, key, sign, 1, amount, ZERO, days)


def _first_set(*values) -> Decimal:
    return next((value for value in values if value is not None), ZERO)


def _open_change(totals: dict, month: date, values: dict, deal_type: str, sign: int) -> None:
    """The open pipeline of one side of a change (``values``: stage, amount, probability,
    owner, partner as they were)."""
    if values["stage"] not in OPEN_STAGES:
        return
    key = (
        CHANGE,
        month,
        values["owner"] or 0,
        values["partner"] or 0,
        deal_type,
        values["stage"],
        0,
    )
    _add(totals, key, sign, 1, values["amount"], weighted(values["amount"], values["probability"]))


def in_commit_forecast(stage: str, category: str) -> bool:
    """Counted in the Commit forecast: won, or open in Commit."""
    return stage == Stage.CLOSED_WON or (
        stage in OPEN_STAGES and category == ForecastCategory.COMMIT
    )


def _commit_change(totals: dict, month: date, values: dict, sign: int) -> None:
    """The Commit forecast of one side of a change (stage, forecast category, amount, close
    date, owner and partner as they were)."""
    if not in_commit_forecast(values["stage"], values["forecast_category"]):
        return
    key = (
        COMMIT_CHANGE,
        month,
        values["owner"] or 0,
        values["partner"] or 0,
        "",
        "",
        0,
        values["close_date"].replace(day=1),
    )
    _add(totals, key, sign, 1, values["amount"])


def _history_of(deal_id: int, using: str) -> list[dict]:
    return list(
        OpportunityHistory.objects.using(using)
        .filter(opportunity_id=deal_id)
        .values(
            "changed_at",
            "stage",
            "amount",
            "probability",
            "owner_id",
            "partner_id",
            "prev_stage",
            "prev_amount",
            "prev_probability",
            "prev_owner_id",
            "prev_partner_id",
            "prev_stage_entered_at",
            "close_date",
            "forecast_category",
            "prev_close_date",
            "prev_forecast_category",
        )
    )


def _history_rows(
    history: list[dict], totals: dict, *, state: dict, sign: int, stays: bool, changes: bool
) -> None:
    """The ``stay`` (current owner and partner) and ``change`` (current type) rows of a deal's
    history, to move them when the owner, partner or type changes."""
    for row in history:
        if stays and row["prev_stage_entered_at"] is not None:
            key = (
                STAY,
                month_of(row["changed_at"]),
                state["owner"],
                state["partner"],
                "",
                row["prev_stage"],
                0,
            )
            _add(
                totals,
                key,
                sign,
                1,
                ZERO,
                ZERO,
                _days(row["changed_at"], row["prev_stage_entered_at"]),
            )
        if changes:
            month = change_month(row["changed_at"])
            after = {
                "stage": row["stage"],
                "amount": row["amount"],
                "probability": row["probability"],
                "owner": row["owner_id"],
                "partner": row["partner_id"],
            }
            before = {
                "stage": row["prev_stage"],
                "amount": row["prev_amount"],
                "probability": row["prev_probability"],
                "owner": row["prev_owner_id"],
                "partner": row["prev_partner_id"],
            }
            _open_change(totals, month, after, state["type"], sign)
            _open_change(totals, month, before, state["type"], -sign)


def record_deal_change(*, before: dict | None, after: dict, at: datetime, using: str) -> None:
    """Apply one change of a deal to the totals (call it before the change's history row is
    written: the deal's earlier history rows are moved when its owner, partner or type
    changed). ``before`` is None for a new deal. One query, two when rows move, and the
    deal's row of the month (``month_changes.record``)."""
    totals: dict = defaultdict(lambda: [0, ZERO, ZERO, 0.0])
    deal_rows(after, totals, 1)
    month = change_month(at)
    _open_change(totals, month, after, after["type"], 1)
    _commit_change(totals, month, after, 1)
    if before is not None:
        deal_rows(before, totals, -1)
        _open_change(totals, month, before, after["type"], -1)
        _commit_change(totals, month, before, -1)
        if before["stage"] in OPEN_STAGES and before["stage"] != after["stage"]:
            key = (STAY, month_of(at), after["owner"], after["partner"], "", before["stage"], 0)
            _add(totals, key, 1, 1, ZERO, ZERO, _days(at, before["stage_changed_at"]))
        moved = (before["owner"], before["partner"]) != (after["owner"], after["partner"])
        retyped = before["type"] != after["type"]
        if moved or retyped:
            history = _history_of(after["id"], using)
            _history_rows(history, totals, state=before, sign=-1, stays=moved, changes=retyped)
            _history_rows(history, totals, state=after, sign=1, stays=moved, changes=retyped)
    apply(totals, using=using)
    month_changes.record(deal_id=after["id"], before=before, after=after, at=at, using=using)


def on_deal_change(change: DealChange) -> None:
    """Keep the totals in step with a deal change (subscribed in ``ForecastingConfig``)."""
    record_deal_change(before=change.before, after=change.after, at=change.at, using=change.using)


def record_created_deals(deals: list[tuple[dict, datetime]], *, using: str) -> None:
    """Apply the creation of many deals at once (an import): what ``record_deal_change``
    adds for each new deal (``(deal_state, created at)``), in a few statements. The
    deals' month rows are written by the caller (``month_changes.created_rows``)."""
    totals: dict = defaultdict(lambda: [0, ZERO, ZERO, 0.0])
    for after, at in deals:
        deal_rows(after, totals, 1)
        month = change_month(at)
        _open_change(totals, month, after, after["type"], 1)
        _commit_change(totals, month, after, 1)
    keys = sorted(totals, key=_sort_key)
    # A statement's parameters are bounded (SQLite): a thousand keys at a time.
    for start in range(0, len(keys), 1000):
        apply({key: totals[key] for key in keys[start : start + 1000]}, using=using)


def forget_deal(deal, *, using: str) -> None:
    """Take a deal that is being deleted out of every total: what its row adds, and what its
    history added (call it before the history is deleted with it)."""
    state = deal_state(deal)
    totals: dict = defaultdict(lambda: [0, ZERO, ZERO, 0.0])
    deal_rows(state, totals, -1)
    history = _history_of(deal.pk, using)
    _history_rows(history, totals, state=state, sign=-1, stays=True, changes=True)
    for row in history:
        month = change_month(row["changed_at"])
        for prefix, sign in (("", -1), ("prev_", 1)):
            if prefix and not row["prev_stage"]:
                continue  # the creation row replaced nothing
            _commit_change(
                totals,
                month,
                {
                    "stage": row[f"{prefix}stage"],
                    "forecast_category": row[f"{prefix}forecast_category"],
                    "amount": row[f"{prefix}amount"],
                    "close_date": row[f"{prefix}close_date"],
                    "owner": row[f"{prefix}owner_id"],
                    "partner": row[f"{prefix}partner_id"],
                },
                sign,
            )
    apply(totals, using=using)


def apply(totals: dict, *, using: str) -> None:
    """Add ``totals`` (key → [count, amount, weighted, days]) to the table, in one statement."""

    add_to(
        PipelineSummary,
        KEY_FIELDS,
        MEASURES,
        totals,
        using=using,
        sort_key=lambda item: _sort_key(item[0]),
    )


def _sort_key(key: tuple) -> tuple:
    return (key[0], key[1].toordinal(), *key[2:])


def _as_date(value) -> date:
    if isinstance(value, datetime):
        return value.date()
    return value


def summary_q(scope) -> Q:
    """The rows of a scope: the owners' rows, or the partners' (owner and partner as the
    rows hold them)."""

    if scope.kind == ALL:
        return Q(partner_key=ANY)
    if scope.kind == REP:
        return Q(owner_key=scope.pk, partner_key=ANY)
    if scope.kind == TEAM:
        team = User.objects.filter(manager_id=scope.pk).values("pk")
        return Q(owner_key__in=team, partner_key=ANY)
    if scope.kind == PARTNER:
        return Q(owner_key=ANY, partner_key=scope.pk)
    channel = Partner.objects.filter(channel_manager_id=scope.pk).values("pk")
    return Q(owner_key=ANY, partner_key__in=channel)


# ---------------------------------------------------------------- reading


def _rows(kind: str, scope, alias: str):
    return PipelineSummary.objects.using(alias).filter(summary_q(scope), kind=kind).order_by()


def open_pipeline(scope, moment: datetime, *, now: datetime, stages, alias: str) -> list[dict]:
    """Count, amount and weighted amount of the open deals by stage and type at ``moment``:
    the open pipeline now less the changes made after ``moment`` (one query)."""
    now_rows = Q(kind=OPEN)
    if moment < now:
        if not _is_month_start(moment):
            raise ValueError("open_pipeline reads month ends or now")
        # ``change_month`` puts a change made at ``t`` in the month of ``t - 1 µs``: the
        # changes made after a month start are those of that month and later.
        now_rows |= Q(kind=CHANGE, month__gte=month_of(moment))

    result: dict[tuple, dict] = {}
    for row in (
        PipelineSummary.objects.using(alias)
        .filter(now_rows, summary_q(scope), stage__in=stages)
        .order_by()
        .values("kind", "stage", "type")
        .annotate(n=Sum("count"), total=Sum("amount"), weight=Sum("weighted"))
    ):
        sign = 1 if row["kind"] == OPEN else -1
        entry = result.setdefault(
            (row["stage"], row["type"]),
            {
                "stage": row["stage"],
                "type": row["type"],
                "count": 0,
                "total": ZERO,
                "weighted": ZERO,
            },
        )
        entry["count"] += sign * row["n"]
        entry["total"] += sign * row["total"]
        entry["weighted"] += sign * row["weight"]
    return list(result.values())


def _is_month_start(moment: datetime) -> bool:
    local = timezone.localtime(moment, timezone.get_default_timezone())
    return local.day == 1 and (local.hour, local.minute, local.second, local.microsecond) == (
        0,
        0,
        0,
        0,
    )


def month_range(kind: str, scope, start: date, end: date, alias: str):
    """Rows of ``kind`` for the months in [start, end) (dates on month starts)."""
    return _rows(kind, scope, alias).filter(month__gte=start, month__lt=end)


def stays(scope, start: date, end: date, *, alias: str) -> dict[str, tuple[int, float | None]]:
    """Stays in each open stage that ended in [start, end): count and average days."""
    return {
        row["stage"]: (row["n"], row["spent"] / row["n"] if row["n"] else None)
        for row in month_range(STAY, scope, start, end, alias)
        .values("stage")
        .annotate(n=Sum("count"), spent=Sum("days"))
    }


def cycles(scope, start: date, end: date, *, alias: str) -> list[tuple]:
    """Deals closed in [start, end) by outcome and type: count and average cycle days."""
    return [
        (row["stage"], row["type"], row["n"], row["spent"] / row["n"] if row["n"] else None)
        for row in month_range(CLOSED, scope, start, end, alias)
        .values("stage", "type")
        .annotate(n=Sum("count"), spent=Sum("days"))
        if row["n"]
    ]


def created_by_rank(scope, start: date, end: date, *, alias: str) -> dict[int, int]:
    """Deals created in [start, end) by the furthest stage they reached."""
    return {
        row["rank"]: row["n"]
        for row in month_range(CREATED, scope, start, end, alias)
        .values("rank")
        .annotate(n=Sum("count"))
    }


def closed_outcomes(scope, start: date, end: date, *, min_rank: int, alias: str) -> list[dict]:
    """Deals closed in [start, end) that reached ``min_rank``, by type and outcome."""
    return [
        {"type": row["type"], "stage": row["stage"], "count": row["n"], "total": row["total"]}
        for row in month_range(CLOSED, scope, start, end, alias)
        .filter(rank__gte=min_rank)
        .values("type", "stage")
        .annotate(n=Sum("count"), total=Sum("amount"))
        if row["n"]
    ]


def monthly_trends(scope, start: date, *, qualified_rank: int, alias: str) -> tuple[dict, dict]:
    """From ``start``: deals created (count, amount) and closed (won count and amount,
    qualified won and lost) per month key ``YYYY-MM``. Two queries."""
    created = {
        _key(row["month"]): {"count": row["n"], "total": row["total"]}
        for row in _rows(CREATED, scope, alias)
        .filter(month__gte=start)
        .values("month")
        .annotate(n=Sum("count"), total=Sum("amount"))
    }
    closed: dict[str, dict] = {}
    for row in (
        _rows(CLOSED, scope, alias)
        .filter(month__gte=start)
        .values("month", "stage", "rank")
        .annotate(n=Sum("count"), total=Sum("amount"))
    ):
        month = closed.setdefault(
            _key(row["month"]),
            {"won": 0, "won_amount": ZERO, "qualified_won": 0, "qualified_lost": 0},
        )
        outcome = "won" if row["stage"] == Stage.CLOSED_WON else "lost"
        if outcome == "won":
            month["won"] += row["n"]
            month["won_amount"] += row["total"]
        if row["rank"] >= qualified_rank:
            month[f"qualified_{outcome}"] += row["n"]
    return created, closed


def pipeline_at_month_ends(
    scope, month_ends: list[datetime], *, now: datetime, stages, alias: str
) -> list:
    """The open pipeline amount in ``stages`` at each moment (month starts, or now for the
    last): the amount now less the changes made after each (one query)."""

    past = [moment for moment in month_ends if moment < now]
    first = month_of(min(past)) if past else OPEN_MONTH
    now_total = ZERO
    by_month: dict[date, Decimal] = {}
    for row in (
        PipelineSummary.objects.using(alias)
        .filter(summary_q(scope), stage__in=stages)
        .filter(Q(kind=OPEN) | Q(kind=CHANGE, month__gte=first) if past else Q(kind=OPEN))
        .order_by()
        .values("kind", "month")
        .annotate(total=Sum("amount"))
    ):
        if row["kind"] == OPEN:
            now_total += row["total"]
        else:
            by_month[_as_date(row["month"])] = row["total"]
    result = []
    for moment in month_ends:
        if moment >= now:
            result.append(now_total)
            continue
        if not _is_month_start(moment):
            raise ValueError("pipeline_at_month_ends reads month ends or now")
        since = month_of(moment)
        result.append(now_total - sum((v for m, v in by_month.items() if m >= since), ZERO))
    return result


def _key(value) -> str:
    value = _as_date(value)
    return f"{value.year}-{value.month:02d}"


OWNER_SCOPES, PARTNER_SCOPES = ("rep", "team"), ("partner", "channel")


def forecast_family(scope, by: str) -> Q | None:
    """The rows of ``scope`` that can be grouped by owner (``by`` "owner") or partner, or
    None when the scope filters on the other dimension (the rows hold one or the other)."""
    if scope.kind == "all":
        return Q(partner_key=ANY) if by == "owner" else Q(owner_key=ANY)
    if (by == "owner") != (scope.kind in OWNER_SCOPES):
        return None
    return summary_q(scope)


def forecast_figures(rows_q: Q, start: date, end: date, *, by: str, alias: str) -> dict:
    """Forecast figures of the deals closing in [start, end) per owner or partner id (None
    for no partner), as ``selectors.figure_aggregates`` computes them (one query)."""

    key_field = "owner_key" if by == "owner" else "partner_key"
    figures: dict = {}
    for row in (
        PipelineSummary.objects.using(alias)
        .filter(rows_q, kind=FORECAST, month__gte=start, month__lt=end)
        .order_by()
        .values(key_field, "stage", "type", "rank")
        .annotate(n=Sum("count"), total=Sum("amount"), weight=Sum("weighted"))
    ):
        if not row["n"]:
            continue
        key = row[key_field] or None
        entry = figures.setdefault(key, empty_figures())
        if row["stage"] == Stage.CLOSED_WON:
            entry["closed"] += row["total"]
            entry["won_count"] += row["n"]
            continue
        entry["open_count"] += row["n"]
        entry["weighted"] += row["weight"]
        entry["no_amount_count"] += row["n"] if row["rank"] else 0
        category = {"commit": "commit", "best_case": "best_case", "pipeline": "pipeline"}
        if row["type"] in category:
            entry[category[row["type"]]] += row["total"]
    return figures


def empty_figures() -> dict:
    return {
        "closed": ZERO,
        "commit": ZERO,
        "best_case": ZERO,
        "pipeline": ZERO,
        "weighted": ZERO,
        "open_count": 0,
        "won_count": 0,
        "no_amount_count": 0,
    }


def commit_at_starts(scope, periods, *, now: datetime, alias: str) -> list[Decimal]:
    """The Commit forecast (Commit and won) of each period as it stood at its start: the
    amount now of the deals closing in it less what the changes made since did (one query).
    """

    first = min(period.start for period in periods)
    last = max(period.end for period in periods)
    committed = Q(stage=Stage.CLOSED_WON) | Q(stage__in=OPEN_STAGES, type=ForecastCategory.COMMIT)
    now_rows = Q(kind=FORECAST, month__gte=first, month__lt=last) & committed
    changes = Q(kind=COMMIT_CHANGE, close_month__gte=first, close_month__lt=last, month__gte=first)
    totals_now: dict[date, Decimal] = defaultdict(Decimal)
    changed: dict[tuple, Decimal] = defaultdict(Decimal)
    for row in (
        PipelineSummary.objects.using(alias)
        .filter(now_rows | changes, summary_q(scope))
        .order_by()
        .values("kind", "month", "close_month")
        .annotate(total=Sum("amount"))
    ):
        if row["kind"] == FORECAST:
            totals_now[_as_date(row["month"])] += row["total"]
        else:
            changed[(_as_date(row["month"]), _as_date(row["close_month"]))] += row["total"]
    result = []
    for period in periods:
        if period.start_moment() >= now:
            raise ValueError("commit_at_starts reads periods that have begun")
        closing = [m for m in totals_now if period.start <= m < period.end]
        since = sum(
            (
                value
                for (month, close), value in changed.items()
                if month >= period.start and period.start <= close < period.end
            ),
            ZERO,
        )
        result.append(sum((totals_now[m] for m in closing), ZERO) - since)
    return result


def won_estimates(scope, periods, *, alias: str) -> dict[int, dict]:
    """Per period index: won count and amount and the estimates of those deals (one query;
    months and quarters only)."""

    kind = WON_ESTIMATES[periods[0].kind][0]
    result: dict[int, dict] = {}
    for row in (
        _rows(kind, scope, alias)
        .filter(month__gte=periods[0].start, month__lt=periods[-1].end)
        .values("month")
        .annotate(n=Sum("count"), total=Sum("amount"), estimated=Sum("weighted"))
    ):
        month = _as_date(row["month"])
        for index, period in enumerate(periods):
            if period.start <= month < period.end and row["n"]:
                entry = result.setdefault(index, {"count": 0, "won": ZERO, "estimated": ZERO})
                entry["count"] += row["n"]
                entry["won"] += row["total"]
                entry["estimated"] += row["estimated"]
    return result
