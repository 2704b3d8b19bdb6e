"""How far each deal went (``furthest_rank``) and when the stay a stage change ends began
(``prev_stage_entered_at``), filled from the history; the stage machine keeps them since."""

from django.db import migrations, models

LADDER = ["qualification", "needs_analysis", "proposal", "negotiation", "closed_won"]
OPEN = LADDER[:4]
DEALS = "opportunities_opportunity"
HISTORY = "opportunities_opportunityhistory"


def _rank_sql(column: str) -> str:
    whens = " ".join(f"WHEN '{stage}' THEN {index + 1}" for index, stage in enumerate(LADDER))
    return f"CASE {column} {whens} ELSE 0 END"


def backfill_postgresql(schema_editor) -> None:
    open_stages = ", ".join(f"'{stage}'" for stage in OPEN)
    schema_editor.execute(
        f"""
        UPDATE {DEALS} o SET furthest_rank = r.furthest_rank
        FROM (
            SELECT opportunity_id, MAX({_rank_sql("stage")}) AS furthest_rank
            FROM {HISTORY} GROUP BY opportunity_id
        ) r
        WHERE o.id = r.opportunity_id AND r.furthest_rank > 0
        """
    )
    # Among the rows that enter a stage (creation or stage change), the previous one is
    # when the stay the row ends began.
    schema_editor.execute(
        f"""
        UPDATE {HISTORY} h SET prev_stage_entered_at = e.entered
        FROM (
            SELECT id, is_creation, prev_stage,
                   LAG(changed_at) OVER (PARTITION BY opportunity_id ORDER BY version) AS entered
            FROM {HISTORY}
            WHERE is_creation OR stage <> prev_stage
        ) e
        WHERE h.id = e.id AND NOT e.is_creation AND e.prev_stage IN ({open_stages})
          AND e.entered IS NOT NULL
        """
    )


def backfill_python(apps) -> None:
    Opportunity = apps.get_model("opportunities", "Opportunity")
    OpportunityHistory = apps.get_model("opportunities", "OpportunityHistory")
    ranks: dict[int, int] = {}
    exits = []
    deal, entered = None, None
    for row in OpportunityHistory.objects.order_by("opportunity_id", "version").iterator():
        if row.opportunity_id != deal:
            deal, entered = row.opportunity_id, None
        rank = LADDER.index(row.stage) + 1 if row.stage in LADDER else 0
        ranks[deal] = max(ranks.get(deal, 0), rank)
        if row.is_creation or row.stage != row.prev_stage:
            if not row.is_creation and row.prev_stage in OPEN and entered is not None:
                row.prev_stage_entered_at = entered
                exits.append(row)
            entered = row.changed_at
    OpportunityHistory.objects.bulk_update(exits, ["prev_stage_entered_at"], batch_size=500)
    deals = []
    for pk, rank in ranks.items():
        if rank:
            deals.append(Opportunity(pk=pk, furthest_rank=rank))
    Opportunity.objects.bulk_update(deals, ["furthest_rank"], batch_size=500)


def backfill(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        backfill_postgresql(schema_editor)
    else:
        backfill_python(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("opportunities", "0007_covering_indexes_forecast_changes"),
    ]

    operations = [
        migrations.AddField(
            model_name="opportunity",
            name="furthest_rank",
            field=models.PositiveSmallIntegerField(default=0, editable=False),
        ),
        migrations.AddField(
            model_name="opportunityhistory",
            name="prev_stage_entered_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        # The columns are dropped on the way back: nothing to undo.
        migrations.RunPython(backfill, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name="opportunity",
            index=models.Index(
                fields=["created_at"],
                include=("id", "furthest_rank", "amount"),
                name="opp_created_metrics",
            ),
        ),
        migrations.AddIndex(
            model_name="opportunity",
            index=models.Index(
                condition=models.Q(("closed_at__isnull", False)),
                fields=["closed_at"],
                include=("id", "stage", "type", "furthest_rank", "amount"),
                name="opp_closed_metrics",
            ),
        ),
        migrations.AddIndex(
            model_name="opportunityhistory",
            index=models.Index(
                condition=models.Q(("prev_stage_entered_at__isnull", False)),
                fields=["changed_at"],
                include=("prev_stage", "prev_stage_entered_at", "opportunity"),
                name="opphist_stay_ends",
            ),
        ),
    ]
