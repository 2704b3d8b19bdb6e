"""Reading the history: every opportunity's values as of a moment, and what changed between two.

``OpportunityHistory`` keeps one row per change with the values after it and a validity
range ``[changed_at, valid_until)``. So:

* ``values_as_of(at)`` — the rows valid at ``at``: one per opportunity that existed then,
  with its stage, amount, probability, close date, forecast category, owner and partner as
  they were. It is a queryset: filter it (``partner_id=…``, ``stage__in=…``), aggregate it
  (``.values("stage").annotate(Sum("amount"))``) in SQL. Served by the index on
  ``(valid_until, changed_at)``.
* ``changes_between(start, end)`` — the change rows made in ``[start, end)``, each with
  its ``prev_*`` and new values, served by the index on ``changed_at``.
* ``compare_states(start, end)`` — per opportunity, its state at ``start`` and at ``end``
  side by side (either may be missing: created or deleted in between), for "what changed".
  ``compare_rows(start, end)`` gives the same states from the history alone (one row per
  deal), for figures over every changed deal.
"""

from datetime import UTC, date, datetime, time

from django.db.models import Case, F, FilteredRelation, OuterRef, Q, QuerySet, Subquery, Value, When
from django.db.models.functions import Coalesce
from django.db.models.lookups import GreaterThan
from django.utils import timezone

from opportunities.models import TRACKED_FIELDS, OpportunityHistory

# Later than any ``valid_until``: "still valid" compares as one value.
END_OF_TIME = datetime(9999, 12, 31, tzinfo=UTC)


def as_datetime(moment: date | datetime, *, end_of_day: bool = False) -> datetime:
    """A date means the start of that day (or its end) in the installation's time zone."""
    if isinstance(moment, datetime):
        return moment if timezone.is_aware(moment) else timezone.make_aware(moment)
    value = datetime.combine(moment, time.max if end_of_day else time.min)
    return timezone.make_aware(value)


def values_as_of(at: date | datetime, queryset: QuerySet | None = None) -> QuerySet:
    """History rows holding each opportunity's values at ``at`` (one per opportunity).

    ``queryset`` (of OpportunityHistory) narrows it, e.g. to the opportunities a user may
    see: ``values_as_of(t).filter(opportunity__in=visible_opportunities(user))``.
    """
    moment = as_datetime(at)
    base = queryset if queryset is not None else OpportunityHistory.objects.all()
    return base.filter(
        Q(valid_until__isnull=True) | Q(valid_until__gt=moment), changed_at__lte=moment
    )


def changes_between(start: date | datetime, end: date | datetime) -> QuerySet:
    """Change rows (creation rows included, flagged ``is_creation``) made in [start, end)."""
    return OpportunityHistory.objects.filter(
        changed_at__gte=as_datetime(start), changed_at__lt=as_datetime(end)
    )


def state_at_subquery(at: date | datetime, field: str, outer: str = "pk") -> Subquery:
    """A subquery giving ``field`` of the opportunity ``outer`` as it was at ``at``.

    For annotations: ``Opportunity.objects.annotate(stage_then=state_at_subquery(t, "stage"))``.
    """
    rows = values_as_of(at).filter(opportunity_id=OuterRef(outer))
    return Subquery(rows.order_by().values(field)[:1])


def _valid_at_start(start: datetime, end: datetime, prefix: str) -> Q:
    """The row valid at ``start`` of a deal changed in [start, end), when one was superseded
    in (start, end]: a bounded range of ``valid_until`` instead of every row still valid
    since before ``start``. The other case, a row written exactly at ``start`` and still
    valid at ``end``, is the end row itself (see ``_state_annotations``).
    """
    return Q(
        **{
            f"{prefix}changed_at__lte": start,
            f"{prefix}valid_until__gt": start,
            f"{prefix}valid_until__lte": end,
        }
    )


