"""The amounts of deals as the pages add them up: weighted amounts and the pipeline by
stage, computed in SQL."""

import datetime
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import Count, DecimalField, ExpressionWrapper, F, QuerySet, Sum, Value, Window
from django.db.models.functions import Coalesce

from climcrm.figures import as_decimal
from opportunities.models import Stage

# A deal's to-do state, from its most urgent open to-do (the board's stacked bars).
TASK_STATES = ("overdue", "today", "planned", "none")


def weighted_amount_expression(prefix: str = ""):
    """Amount × probability / 100 of a deal, or of a history row (``prefix`` "prev_" for the
    values a change replaced), to the last digit: 1001 at 50 % weighs 500.50.

    The divisor is a decimal, not the integer 100: SQLite keeps whole amounts as integers
    and would divide them as integers (500, the half lost on every deal)."""
    return ExpressionWrapper(
        Coalesce(F(f"{prefix}amount"), Value(0))
        * F(f"{prefix}probability")
        / Value(Decimal("100.0")),
        output_field=DecimalField(max_digits=20, decimal_places=4),
    )


def weighted_total_expression(*, window: bool = False):
    """The weighted amount of a set of deals as ``deal_totals`` computes it: the sum of
    amount × probability, divided by 100 once (``window``: over every row of the query, for
    a page that reads its rows and their totals together)."""
    product = Sum(
        ExpressionWrapper(
            Coalesce(F("amount"), Value(0)) * F("probability"),
            output_field=DecimalField(max_digits=24, decimal_places=2),
        )
    )
    total = Window(product) if window else product
    return ExpressionWrapper(
        Coalesce(total, Value(0)) / Value(Decimal("100.0")),
        output_field=DecimalField(max_digits=24, decimal_places=4),
    )


def pipeline_by_stage(queryset) -> list[dict]:
    """Count, amount and weighted amount per stage, in stage order, computed in SQL."""
    rows = {
        row["stage"]: row
        for row in queryset.values("stage").annotate(
            count=Count("id"),
            total=Coalesce(Sum("amount"), Value(0), output_field=DecimalField()),
            weighted=Coalesce(
                Sum(weighted_amount_expression()), Value(0), output_field=DecimalField()
            ),
        )
    }
    return [
        {
            "stage": stage,
            "label": label,
            "count": rows.get(stage, {}).get("count", 0),
            "total": rows.get(stage, {}).get("total", 0),
            "weighted": rows.get(stage, {}).get("weighted", 0),
        }
        for stage, label in Stage.choices
    ]


def deal_totals(parts: Iterable[QuerySet], *, today: datetime.date) -> dict[str, dict[str, Any]]:
    """Count, amount, weighted amount and to-do states per stage of the deals of ``parts``
    (querysets of deals that do not overlap): one SQL query, the board's columns and the
    list's totals alike.

    Each part reads only columns its covering index carries (``opp_open_*`` for open deals,
    ``opp_recent_closed_totals`` for closed ones), so PostgreSQL adds them up from the index
    alone; the to-do states come from the deal's own ``open_todos`` and ``next_todo_due``
    (kept by ``activities.signals``). The weighted amount is the sum of amount × probability
    divided by 100 once: the same figure, to the last digit, as the sum of each deal's
    ``weighted_amount_expression``, without a division per deal.
    """
    parts_sql, parts_params = [], []
    for part in parts:
        deals = part.order_by().values(
            "stage", "amount", "probability", "open_todos", "next_todo_due"
        )
        try:
            deals_sql, deals_params = deals.query.sql_with_params()
        except EmptyResultSet:
            continue
        parts_sql.append(deals_sql)
        parts_params.extend(deals_params)
    if not parts_sql:
        return {}
    day = connection.ops.adapt_datefield_value(today)
    sql = f"""
        SELECT b.stage,
               COUNT(*),
               COALESCE(SUM(b.amount), 0),
               COALESCE(SUM(COALESCE(b.amount, 0) * b.probability), 0) / 100.0,
               SUM(CASE WHEN b.next_todo_due < %s THEN 1 ELSE 0 END),
               SUM(CASE WHEN b.next_todo_due = %s THEN 1 ELSE 0 END),
               SUM(CASE WHEN b.open_todos > 0
                         AND (b.next_todo_due IS NULL OR b.next_todo_due > %s) THEN 1 ELSE 0 END),
               SUM(CASE WHEN b.open_todos = 0 THEN 1 ELSE 0 END)
          FROM ({" UNION ALL ".join(f"SELECT * FROM ({part}) p" for part in parts_sql)}) b
         GROUP BY b.stage
    """
    params = [day, day, day, *parts_params]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    result = {}
    for stage, count, total, weighted, *todo in rows:
        # Every digit kept: the page rounds once, when it shows them.
        result[stage] = {
            "count": count,
            "total": as_decimal(total),
            "weighted": as_decimal(weighted),
            **{f"todo_{state}": int(n or 0) for state, n in zip(TASK_STATES, todo, strict=True)},
        }
    return result
