"""A closed review's snapshot is written once: the database itself refuses any update."""

from django.db import migrations

TABLE = "pipeline_reviews_reviewsnapshot"
MESSAGE = "review snapshots are immutable"


def create_trigger(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(
            f"""
            CREATE OR REPLACE FUNCTION review_snapshot_immutable() RETURNS trigger AS $$
            BEGIN
                RAISE EXCEPTION '{MESSAGE}';
            END;
            $$ LANGUAGE plpgsql;
            """
        )
        schema_editor.execute(
            f"CREATE TRIGGER review_snapshot_no_update BEFORE UPDATE ON {TABLE} "
            "FOR EACH ROW EXECUTE FUNCTION review_snapshot_immutable();"
        )
    elif vendor == "sqlite":
        schema_editor.execute(
            f"CREATE TRIGGER review_snapshot_no_update BEFORE UPDATE ON {TABLE} "
            f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END;"
        )


def drop_trigger(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(f"DROP TRIGGER IF EXISTS review_snapshot_no_update ON {TABLE};")
        schema_editor.execute("DROP FUNCTION IF EXISTS review_snapshot_immutable();")
    elif vendor == "sqlite":
        schema_editor.execute("DROP TRIGGER IF EXISTS review_snapshot_no_update;")


class Migration(migrations.Migration):
    dependencies = [
        ("pipeline_reviews", "0002_marketingaction_partnerreviewnote_quarterlydetails_and_more")
    ]

    operations = [migrations.RunPython(create_trigger, drop_trigger)]
