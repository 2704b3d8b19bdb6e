"""The kinds of change "what changed" counts (``kinds``: one bit each), as conditions over a
deal's state at a window's start and end (``<field>_start``, ``<field>_end``): the month rows'
generated column (``forecasting.models``) and the pairing of history rows
(``month_changes``) compute them alike."""

from django.db.models import Case, DecimalField, F, IntegerField, Q, Value, When
from django.db.models.functions import Coalesce
from django.db.models.lookups import GreaterThan, LessThan

from opportunities.models import OPEN_STAGES, Stage

# What the kinds of change are made of, besides the scope (``reports.changes.change_filters``).
NEW = 1  # the deal did not exist at the start
ADVANCED = 2  # open at both ends, at a later stage
MOVED_BACK = 4  # open at the end, at an earlier stage than at the start
WON = 8  # won at the end, not at the start
LOST = 16  # lost at the end, not at the start
STILL_OPEN = 32  # existed at the start, open at the end (a slip compares its close dates)
AMOUNT_UP = 64  # existed at the start, a larger amount at the end
AMOUNT_DOWN = 128  # existed at the start, a smaller amount at the end

# The values a state holds: ``<name>_start`` and ``<name>_end``.
STATE_FIELDS = ("stage", "amount", "close_date", "owner", "partner")


def stage_rank(field_name: str) -> Case:
    """Stage order (open stages 1–4, won 5, lost 6; 0 for none)."""
    return Case(
        *[
            When(**{field_name: stage}, then=Value(index + 1))
            for index, stage in enumerate(Stage.values)
        ],
        default=Value(0),
        output_field=IntegerField(),
    )


def kind_conditions(amount: str = "amount") -> dict[int, Q]:
    """Each bit of ``kinds``, over ``<field>_start`` and ``<field>_end`` (a missing start
    state is NULL; amounts are ``<amount>_start``/``_end``, in any unit). Written so that a
    NULL start reads alike on a column and on an annotation (a negated lookup differs
    between the two)."""
    existed = Q(stage_start__isnull=False)
    open_end = Q(stage_end__in=OPEN_STAGES)
    rank_start, rank_end = stage_rank("stage_start"), stage_rank("stage_end")
    amount_start = Coalesce(F(f"{amount}_start"), Value(0), output_field=DecimalField())
    amount_end = Coalesce(F(f"{amount}_end"), Value(0), output_field=DecimalField())

    def reached(stage) -> Q:
        return Q(stage_end=stage) & (
            Q(stage_start__isnull=True)
            | Q(stage_start__in=[other for other in Stage.values if other != stage])
        )

    return {
        NEW: Q(stage_start__isnull=True),
        ADVANCED: Q(stage_start__in=OPEN_STAGES) & open_end & Q(GreaterThan(rank_end, rank_start)),
        MOVED_BACK: existed & open_end & Q(LessThan(rank_end, rank_start)),
        WON: reached(Stage.CLOSED_WON),
        LOST: reached(Stage.CLOSED_LOST),
        STILL_OPEN: existed & open_end,
        AMOUNT_UP: existed & Q(GreaterThan(amount_end, amount_start)),
        AMOUNT_DOWN: existed & Q(LessThan(amount_end, amount_start)),
    }


def kinds_of_states(stage_start: str | None, stage_end: str, *, up: bool, down: bool) -> int:
    """``kinds_expression`` of one state pair, in Python: the stages at both ends (None: the
    deal did not exist at the start) and whether the amount went up or down."""
    ranks = {stage: index + 1 for index, stage in enumerate(Stage.values)}
    rank_start, rank_end = ranks.get(stage_start, 0), ranks.get(stage_end, 0)
    existed = stage_start is not None
    open_end = stage_end in OPEN_STAGES
    conditions = {
        NEW: not existed,
        ADVANCED: stage_start in OPEN_STAGES and open_end and rank_end > rank_start,
        MOVED_BACK: existed and open_end and rank_end < rank_start,
        WON: stage_end == Stage.CLOSED_WON and stage_start != Stage.CLOSED_WON,
        LOST: stage_end == Stage.CLOSED_LOST and stage_start != Stage.CLOSED_LOST,
        STILL_OPEN: existed and open_end,
        AMOUNT_UP: existed and up,
        AMOUNT_DOWN: existed and down,
    }
    return sum(bit for bit, holds in conditions.items() if holds)


def slip_candidates() -> Q:
    """Deals that may have slipped in a window, whatever its last day: open at both ends
    (``STILL_OPEN``) with a later close date at the end."""
    return kind_conditions()[STILL_OPEN] & Q(close_date_end__gt=F("close_date_start"))


def kinds_expression(amount: str = "amount"):
    """The sum of the bits whose condition holds (an integer from 0 to 255)."""
    terms = [
        Case(When(condition, then=Value(bit)), default=Value(0), output_field=IntegerField())
        for bit, condition in kind_conditions(amount).items()
    ]
    total = terms[0]
    for term in terms[1:]:
        total = total + term
    return total
