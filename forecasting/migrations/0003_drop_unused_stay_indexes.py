"""Velocity reads ``prev_stage_entered_at`` (index ``opphist_stay_ends``) since
``opportunities.0008``: the two stay indexes of 0002 are no longer read and only cost
every history write. PostgreSQL only, as in 0002; the reverse builds them again."""

from django.db import migrations

TABLE = "opportunities_opportunityhistory"
INDEXES = {
    "opphist_stage_exits": (
        "(changed_at) INCLUDE (prev_stage, opportunity_id, version) "
        "WHERE NOT is_creation AND stage <> prev_stage"
    ),
    "opphist_stage_entries": (
        "(opportunity_id, version) INCLUDE (changed_at) WHERE is_creation OR stage <> prev_stage"
    ),
}


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, definition in INDEXES.items():
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {TABLE} {definition}")


class Migration(migrations.Migration):
    dependencies = [
        ("forecasting", "0002_metrics_history_indexes"),
        ("opportunities", "0008_metrics_summary_columns"),
    ]

    operations = [migrations.RunPython(drop_indexes, create_indexes)]
