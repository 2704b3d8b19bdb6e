"""The amounts of deals as the pages add them up: weighted amounts and the pipeline by
stage, computed in SQL."""

from decimal import Decimal

from django.db.models import Count, DecimalField, ExpressionWrapper, F, Sum, Value
from django.db.models.functions import Coalesce

from opportunities.models import Stage


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
