"""Trigram indexes for the deal search (PostgreSQL only; SQLite scans).

The search filters with ``icontains``, which Django writes as ``UPPER(col::text) LIKE
UPPER(%s)``: a GIN ``gin_trgm_ops`` index on that same expression serves it for any
substring of three characters or more.
"""

from django.db import migrations

TABLE = "opportunities_opportunity"
INDEXES = {
    "opp_name_search_trgm": "UPPER(name::text) gin_trgm_ops",
    "opp_next_step_search_trgm": "UPPER(next_step::text) gin_trgm_ops",
}


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, expression in INDEXES.items():
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {name} ON {TABLE} USING gin ({expression})"
        )


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [
        ("opportunities", "0016_stage_rotting_days"),
    ]

    operations = [migrations.RunPython(create_indexes, drop_indexes, elidable=False)]
