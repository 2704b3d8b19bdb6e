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
"""

from datetime import date, datetime, time

from django.db.models import F, FilteredRelation, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from opportunities.models import OpportunityHistory


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


def _valid_at(moment: datetime) -> Q:
    return Q(history__changed_at__lte=moment) & (
        Q(history__valid_until__isnull=True) | Q(history__valid_until__gt=moment)
    )


def compare_states(
    start: date | datetime, end: date | datetime, opportunities: QuerySet
) -> QuerySet:
    """``opportunities`` annotated with ``<field>_start`` and ``<field>_end`` for every tracked
    field, restricted to those that changed in [start, end) — the basis of "what changed".

    Each state is one outer join on the history's validity range (at most one row matches a
    moment), so the values are plain columns that later expressions may repeat freely.
    """
    from opportunities.models import TRACKED_FIELDS

    touched = changes_between(start, end).values("opportunity_id")
    annotations = {}
    for name in TRACKED_FIELDS:
        column = f"{name}_id" if name in ("owner", "partner") else name
        annotations[f"{name}_start"] = F(f"state_start__{column}")
        annotations[f"{name}_end"] = F(f"state_end__{column}")
    return (
        opportunities.filter(pk__in=touched)
        .annotate(
            state_start=FilteredRelation("history", condition=_valid_at(as_datetime(start))),
            state_end=FilteredRelation("history", condition=_valid_at(as_datetime(end))),
        )
        .annotate(**annotations)
    )
