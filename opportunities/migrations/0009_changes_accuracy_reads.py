"""Reads of "what changed" and of the forecast accuracy without a history lookup per deal.

"What changed": covering indexes on the rows valid at a window's end (written in it) and at
its start (superseded in it), joined through ``OpportunityHistory.same_deal`` (no column).
Accuracy: the amounts a won deal's estimate reads, kept on the deal by the deal services
from now on and filled here from the history, with a covering index on won deals.
"""

from datetime import date, datetime, time

from django.conf import settings
from django.db import migrations, models
from django.utils import timezone

DEALS = "opportunities_opportunity"
HISTORY = "opportunities_opportunityhistory"


def backfill_postgresql(schema_editor) -> None:
    # One pass over the deals: the first version's amount, the first entry into Commit's,
    # and for won deals the amount valid at the start of their close date's month and
    # quarter (local midnight, as ``Period.start_moment``).
    zone = settings.TIME_ZONE.replace("'", "")

    def amount_at(unit: str) -> str:
        return f"""(
            SELECT h.amount FROM {HISTORY} h
            WHERE h.opportunity_id = o.id
              AND h.changed_at <= (date_trunc('{unit}', o.close_date)::timestamp
                                   AT TIME ZONE '{zone}')
            ORDER BY h.version DESC LIMIT 1
        )"""

    schema_editor.execute(
        f"""
        UPDATE {DEALS} o SET
            created_amount = f.amount,
            commit_entry_amount = c.amount,
            close_month_start_amount = CASE WHEN o.stage = 'closed_won'
                THEN {amount_at("month")} END,
            close_quarter_start_amount = CASE WHEN o.stage = 'closed_won'
                THEN {amount_at("quarter")} END
        FROM (
            SELECT DISTINCT ON (opportunity_id) opportunity_id, amount
            FROM {HISTORY} ORDER BY opportunity_id, version
        ) f
        LEFT JOIN (
            SELECT DISTINCT ON (opportunity_id) opportunity_id, amount
            FROM {HISTORY}
            WHERE forecast_category = 'commit' AND prev_forecast_category <> 'commit'
            ORDER BY opportunity_id, version
        ) c ON c.opportunity_id = f.opportunity_id
        WHERE o.id = f.opportunity_id
        """
    )


def _period_starts(day):
    """Local midnight of the first day of ``day``'s month and quarter (``Period.start_moment``)."""
    month = date(day.year, day.month, 1)
    quarter = date(day.year, (day.month - 1) // 3 * 3 + 1, 1)
    return [timezone.make_aware(datetime.combine(start, time.min)) for start in (month, quarter)]


def backfill_python(apps, batch: int = 2000) -> None:
    Opportunity = apps.get_model("opportunities", "Opportunity")
    OpportunityHistory = apps.get_model("opportunities", "OpportunityHistory")
    fields = [
        "created_amount",
        "commit_entry_amount",
        "close_month_start_amount",
        "close_quarter_start_amount",
    ]
    last = 0
    while True:
        deals = list(Opportunity.objects.filter(pk__gt=last).order_by("pk")[:batch])
        if not deals:
            return
        last = deals[-1].pk
        versions: dict[int, list] = {}
        for opportunity_id, *row in (
            OpportunityHistory.objects.filter(opportunity_id__in=[d.pk for d in deals])
            .order_by("opportunity_id", "version")
            .values_list(
                "opportunity_id",
                "changed_at",
                "amount",
                "forecast_category",
                "prev_forecast_category",
            )
        ):
            versions.setdefault(opportunity_id, []).append(row)
        for deal in deals:
            rows = versions.get(deal.pk, [])
            deal.created_amount = rows[0][1] if rows else None
            entries = [
                amount
                for _at, amount, category, previous in rows
                if category == "commit" and previous != "commit"
            ]
            deal.commit_entry_amount = entries[0] if entries else None
            starts = [None, None]
            if deal.stage == "closed_won":
                for index, moment in enumerate(_period_starts(deal.close_date)):
                    valid = [amount for changed_at, amount, *_ in rows if changed_at <= moment]
                    starts[index] = valid[-1] if valid else None
            deal.close_month_start_amount, deal.close_quarter_start_amount = starts
        Opportunity.objects.bulk_update(deals, fields, batch_size=500)


def backfill(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        backfill_postgresql(schema_editor)
    else:
        backfill_python(apps)


def amount_field():
    return models.DecimalField(
        blank=True, decimal_places=2, editable=False, max_digits=14, null=True
    )


class Migration(migrations.Migration):
    dependencies = [
        ("opportunities", "0008_metrics_summary_columns"),
    ]

    operations = [
        migrations.AddField("opportunity", "created_amount", amount_field()),
        migrations.AddField("opportunity", "commit_entry_amount", amount_field()),
        migrations.AddField("opportunity", "close_month_start_amount", amount_field()),
        migrations.AddField("opportunity", "close_quarter_start_amount", amount_field()),
        # The columns are dropped on the way back: nothing to undo.
        migrations.RunPython(backfill, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name="opportunity",
            index=models.Index(
                condition=models.Q(("stage", "closed_won")),
                fields=["close_date"],
                include=(
                    "id",
                    "owner",
                    "partner",
                    "amount",
                    "created_amount",
                    "commit_entry_amount",
                    "close_month_start_amount",
                    "close_quarter_start_amount",
                ),
                name="opp_won_estimates",
            ),
        ),
        migrations.AddIndex(
            model_name="opportunityhistory",
            index=models.Index(
                fields=["changed_at"],
                include=(
                    "id",
                    "opportunity",
                    "valid_until",
                    "stage",
                    "amount",
                    "close_date",
                    "owner",
                    "partner",
                ),
                name="opphist_changes_end",
            ),
        ),
        migrations.AddIndex(
            model_name="opportunityhistory",
            index=models.Index(
                condition=models.Q(("valid_until__isnull", False)),
                fields=["valid_until"],
                include=(
                    "changed_at",
                    "opportunity",
                    "stage",
                    "amount",
                    "close_date",
                    "owner",
                    "partner",
                ),
                name="opphist_changes_start",
            ),
        ),
    ]
