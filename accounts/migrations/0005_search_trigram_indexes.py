"""Trigram indexes for the account and contact searches (PostgreSQL only; SQLite scans).

The search filters with ``icontains``, which Django writes as ``UPPER(col::text) LIKE
UPPER(%s)``: a GIN ``gin_trgm_ops`` index on that same expression serves it for any
substring of three characters or more.
"""

from django.db import migrations

INDEXES = {
    "account_name_search_trgm": ("accounts_account", "UPPER(name::text) gin_trgm_ops"),
    "account_city_search_trgm": ("accounts_account", "UPPER(city::text) gin_trgm_ops"),
    # The company-name match compares normalized names with a case-sensitive LIKE.
    "account_normalized_search_trgm": ("accounts_account", "normalized_name gin_trgm_ops"),
    "contact_last_name_search_trgm": ("accounts_contact", "UPPER(last_name::text) gin_trgm_ops"),
    "contact_first_name_search_trgm": ("accounts_contact", "UPPER(first_name::text) gin_trgm_ops"),
    "contact_email_search_trgm": ("accounts_contact", "UPPER(email::text) gin_trgm_ops"),
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
        ("accounts", "0004_external_id"),
    ]

    operations = [migrations.RunPython(create_indexes, drop_indexes, elidable=False)]
