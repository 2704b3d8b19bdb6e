"""What changed between two days: deals new, advanced, moved back, won, lost, slipped,
whose amount went up or down, moved into or out of the scope.

One reading for the figures and the drill-down: a deal counts in each kind by its state at
both ends of the window and whether its owner or partner was in the scope then
(``change_filters`` in SQL, ``kinds_of`` for groups of deals alike). A calendar month is
read from the rows kept per month (``forecasting.month_changes``), any other window from the
history (``opportunities.history``); both give the same comparisons.
"""

from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.db.models import (
    BooleanField,
    Case,
    Count,
    DecimalField,
    ExpressionWrapper,
    F,
    FilteredRelation,
    IntegerField,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.db.models.lookups import Exact, GreaterThan, LessThan
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from climcrm import figures
from climcrm.figures import NO_FIGURE
from climcrm.periods import MONTH, period_containing
from climcrm.roles import is_partner_user
from forecasting import month_changes
from forecasting.change_kinds import kinds_of_states, stage_rank
from forecasting.models import MonthChange, MonthChangeTotal
from forecasting.reports.common import MONEY, ZERO, report_scope, reports_db
from forecasting.scopes import ALL, CHANNEL, PARTNER, REP, TEAM, Scope
from opportunities.history import as_datetime, compare_rows, compare_states
from opportunities.models import (
    OPEN_STAGES,
    ForecastCategory,
    Opportunity,
    OpportunityHistory,
    Stage,
)


def _scope_match(scope: Scope, moment: str) -> Q | None:
    """Owner or partner at ``moment`` (``start`` or ``end``) in the scope; None when the
    scope is every deal."""
    return _match(scope, f"owner_{moment}", f"partner_{moment}")


def _match(scope: Scope, owner: str, partner: str) -> Q | None:
    """The field ``owner`` (or ``partner``, for a partner or channel scope) in the scope."""
    from accounts.models import Partner
    from climcrm.models import User

    if scope.kind == ALL:
        return None
    if scope.kind == REP:
        match = Q(**{owner: scope.pk})
    elif scope.kind == TEAM:
        match = Q(**{f"{owner}__in": User.objects.filter(manager_id=scope.pk).values("pk")})
    elif scope.kind == PARTNER:
        match = Q(**{partner: scope.pk})
    else:
        channel = Partner.objects.filter(channel_manager_id=scope.pk).values("pk")
        match = Q(**{f"{partner}__in": channel})
    # False, not NULL, for a deal with no owner or partner then: "moved in" negates it.
    return Q(Coalesce(ExpressionWrapper(match, output_field=BooleanField()), Value(False)))


def _in_scope(scope: Scope, moment: str) -> Q:
    """The deal existed at ``moment`` and was in the scope (owner and partner then)."""
    existed = Q(**{f"stage_{moment}__isnull": False})
    match = _scope_match(scope, moment)
    return existed if match is None else existed & match


CHANGE_KINDS = (
    "new",
    "advanced",
    "moved_back",
    "won",
    "lost",
    "slipped",
    "amount_up",
    "amount_down",
    "moved_in",
    "moved_out",
)
# The values "what changed" compares (the kinds above, the scope, the drill-down's columns):
# the columns of the history's covering indexes for both ends.
CHANGE_FIELDS = month_changes.STATE_FIELDS
# Each kind: the bit of ``kinds`` it needs, and where the deal must be in the scope.
_KIND_RULES = {
    "new": (month_changes.NEW, "end"),
    "advanced": (month_changes.ADVANCED, "both"),
    "moved_back": (month_changes.MOVED_BACK, "both"),
    "won": (month_changes.WON, "end"),
    "lost": (month_changes.LOST, "end"),
    "slipped": (month_changes.STILL_OPEN, "both"),
    "amount_up": (month_changes.AMOUNT_UP, "both"),
    "amount_down": (month_changes.AMOUNT_DOWN, "both"),
}


def _has(bit: int) -> Q:
    return Q(Exact(F("kinds").bitand(bit), bit))


def _slipped(end_day) -> Q:
    """Open at the end with a close date moved past the window's last day."""
    return Q(close_date_start__lte=end_day, close_date_end__gt=end_day)


def change_filters(scope: Scope, end_day) -> dict[str, Q]:
    """One condition per kind of change, over ``kinds`` and ``<field>_start``/``_end``."""
    in_start, in_end = _in_scope(scope, "start"), _in_scope(scope, "end")
    where = {"end": in_end, "both": in_start & in_end}
    filters = {kind: _has(bit) & where[part] for kind, (bit, part) in _KIND_RULES.items()}
    filters["slipped"] &= _slipped(end_day)
    filters["moved_in"] = in_end & ~in_start & Q(stage_start__isnull=False)
    filters["moved_out"] = in_start & ~in_end
    return filters


def kinds_of(bits: int, slipped: bool, start_in: bool, end_in: bool) -> list[str]:
    """The kinds of change of a deal (or a group of deals alike), as ``change_filters``:
    ``start_in``/``end_in`` say whether its owner or partner was in the scope then."""
    in_start = not bits & month_changes.NEW and bool(start_in)
    in_end = bool(end_in)
    where = {"end": in_end, "both": in_start and in_end}
    kinds = [
        kind
        for kind, (bit, part) in _KIND_RULES.items()
        if bits & bit and where[part] and (kind != "slipped" or slipped)
    ]
    if in_end and not in_start and not bits & month_changes.NEW:
        kinds.append("moved_in")
    if in_start and not in_end:
        kinds.append("moved_out")
    return kinds


def _compared_values() -> dict:
    """What the drill-down shows and ``change_filters`` compares."""
    return {
        "kinds": month_changes.kinds_expression(),
        "amount_start_value": Coalesce(F("amount_start"), Value(ZERO), output_field=MONEY),
        "amount_end_value": Coalesce(F("amount_end"), Value(ZERO), output_field=MONEY),
    }


def compared_deals(*, start, end) -> QuerySet:
    """Deals changed in [start, end) with their state at both ends (every deal: the scope's
    ``change_filters`` say which count)."""
    deals = Opportunity.objects.using(reports_db())
    return compare_states(start, end, deals, fields=CHANGE_FIELDS).annotate(**_compared_values())


def compared_rows(*, start, end) -> QuerySet:
    """The same deals and states as ``compared_deals``, one history row each, read from the
    history alone (the figures of "what changed" need no column of the deals' table)."""
    rows = OpportunityHistory.objects.using(reports_db())
    return compare_rows(start, end, rows, fields=CHANGE_FIELDS).annotate(
        kinds=month_changes.kinds_expression()
    )


def is_month_window(start_day, end_day) -> bool:
    """The window is a calendar month, or the month under way up to now: the deals' rows
    of that month (``MonthChange``) hold both ends."""
    if start_day.day != 1:
        return False
    last_day = period_containing(MONTH, start_day).last_day
    today = timezone.localdate()
    return end_day == last_day or (start_day <= today <= last_day and end_day >= today)


def what_changed(*, user, start_day, end_day, scope: Scope, months: bool = True) -> dict:
    """Counts and amounts of each kind of change between two days.

    ``end_day`` is included: the window is [start_day 00:00, end_day + 1 day 00:00).
    Amounts are the deal's amount at the end (at the start for "moved out"); amount
    up/down give the net change. Every deal counts where its owner and partner were at
    each end (``kinds_of``), for every user: a partner user reads their partner's scope.
    A month is read from the kept totals of the deals changed in it and its slips (two
    queries); any other window (or ``months=False``) from the history's rows (one query,
    ``_grouped_states``).
    """
    scope = report_scope(user, scope)
    result = {kind: {"count": 0, "amount": ZERO} for kind in CHANGE_KINDS}
    if months and is_month_window(start_day, end_day):
        _add_groups(result, _month_totals(start_day, scope), Decimal(100))
        result["slipped"] = _month_slips(start_day, end_day, scope)
        return result
    groups = _grouped_states(_window_rows(start_day, end_day), scope, end_day)
    _add_groups(result, _change_groups(groups))
    return result


def _add_groups(result: dict, groups, unit: Decimal = Decimal(1)) -> None:
    """Add groups of deals alike (``kinds``, ``slipped``, ``start_in``, ``end_in``, with
    ``count`` and the sums ``at_end``/``at_start`` in ``unit``) to each kind they count in."""
    for group in groups:
        at_end = (group["at_end"] or ZERO) / unit
        at_start = (group["at_start"] or ZERO) / unit
        kinds = kinds_of(
            group["kinds"],
            group.get("slipped", False),
            group.get("start_in", True),
            group.get("end_in", True),
        )
        for kind in kinds:
            if kind in ("amount_up", "amount_down"):
                change = at_end - at_start
            elif kind == "moved_out":
                change = at_start
            else:
                change = at_end
            result[kind]["count"] += group["count"]
            result[kind]["amount"] += change


def _month_totals(month, scope: Scope):
    """The month's totals of the scope's side (owners, or partners for a partner or channel
    scope), grouped by comparisons and by whether each end is in the scope."""
    side = "p" if scope.kind in (PARTNER, CHANNEL) else "o"
    totals = MonthChangeTotal.objects.using(reports_db()).filter(month=month, side=side)
    flags = {}
    for flag, key in (("start_in", "start_key"), ("end_in", "end_key")):
        match = _match(scope, key, key)
        if match is not None:
            flags[flag] = ExpressionWrapper(match, output_field=BooleanField())
    return (
        totals.annotate(**flags)
        .order_by()
        .values("kinds", *flags)
        .annotate(count=Sum("count"), at_end=Sum("cents_end"), at_start=Sum("cents_start"))
    )


def _month_slips(month, end_day, scope: Scope) -> dict:
    """Deals of the month whose close date moved past ``end_day`` (one index range)."""
    rows = MonthChange.objects.using(reports_db()).filter(
        month_changes.slip_candidates(), _slipped(end_day), month=month
    )
    for moment in ("start", "end"):
        match = _scope_match(scope, moment)
        if match is not None:
            rows = rows.filter(match)
    totals = rows.aggregate(count=Count("*"), cents=Sum("amount_cents_end"))
    return {"count": totals["count"], "amount": (totals["cents"] or ZERO) / Decimal(100)}


def changed_deals(
    *, user, start_day, end_day, scope: Scope, kind: str
) -> "QuerySet | ChangedDeals":
    """The deals behind one kind of change, with their state at both ends, ordered by name:
    the deals ``what_changed`` counts, by the same conditions.

    A month is read from the deals' rows of that month (a queryset). Any other window reads
    the ids of its deals from the history alone, in one query, and a page of them with
    their states in another (``ChangedDeals``): pairing every deal's rows while joining the
    deals' table would cost a lookup per deal changed.

    ``reassigned`` marks, for a partner user, a deal that was theirs in the window and is
    another's now: the page shows only its name and its stage and amount then
    (``stage_then``, ``amount_then``, at the last end it was theirs).
    """
    scope = report_scope(user, scope)
    condition = change_filters(scope, end_day).get(kind)
    if not is_month_window(start_day, end_day):
        start = as_datetime(start_day)
        end = as_datetime(end_day + timedelta(days=1))
        ids = []
        if condition is not None:
            rows = compared_rows(start=start, end=end).filter(condition)
            ordered = rows.order_by("opportunity__name", "opportunity_id")
            ids = list(ordered.values_list("opportunity_id", flat=True))
        return ChangedDeals(ids, compared_deals(start=start, end=end), _then(user))
    deals = month_deals(month=start_day)
    if condition is None:
        return deals.none()
    return (
        deals.filter(condition)
        .annotate(**_then(user))
        .select_related("account")
        .order_by("name", "pk")
    )


class ChangedDeals:
    """Deals in a known order (``ids``), read from ``deals`` with ``then`` a slice at a time:
    what a paginator asks of a queryset (a count, a page)."""

    def __init__(self, ids: list[int], deals: QuerySet, then: dict):
        self.ids = ids
        self.deals = deals
        self.then = then

    def __len__(self) -> int:
        return len(self.ids)

    def count(self) -> int:
        return len(self.ids)

    def __iter__(self):
        return iter(self._read(self.ids))

    def __getitem__(self, index):
        if isinstance(index, slice):
            return self._read(self.ids[index])
        return self._read([self.ids[index]])[0]

    def _read(self, ids: list[int]) -> list:
        if not ids:
            return []
        rows = self.deals.filter(pk__in=ids).annotate(**self.then).select_related("account")
        by_id = {deal.pk: deal for deal in rows}
        # A deal deleted since its id was read is left out, not an error.
        return [by_id[pk] for pk in ids if pk in by_id]


def _then(user) -> dict:
    """``reassigned``, ``stage_then`` and ``amount_then`` (see ``changed_deals``)."""
    if not is_partner_user(user):
        return {"reassigned": Value(False)}
    theirs_at_end = Q(partner_end=user.partner_id)
    return {
        "reassigned": ExpressionWrapper(
            ~Q(partner_id=user.partner_id) | Q(partner__isnull=True), output_field=BooleanField()
        ),
        "stage_then": Case(When(theirs_at_end, then=F("stage_end")), default=F("stage_start")),
        "amount_then": Case(
            When(theirs_at_end, then=F("amount_end")), default=F("amount_start"), output_field=MONEY
        ),
    }


def month_deals(*, month) -> QuerySet:
    """The deals changed in ``month`` with their state at both ends, as ``compared_deals``
    gives them, from the deals' rows of that month."""
    deals = Opportunity.objects.using(reports_db())
    change = FilteredRelation("month_changes", condition=Q(month_changes__month=month))
    states: dict[str, Any] = {"kinds": F("change__kinds")}
    for moment in ("start", "end"):
        states |= {
            f"stage_{moment}": F(f"change__stage_{moment}"),
            f"close_date_{moment}": F(f"change__close_date_{moment}"),
            f"owner_{moment}": F(f"change__owner_{moment}_id"),
            f"partner_{moment}": F(f"change__partner_{moment}_id"),
            # Cents back to the currency: a decimal product, on SQLite too.
            f"amount_{moment}": ExpressionWrapper(
                F(f"change__amount_cents_{moment}") * Value(Decimal("0.01")), output_field=MONEY
            ),
        }
    return (
        deals.annotate(change=change)
        .filter(change__isnull=False)
        .annotate(**states)
        .annotate(
            amount_start_value=Coalesce(F("amount_start"), Value(ZERO), output_field=MONEY),
            amount_end_value=Coalesce(F("amount_end"), Value(ZERO), output_field=MONEY),
        )
    )


# The steps of the waterfall, in the order they are drawn: what adds to the pipeline, then
# what takes from it (so the running total never goes below zero).
WATERFALL_UP = ("new", "moved_in", "reopened", "pulled_in", "increases")
WATERFALL_DOWN = ("decreases", "won", "lost", "slipped", "moved_out")


def pipeline_waterfall(*, user, start_day, end_day, scope: Scope) -> dict:
    """How the scope's pipeline due by ``end_day`` went from the window's start to its end:
    start + new + moved in + reopened + pulled in + increases − decreases − won − lost −
    slipped − moved out = end, exact to the cent, for any two days.

    The pipeline is the open deals whose owner or partner is in the scope and whose close
    date is on or before ``end_day``. A deal changed in the window counts by its state at
    both ends (``_waterfall_step``); a deal not changed is in both ends alike. The pipeline
    now is read from the deals; a window ending before today reads its end as the pipeline
    now less what changed in it since (``_pipeline_change``), and its start as its end less
    the window's steps. ``end_is_now`` says whether the end is today's pipeline."""
    scope = report_scope(user, scope)
    if is_month_window(start_day, end_day):
        groups = _grouped_states(_month_rows(start_day), scope, end_day, cents=True)
    else:
        groups = _grouped_states(_window_rows(start_day, end_day), scope, end_day)
    return _waterfall(groups, scope, end_day)


def changes_and_waterfall(*, user, start_day, end_day, scope: Scope) -> tuple[dict, dict]:
    """``what_changed`` and ``pipeline_waterfall`` of one window, the deals changed in it
    read once when the window is not a month."""
    scope = report_scope(user, scope)
    if is_month_window(start_day, end_day):
        summary = what_changed(user=user, start_day=start_day, end_day=end_day, scope=scope)
        return summary, pipeline_waterfall(
            user=user, start_day=start_day, end_day=end_day, scope=scope
        )
    groups = _grouped_states(_window_rows(start_day, end_day), scope, end_day)
    summary = {kind: {"count": 0, "amount": ZERO} for kind in CHANGE_KINDS}
    _add_groups(summary, _change_groups(groups))
    return summary, _waterfall(groups, scope, end_day)


def _waterfall(groups: list[dict], scope: Scope, end_day) -> dict:
    """The waterfall of a window from its deals' ``_grouped_states``."""
    today = timezone.localdate()
    steps: dict[str, dict[str, Any]] = {
        name: {"count": 0, "amount": ZERO} for name in (*WATERFALL_UP, *WATERFALL_DOWN)
    }
    for group in groups:
        for name, change in _waterfall_step(_step_flags(group), group["at_start"], group["at_end"]):
            steps[name]["count"] += group["count"]
            steps[name]["amount"] += change
    due = Q(stage__in=OPEN_STAGES, close_date__lte=end_day)
    match = _match(scope, "owner", "partner")
    deals = Opportunity.objects.using(reports_db()).filter(due if match is None else due & match)
    end_total = deals.aggregate(total=Coalesce(Sum("amount"), Value(ZERO), output_field=MONEY))
    end_amount = end_total["total"]
    end_is_now = end_day >= today
    if not end_is_now:
        end_amount -= _pipeline_change(scope, end_day, end_day + timedelta(days=1), today)
    start_amount = end_amount - sum((step["amount"] for step in steps.values()), ZERO)
    return {
        "start": start_amount,
        "steps": steps,
        "end": end_amount,
        "end_day": end_day,
        "end_is_now": end_is_now,
    }


def _window_rows(first_day, last_day) -> QuerySet:
    """The deals changed from ``first_day`` to ``last_day`` (included), one history row
    each with their states at both ends."""
    return compared_rows(
        start=as_datetime(first_day), end=as_datetime(last_day + timedelta(days=1))
    )


def _month_rows(month) -> QuerySet:
    """The kept rows of the deals changed in ``month`` (``amount_cents_*`` for amounts)."""
    return MonthChange.objects.using(reports_db()).filter(month=month)


# Stages by their rank in ``stage_rank`` (0: the deal did not exist).
_STAGES_BY_RANK = (None, *Stage.values)
# The comparisons ``_grouped_states`` packs into one integer (bits 6 and up), above the two
# stage ranks (bits 0–2 and 3–5).
_STATE_FLAGS = ("up", "down", "due_start", "due_end", "past_end", "start_in", "end_in")


def _grouped_states(rows, scope: Scope, end_day, *, cents: bool = False) -> list[dict]:
    """The deals of ``rows`` (states ``<field>_start``/``_end``) grouped by all that decides
    their kinds of change and their waterfall step: the stage at each end, the amount up or
    down, due by ``end_day`` at each end, a close date past it at the end, in the scope at
    each end. Each group has ``count`` and the amounts summed at both ends (``at_start``,
    ``at_end``).

    The database groups by one integer packing those values (a few hundred groups), which
    this decodes; ``cents``: amounts in ``amount_cents_*``."""
    amount = "amount_cents" if cents else "amount"
    unit = Decimal(100) if cents else Decimal(1)
    at_start = Coalesce(F(f"{amount}_start"), Value(0), output_field=DecimalField())
    at_end = Coalesce(F(f"{amount}_end"), Value(0), output_field=DecimalField())
    conditions = {
        "up": Q(GreaterThan(at_end, at_start)),
        "down": Q(LessThan(at_end, at_start)),
        "due_start": Q(close_date_start__lte=end_day),
        "due_end": Q(close_date_end__lte=end_day),
        "past_end": Q(close_date_end__gt=end_day),
    }
    for flag, moment in (("start_in", "start"), ("end_in", "end")):
        match = _scope_match(scope, moment)
        if match is not None:
            conditions[flag] = match
    code = stage_rank("stage_start") + stage_rank("stage_end") * Value(8)
    for flag, condition in conditions.items():
        bit = Value(64 << _STATE_FLAGS.index(flag))
        code += Case(When(condition, then=bit), default=Value(0), output_field=IntegerField())
    grouped = (
        rows.annotate(code=code)
        .order_by()
        .values("code")
        .annotate(count=Count("*"), at_start=Sum(f"{amount}_start"), at_end=Sum(f"{amount}_end"))
    )
    groups = []
    for row in grouped:
        group = {
            "stage_start": _STAGES_BY_RANK[row["code"] % 8],
            "stage_end": _STAGES_BY_RANK[row["code"] // 8 % 8],
            "count": row["count"],
            "at_start": (row["at_start"] or ZERO) / unit,
            "at_end": (row["at_end"] or ZERO) / unit,
        }
        for index, flag in enumerate(_STATE_FLAGS):
            group[flag] = bool(row["code"] & (64 << index)) if flag in conditions else True
        groups.append(group)
    return groups


def _change_groups(groups: list[dict]) -> list[dict]:
    """``_grouped_states`` as ``_add_groups`` reads them: their kinds of change and slip."""
    changes = []
    for group in groups:
        kinds = kinds_of_states(
            group["stage_start"], group["stage_end"], up=group["up"], down=group["down"]
        )
        slipped = bool(kinds & month_changes.STILL_OPEN) and group["due_start"]
        changes.append({**group, "kinds": kinds, "slipped": slipped and group["past_end"]})
    return changes


def _step_flags(group: dict) -> dict:
    """``_grouped_states`` as ``_waterfall_step`` reads them."""
    return {
        "existed": group["stage_start"] is not None,
        "in_start": group["start_in"],
        "in_end": group["end_in"],
        "open_start": group["stage_start"] in OPEN_STAGES,
        "open_end": group["stage_end"] in OPEN_STAGES,
        "due_start": group["due_start"],
        "due_end": group["due_end"],
        "won": group["stage_end"] == Stage.CLOSED_WON,
        "lost": group["stage_end"] == Stage.CLOSED_LOST,
    }


def _pipeline_delta(rows, scope: Scope, due_day, *, cents: bool = False) -> Decimal:
    """What the deals of ``rows`` added to the scope's pipeline due by ``due_day`` between
    their two states (in it at the end, less in it at the start)."""
    amount = "amount_cents" if cents else "amount"
    held = {}
    for moment in ("start", "end"):
        condition = Q(**{f"stage_{moment}__in": OPEN_STAGES, f"close_date_{moment}__lte": due_day})
        match = _scope_match(scope, moment)
        held[moment] = condition if match is None else condition & match
    totals = rows.aggregate(
        added=Sum(f"{amount}_end", filter=held["end"]),
        taken=Sum(f"{amount}_start", filter=held["start"]),
    )
    delta = Decimal(totals["added"] or 0) - Decimal(totals["taken"] or 0)
    return delta / Decimal(100) if cents else delta


def _pipeline_change(scope: Scope, due_day, first_day, last_day) -> Decimal:
    """How much the scope's pipeline due by ``due_day`` grew from the start of
    ``first_day`` to the end of ``last_day`` (today).

    Changes add up over consecutive spans, so whole months are read from the kept month
    rows (``MonthChange``, the month under way up to now) and only the rest of a month from
    the history: the days from ``first_day`` to the month's end, or, when fewer, the days of
    the month before ``first_day``, taken back from the whole month."""
    month = first_day.replace(day=1)
    later = MonthChange.objects.using(reports_db()).filter(month__gte=month)
    if first_day == month:
        return _pipeline_delta(later, scope, due_day, cents=True)
    month_last = period_containing(MONTH, month).last_day
    to_month_end = (min(month_last, last_day) - first_day).days + 1
    before = (first_day - month).days
    if to_month_end <= before:
        rows = _window_rows(first_day, min(month_last, last_day))
        delta = _pipeline_delta(rows, scope, due_day)
        if last_day > month_last:
            delta += _pipeline_delta(later.exclude(month=month), scope, due_day, cents=True)
        return delta
    rows = _window_rows(month, first_day - timedelta(days=1))
    return _pipeline_delta(later, scope, due_day, cents=True) - _pipeline_delta(
        rows, scope, due_day
    )


def _waterfall_step(group: dict, at_start: Decimal, at_end: Decimal) -> list[tuple[str, Decimal]]:
    """The steps a group of deals alike counts in, and by how much: together, exactly what
    it adds to the pipeline (``at_end`` if in it at the end) less what it took (``at_start``
    if in it at the start)."""
    existed = bool(group["existed"])
    in_start = existed and bool(group["in_start"] and group["open_start"] and group["due_start"])
    in_end = bool(group["in_end"] and group["open_end"] and group["due_end"])
    change = at_end - at_start
    if in_start and in_end:
        return [("increases" if change > 0 else "decreases", change)] if change else []
    if in_start:
        if group["in_end"] and (group["won"] or group["lost"]):
            closed = [("won" if group["won"] else "lost", -at_end)]
            return (
                [("increases" if change > 0 else "decreases", change)] if change else []
            ) + closed
        if group["in_end"] and group["open_end"]:
            return [("slipped", -at_start)]
        return [("moved_out", -at_start)]
    if in_end:
        if not existed:
            return [("new", at_end)]
        if not group["in_start"]:
            return [("moved_in", at_end)]
        if not group["open_start"]:
            return [("reopened", at_end)]
        return [("pulled_in", at_end)]
    return []


# The changes a narrative tells, in the order it tells them.
NARRATED_FIELDS = ("close_date", "amount", "stage", "forecast_category")


def _narrated_value(name: str, value) -> str:
    if value is None or value == "":
        return NO_FIGURE
    if name == "close_date":
        return date_format(value, "SHORT_DATE_FORMAT")
    if name == "amount":
        return figures.money(value, 2)
    if name == "stage":
        return str(Stage(value).label)
    return str(ForecastCategory(value).label)


def _narrated_change(name: str, old, new) -> str:
    values = {"old": _narrated_value(name, old), "new": _narrated_value(name, new)}
    if name == "close_date":
        return _("close date %(old)s → %(new)s") % values
    if name == "amount":
        return _("amount %(old)s → %(new)s") % values
    if name == "stage":
        return _("stage %(old)s → %(new)s") % values
    return _("forecast category %(old)s → %(new)s") % values


def narrative(rows) -> str:
    """One line telling a deal's changes (``rows``: its history rows, oldest first) with
    their reasons: "close date 30.11.2026 → 31.01.2027: Customer budget moved to next
    year"."""
    parts = []
    for row in rows:
        # Only the narrated fields are read: the others (owner, partner) would each cost a
        # query per row.
        told = [
            _narrated_change(name, getattr(row, f"prev_{name}"), getattr(row, name))
            for name in NARRATED_FIELDS
            if name in row.changed_fields
        ]
        if not told:
            continue
        text = ", ".join(told)
        reason = " — ".join(
            str(part) for part in (row.reason_code, row.reason_text) if part not in (None, "")
        )
        parts.append(
            _("%(changes)s: %(reason)s") % {"changes": text, "reason": reason} if reason else text
        )
    return "; ".join(parts)


def change_narratives(deals, *, start_day, end_day) -> dict[int, str]:
    """Each deal's ``narrative`` of its changes made in the window (``end_day`` included),
    in one query for a page of deals."""
    ids = [deal.pk for deal in deals]
    if not ids:
        return {}
    rows = (
        OpportunityHistory.objects.using(reports_db())
        .filter(
            opportunity_id__in=ids,
            changed_at__gte=as_datetime(start_day),
            changed_at__lt=as_datetime(end_day + timedelta(days=1)),
            is_creation=False,
        )
        .select_related("reason_code")
        .order_by("opportunity_id", "version")
    )
    by_deal: dict[int, list] = {}
    for row in rows:
        by_deal.setdefault(row.opportunity_id, []).append(row)
    return {pk: narrative(deal_rows) for pk, deal_rows in by_deal.items()}
