"""Partial indexes on the opportunity history for the metrics page (PostgreSQL).

* ``opphist_stage_exits``: the rows that end a stay in a stage (a stage change), by time,
  carrying the stage left and the deal's version: velocity reads a period's exits from
  the index alone.
* ``opphist_stage_entries``: the rows that start a stay (creation or stage change), by deal
  and version, carrying their time: the start of the stay each exit ends is one index
  probe.
* ``opphist_open_current`` and ``opphist_open_superseded``: the rows of open deals still
  current, by start, and the superseded ones, by end of validity, carrying stage, amount
  and probability: the pipeline as of a moment and at each month end, read as "still
  current" plus "superseded since", each a range of one index.

PostgreSQL only (covering ``INCLUDE`` columns); elsewhere the migration does nothing. The
planner uses a partial index only when the query repeats its predicate: the reads in
``forecasting.selectors`` spell them out as written here.
"""

from django.db import migrations

OPEN_STAGES = "('qualification', 'needs_analysis', 'proposal', 'negotiation')"
INDEXES = {
    "opphist_stage_exits": (
        "(changed_at) INCLUDE (prev_stage, opportunity_id, version) "
        "WHERE NOT is_creation AND stage <> prev_stage"
    ),
    "opphist_stage_entries": (
        "(opportunity_id, version) INCLUDE (changed_at) WHERE is_creation OR stage <> prev_stage"
    ),
    "opphist_open_current": (
        "(changed_at) INCLUDE (stage, amount, probability, opportunity_id) "
        f"WHERE valid_until IS NULL AND stage IN {OPEN_STAGES}"
    ),
    "opphist_open_superseded": (
        "(valid_until, changed_at) INCLUDE (stage, amount, probability, opportunity_id) "
        f"WHERE valid_until IS NOT NULL AND stage IN {OPEN_STAGES}"
    ),
}
TABLE = "opportunities_opportunityhistory"


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, definition in INDEXES.items():
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {TABLE} {definition}")


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [
        ("forecasting", "0001_initial"),
        ("opportunities", "0004_open_indexes_cover_totals"),
    ]

    operations = [migrations.RunPython(create_indexes, drop_indexes)]
