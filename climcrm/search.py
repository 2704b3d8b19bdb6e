"""The lists' and the global search's conditions, written so PostgreSQL's indexes serve them.

Searches keep substring semantics (``icontains``: any part of a name, any case, accents as
typed). On PostgreSQL each searched column has a trigram index on ``UPPER(column)`` (the
``*_search_trigram_indexes`` migrations), the expression Django compares for ``icontains``;
SQLite scans. A search that reaches a related table (a deal's account name) names the
matching related rows with their own indexed condition instead of a join, so that every
branch of the ``OR`` is an index scan and PostgreSQL combines them in one bitmap.
"""

from django.db import connection
from django.db.models import BooleanField, Case, F, Func, IntegerField, Q, QuerySet, Value, When
from django_filters import FilterSet


class _EqualsAny(Func):
    """``left = ANY(right)`` (``Exact`` would put the right side in parentheses)."""

    arg_joiner = " = ANY("
    template = "%(expressions)s)"
    output_field = BooleanField()


def contains(value: str, *fields: str) -> Q:
    """Any of ``fields`` contains ``value``, ignoring case."""
    condition = Q()
    for field in fields:
        condition |= Q(**{f"{field}__icontains": value})
    return condition


def among(field: str, related: QuerySet) -> Q:
    """``field`` (a foreign key) points at one of the ``related`` rows.

    PostgreSQL gets ``field = ANY(ARRAY(SELECT id …))``: the ids are read once, and the
    condition is an index scan the planner can OR with the others. ``field IN (SELECT …)``
    inside an ``OR`` becomes a filter tested on every row of a full scan.
    """
    ids = related.order_by().values("pk")
    if connection.vendor == "postgresql":
        from django.contrib.postgres.expressions import ArraySubquery

        return Q(_EqualsAny(F(field), ArraySubquery(ids)))
    return Q(**{f"{field}__in": ids})


def search_rank(value: str, *fields: str) -> Case:
    """0 when one of ``fields`` starts with ``value``, 1 when one contains it, else 2 (the
    row matched on another field): results are ordered by it, then by the list's order."""
    return Case(
        When(Q.create([(f"{field}__istartswith", value) for field in fields], Q.OR), then=0),
        When(contains(value, *fields), then=1),
        default=Value(2),
        output_field=IntegerField(),
    )


def search_order(filterset: FilterSet, *fields: str) -> list:
    """The ordering that puts the best matches of the filterset's search (``q``) first, or
    nothing when there is no search."""
    value = (filterset.form.cleaned_data.get("q") or "").strip() if filterset.is_valid() else ""
    return [search_rank(value, *fields)] if value else []


# The global search ranks, of each kind, the most recent (or first by name) matches only:
# ranking every match of a common word would read and sort all of them for a top 8.
RANKED_CANDIDATES = 200


def best_matches(
    matches: QuerySet, *, value: str, fields: tuple[str, ...], ordering: tuple[str, ...]
) -> QuerySet:
    """The ``matches`` (already searched and scoped) with the best ranked first among the
    first ``RANKED_CANDIDATES`` in ``ordering``, then in ``ordering``; slice it for a top N.

    The candidates come from the matches in their usual order, which an index serves and
    which stops early; the rank then sorts only them.
    """
    candidates = matches.order_by(*ordering).values("pk")[:RANKED_CANDIDATES]
    return matches.model._default_manager.filter(pk__in=candidates).order_by(
        search_rank(value, *fields), *ordering
    )
