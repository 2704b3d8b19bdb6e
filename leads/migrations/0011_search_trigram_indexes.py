"""Trigram indexes for the lead search (PostgreSQL only; SQLite scans).

The search filters with ``icontains``, which Django writes as ``UPPER(col::text) LIKE
UPPER(%s)``: a GIN ``gin_trgm_ops`` index on that same expression serves it for any
substring of three characters or more.
"""

from django.db import migrations

INDEXES = {
    f"lead_{column}_search_trgm": ("leads_lead", f"UPPER({column}::text) gin_trgm_ops")
    for column in ("first_name", "last_name", "email", "company", "phone")
}


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, (table, expression) in INDEXES.items():
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {name} ON {table} USING gin ({expression})"
        )


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [
        ("leads", "0010_qualification_depth"),
    ]

    operations = [migrations.RunPython(create_indexes, drop_indexes, elidable=False)]