def _valid_at_end(start: datetime, end: datetime, prefix: str) -> Q:
    """The row valid at ``end`` of a deal changed in [start, end): written in [start, end].

    Versions follow each other in time (each row's ``valid_until`` is the next one's
    ``changed_at``), so that row is the window's change or a later one: the index range on
    ``changed_at`` holds it.
    """
    # "Not superseded by ``end``" as one comparison, not ``IS NULL OR >``: PostgreSQL would
    # answer the OR from two partial indexes and then read every row from the table.
    not_superseded = GreaterThan(
        Coalesce(F(f"{prefix}valid_until"), Value(END_OF_TIME)), Value(end)
    )
    return Q(**{f"{prefix}changed_at__gte": start, f"{prefix}changed_at__lte": end}) & Q(
        not_superseded
    )


def _state_annotations(start: datetime, fields, *, start_row: str, end_row: str) -> dict:
    """``<field>_start`` and ``<field>_end`` from the rows valid at both ends."""

    # A row written exactly at ``start`` and not superseded by ``end`` is valid at both.
    end_row_at_start = Q(**{f"{end_row}changed_at": start})
    annotations = {}
    for name in fields or TRACKED_FIELDS:
        column = f"{name}_id" if name in ("owner", "partner") else name
        annotations[f"{name}_start"] = Case(
            When(end_row_at_start, then=F(f"{end_row}{column}")),
            default=F(f"{start_row}{column}"),
        )
        annotations[f"{name}_end"] = F(f"{end_row}{column}")
    return annotations


def compare_states(
    start: date | datetime,
    end: date | datetime,
    opportunities: QuerySet,
    fields: tuple[str, ...] | None = None,
) -> QuerySet:
    """``opportunities`` annotated with ``<field>_start`` and ``<field>_end`` for every tracked
    field (or ``fields``), restricted to those that changed in [start, end) — the basis of
    "what changed" and of its drill-down.

    Each state is one outer join on a bounded range of the history (at most one row matches
    a moment): the rows written in [start, end] for the end, the rows superseded in
    (start, end] for the start. Both are read from covering indexes (``opphist_changes_end``,
    ``opphist_changes_start``) as long as ``fields`` stay within their columns.
    """
    start, end = as_datetime(start), as_datetime(end)
    touched = changes_between(start, end).values("opportunity_id")
    return (
        opportunities.filter(pk__in=touched)
        .annotate(
            state_start=FilteredRelation(
                "history", condition=_valid_at_start(start, end, "history__")
            ),
            state_end=FilteredRelation("history", condition=_valid_at_end(start, end, "history__")),
        )
        .annotate(
            **_state_annotations(start, fields, start_row="state_start__", end_row="state_end__")
        )
    )


def compare_rows(
    start: date | datetime,
    end: date | datetime,
    rows: QuerySet | None = None,
    fields: tuple[str, ...] | None = None,
) -> QuerySet:
    """The same states as ``compare_states``, one history row per deal (the row valid at
    ``end``), read from the history alone: for figures over every changed deal, where
    joining the deals' table would cost a lookup per deal.

    ``rows`` (of OpportunityHistory) narrows it, e.g. to the rows of the deals a user may see.
    """
    start, end = as_datetime(start), as_datetime(end)
    base = rows if rows is not None else OpportunityHistory.objects.all()
    # Changed in [start, end): the end row was written before ``end``, or exactly at ``end``
    # after another change of the window (only then does the subquery run).
    touched = Q(changed_at__lt=end) | Q(
        changed_at=end, opportunity_id__in=changes_between(start, end).values("opportunity_id")
    )
    return (
        base.filter(_valid_at_end(start, end, ""), touched)
        .annotate(
            state_start=FilteredRelation(
                "same_deal", condition=_valid_at_start(start, end, "same_deal__")
            )
        )
        .annotate(**_state_annotations(start, fields, start_row="state_start__", end_row=""))
    )
