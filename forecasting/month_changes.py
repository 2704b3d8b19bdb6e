"""Deals changed in a calendar month, kept by the deal services: "what changed" over a month
(the page's default window, and the monthly review's) reads one row per deal changed.

"What changed" between two moments compares each deal changed in the window with its state
at the window's start. The history gives both ends from two index ranges, paired deal by
deal: a lookup for every deal changed, tens of thousands a month on a million deals. So each
deal changed in a month also has one ``MonthChange`` row with its state at the month's start
and at its end (now, for the month under way) and the comparisons of the two that do not
depend on the scope (``kinds``, bits computed by the database). ``MonthChangeTotal`` adds
those rows up by ``kinds`` and by owner, or partner, at each end: a few thousand rows a month,
which the page reads instead (only a slip, which depends on the window's last day, is read
from the deals' rows). Other windows still pair the history's rows
(``reports.changes.compared_rows``); both readings share ``kinds_expression``.

States are read as the history reads them: the row valid at ``t`` has
``changed_at <= t < valid_until``. So a change made exactly at midnight on the 1st is the
month's start state, and also the end state of the month before when the deal changed in it.
"""

from datetime import date, datetime
from decimal import Decimal

from django.utils import timezone

from climcrm.periods import MONTH, Period, period_containing

# The kinds are read by the pages as ``month_changes.NEW`` and siblings.
from forecasting.change_kinds import (  # noqa: F401
    ADVANCED,
    AMOUNT_DOWN,
    AMOUNT_UP,
    LOST,
    MOVED_BACK,
    NEW,
    STATE_FIELDS,
    STILL_OPEN,
    WON,
    kind_conditions,
    kinds_expression,
    slip_candidates,
    stage_rank,
)
from forecasting.models import MonthChange, MonthChangeTotal
from forecasting.totals import add_to
from opportunities.models import OPEN_STAGES, Stage


def month_of(moment: datetime) -> date:
    """First day of the month holding ``moment``, in the installation's time zone."""
    return timezone.localtime(moment, timezone.get_default_timezone()).date().replace(day=1)


def _month(month: date) -> Period:
    return period_containing(MONTH, month)


def cents(amount: Decimal | None) -> int | None:
    return None if amount is None else int(amount * 100)


def _state(values: dict | None, moment: str) -> dict:
    """``deal_state`` values (owner and partner 0 for none) as ``<field>_<moment>``."""
    if values is None:
        return {f"{name}_{moment}": None for name in ("stage", "amount_cents", "close_date")} | {
            f"owner_{moment}_id": None,
            f"partner_{moment}_id": None,
        }
    return {
        f"stage_{moment}": values["stage"],
        f"amount_cents_{moment}": cents(values["amount"]),
        f"close_date_{moment}": values["close_date"],
        f"owner_{moment}_id": values["owner"] or None,
        f"partner_{moment}_id": values["partner"] or None,
    }


# What a deal's row adds to the totals (``MonthChangeTotal``), by owner and by partner.
TOTAL_FIELDS = (
    "kinds",
    "owner_start_id",
    "owner_end_id",
    "partner_start_id",
    "partner_end_id",
    "amount_cents_start",
    "amount_cents_end",
)
SIDES = {"o": ("owner_start_id", "owner_end_id"), "p": ("partner_start_id", "partner_end_id")}


def _add_totals(deltas: dict, row: dict | None, month: date, sign: int) -> None:
    if row is None:
        return
    for side, (start, end) in SIDES.items():
        key = (month, side, row["kinds"], row[start] or 0, row[end] or 0)
        delta = deltas.setdefault(key, [0, 0, 0])
        delta[0] += sign
        delta[1] += sign * (row["amount_cents_start"] or 0)
        delta[2] += sign * (row["amount_cents_end"] or 0)


def _apply_totals(deltas: dict, using: str) -> None:
    """Add ``deltas`` (key → [count, cents at the start, cents at the end]) to the totals."""

    keys = ("month", "side", "kinds", "start_key", "end_key")
    add_to(MonthChangeTotal, keys, ("count", "cents_start", "cents_end"), deltas, using=using)


def _current(rows, deal_id: int, month: date) -> dict | None:
    return rows.filter(opportunity_id=deal_id, month=month).values(*TOTAL_FIELDS).first()


def record(*, deal_id: int, before: dict | None, after: dict, at: datetime, using: str) -> None:
    """Apply one change of a deal, made at ``at`` (``before`` None for a new deal), in the
    same transaction as the change: its row of the month, and the totals that row adds to
    (taken out as they were, added back as they are: four queries)."""

    rows = MonthChange.objects.using(using)
    month = month_of(at)
    end = _state(after, "end")
    deltas: dict = {}
    at_month_start = at == _month(month).start_moment()
    if at_month_start:
        # Valid at midnight: the end state of the month before, if the deal changed in it.
        earlier = _month(month).previous().start
        row = _current(rows, deal_id, earlier)
        if row is not None:
            rows.filter(opportunity_id=deal_id, month=earlier).update(**end)
            _add_totals(deltas, row, earlier, -1)
            _add_totals(deltas, _current(rows, deal_id, earlier), earlier, 1)
    row = _current(rows, deal_id, month)
    if row is not None:
        rows.filter(opportunity_id=deal_id, month=month).update(**end)
    else:
        start = _state(after if at_month_start else before, "start")
        rows.create(opportunity_id=deal_id, month=month, **start, **end)
    _add_totals(deltas, row, month, -1)
    _add_totals(deltas, _current(rows, deal_id, month), month, 1)
    _apply_totals(deltas, using)


def created_rows(deals: list[tuple[dict, datetime]]) -> tuple[list[dict], dict]:
    """The month rows of deals created at once (an import), as ``record`` writes them for
    a new deal, and the totals they add (for ``apply_totals``): the caller inserts the rows
    in bulk. ``deals`` holds ``(deal_state, created at)``; ``kinds`` is computed here as
    the database computes it for a state compared with none, or with itself when the deal
    was created exactly at the start of its month."""
    rows, deltas = [], {}
    month_starts: dict[date, datetime] = {}
    for after, at in deals:
        month = month_of(at)
        if month not in month_starts:
            month_starts[month] = _month(month).start_moment()
        at_start = at == month_starts[month]
        end = _state(after, "end")
        row = {"opportunity_id": after["id"], "month": month, **_state(None, "start"), **end}
        is_open = after["stage"] in OPEN_STAGES
        if at_start:
            row |= _state(after, "start")
            kinds = STILL_OPEN if is_open else 0
        else:
            kinds = NEW
            kinds |= WON if after["stage"] == Stage.CLOSED_WON else 0
            kinds |= LOST if after["stage"] == Stage.CLOSED_LOST else 0
        rows.append(row)
        _add_totals(deltas, {**row, "kinds": kinds}, month, 1)
    return rows, deltas


def apply_totals(deltas: dict, *, using: str) -> None:
    """Add ``deltas`` from ``created_rows`` to the totals (a thousand keys a statement)."""
    keys = sorted(deltas)
    for start in range(0, len(keys), 1000):
        _apply_totals({key: deltas[key] for key in keys[start : start + 1000]}, using)


def forget(deal_id: int, *, using: str) -> None:
    """Take a deal that is being deleted out of the totals (its rows go with it)."""

    deltas: dict = {}
    for row in (
        MonthChange.objects.using(using)
        .filter(opportunity_id=deal_id)
        .values("month", *TOTAL_FIELDS)
    ):
        _add_totals(deltas, row, row["month"], -1)
    _apply_totals(deltas, using)
