"""Adding to tables of running totals in one statement."""

from django.db import connections


def add_to(model, key_fields, measures, deltas: dict, *, using: str, sort_key=None) -> None:
    """Add ``deltas`` (key tuple → measure values) to ``model``'s rows of those keys,
    creating the missing ones (``INSERT … ON CONFLICT DO UPDATE``), in one statement. Keys
    are written in a fixed order so that concurrent changes lock rows alike; all-zero
    deltas are skipped. ``key_fields`` must be the columns of a unique constraint."""
    rows = [(key, values) for key, values in sorted(deltas.items(), key=sort_key) if any(values)]
    if not rows:
        return
    connection = connections[using]
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    columns = [quote(name) for name in (*key_fields, *measures)]
    placeholders = ", ".join(["(" + ", ".join(["%s"] * len(columns)) + ")"] * len(rows))
    updates = ", ".join(
        f"{quote(name)} = {table}.{quote(name)} + excluded.{quote(name)}" for name in measures
    )
    sql = (
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES {placeholders} "
        f"ON CONFLICT ({', '.join(quote(name) for name in key_fields)}) DO UPDATE SET {updates}"
    )
    params = [value for key, values in rows for value in (*key, *values)]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
