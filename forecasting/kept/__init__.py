"""Every derived fact the application keeps, in one place: what it is, how it is recomputed
from the records and their history, how the kept one is checked and repaired.

The deal, lead and activity services keep these in the same transaction as each change
(``forecasting.summaries``, ``forecasting.month_changes``, ``leads.funnel``,
``activities.signals``); the benchmark builder writes them with ``rebuild``, the one writer
of a full recomputation. ``check`` compares the kept figures with a rebuild computed by the
database into temporary tables and lists the differences; ``manage.py totals`` runs both.

The kept facts:

* ``forecasting_pipelinesummary``: running totals of the pipeline per month, owner or
  partner, type and stage (metrics, forecast, accuracy);
* ``forecasting_monthchange``: each deal changed in a month, its state at both ends
  ("what changed");
* ``forecasting_monthchangetotal``: those rows added up by kinds of change and owner or
  partner;
* ``leads_lead``: ``reached_mql`` and ``deal_progress`` (the funnel);
* ``opportunities_opportunity``: ``open_todos`` and ``next_todo_due`` (the board).
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from django.db import connections, router, transaction
from django.db.models import Model

from forecasting.kept import sources
from forecasting.models import MonthChange, MonthChangeTotal, PipelineSummary
from leads.models import Lead
from opportunities.models import Opportunity


@dataclass(frozen=True)
class Fact:
    """A kept table, or kept columns of a table, and how to recompute them."""

    model: type[Model]
    keys: tuple[str, ...]
    columns: tuple[str, ...]
    fill: Callable[[sources.Writer, str], None]
    # Measures compared within a tolerance (sums, ``None`` for exact columns).
    tolerances: tuple[float, ...] | None = None
    # The column that dates a row, for ``since``; None when every row is checked.
    month: str | None = None
    # Rows always rebuilt whatever ``since`` (the open pipeline now).
    always: str | None = None
    # Another fact's temporary table this one is computed from.
    source: str | None = None

    @property
    def table(self) -> str:
        return self.model._meta.db_table

    @property
    def temporary(self) -> str:
        return f"kept_{self.table}"

    @property
    def whole_rows(self) -> bool:
        """The fact is a table of its own (its rows are replaced), not columns of records."""
        return self.model not in (Lead, Opportunity)


def _month_change_total(writer: sources.Writer, table: str) -> None:
    sources.month_change_total(writer, table, rows=FACTS[1].temporary)


FACTS: tuple[Fact, ...] = (
    Fact(
        PipelineSummary,
        keys=("kind", "month", "owner_key", "partner_key", "type", "stage", "rank", "close_month"),
        columns=("count", "amount", "weighted", "days"),
        fill=sources.pipeline_summary,
        tolerances=(0, 0.005, 0.00005, 0.000001),
        month="month",
        always="kind = 'open'",
    ),
    Fact(
        MonthChange,
        keys=("opportunity_id", "month"),
        columns=tuple(
            name for name in sources.MONTH_CHANGE_COLUMNS if name not in ("opportunity_id", "month")
        ),
        fill=sources.month_change,
        month="month",
    ),
    Fact(
        MonthChangeTotal,
        keys=("month", "side", "kinds", "start_key", "end_key"),
        columns=("count", "cents_start", "cents_end"),
        fill=_month_change_total,
        tolerances=(0, 0, 0),
        month="month",
        source="forecasting_monthchange",
    ),
    Fact(Lead, keys=("id",), columns=("reached_mql", "deal_progress"), fill=sources.lead_funnel),
    Fact(
        Opportunity,
        keys=("id",),
        columns=("open_todos", "next_todo_due"),
        fill=sources.deal_todos,
    ),
)
TABLES = tuple(fact.table for fact in FACTS)


@dataclass(frozen=True)
class Difference:
    """A kept row that differs from the rebuild (``None`` on the side where it is missing)."""

    table: str
    key: dict
    kept: dict | None
    rebuilt: dict | None


def _selected(tables: tuple[str, ...] | None) -> list[Fact]:
    wanted = set(tables or TABLES)
    unknown = wanted - set(TABLES)
    if unknown:
        raise ValueError(f"not a kept table: {', '.join(sorted(unknown))}")
    # A fact computed from another's rebuild needs that one first.
    for fact in FACTS:
        if fact.table in wanted and fact.source:
            wanted.add(fact.source)
    return [fact for fact in FACTS if fact.table in wanted]


def _since_filter(fact: Fact, since: date | None, quote) -> tuple[str, list]:
    if since is None or fact.month is None:
        return "", []
    condition = f"{quote(fact.month)} >= %s"
    if fact.always:
        condition = f"({condition} OR {fact.always})"
    return condition, [since.replace(day=1)]


def _differences(
    writer: sources.Writer, fact: Fact, since: date | None, limit: int
) -> tuple[int, list[Difference]]:
    quote = writer.quote
    kept, rebuilt = quote(fact.table), quote(fact.temporary)
    keys = [quote(name) for name in fact.keys]
    columns = [quote(name) for name in fact.columns]
    condition, params = _since_filter(fact, since, quote)
    where = f" WHERE {condition}" if condition else ""
    key_list = ", ".join(keys)
    if fact.tolerances is not None:
        zeros = ", ".join("0" for _ in columns)
        kept_side = ", ".join(f"{column} AS k{index}" for index, column in enumerate(columns))
        rebuilt_side = ", ".join(f"{column} AS r{index}" for index, column in enumerate(columns))
        union = (
            f"SELECT {key_list}, {kept_side}, "
            + ", ".join(f"0 AS r{index}" for index in range(len(columns)))
            + f" FROM {kept}{where} UNION ALL SELECT {key_list}, {zeros}, {rebuilt_side}"
            f" FROM {rebuilt}{where}"
        )
        sums = ", ".join(f"SUM(k{index}), SUM(r{index})" for index in range(len(columns)))
        drift = " OR ".join(
            f"ABS(SUM(k{index}) - SUM(r{index})) > {tolerance}"
            for index, tolerance in enumerate(fact.tolerances)
        )
        query = f"SELECT {key_list}, {sums} FROM ({union}) u GROUP BY {key_list} HAVING {drift}"
        params = params * 2
    else:
        every = ", ".join([*keys, *columns])
        changed = (
            f"SELECT {key_list} FROM (SELECT {every} FROM {kept}{where} EXCEPT "
            f"SELECT {every} FROM {rebuilt}{where}) a UNION "
            f"SELECT {key_list} FROM (SELECT {every} FROM {rebuilt}{where} EXCEPT "
            f"SELECT {every} FROM {kept}{where}) b"
        )
        params = params * 4
        on_kept = " AND ".join(f"k.{key} = d.{key}" for key in keys)
        on_rebuilt = " AND ".join(f"r.{key} = d.{key}" for key in keys)
        query = (
            f"SELECT {', '.join(f'd.{key}' for key in keys)}, "
            + ", ".join(f"k.{column}, r.{column}" for column in columns)
            + f", k.{keys[0]}, r.{keys[0]} FROM ({changed}) d "
            f"LEFT JOIN {kept} k ON {on_kept} LEFT JOIN {rebuilt} r ON {on_rebuilt}"
        )
    with writer.connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM ({query}) c", params)
        count = cursor.fetchone()[0]
        cursor.execute(
            f"{query} ORDER BY {', '.join(str(i + 1) for i in range(len(keys)))}"
            f" LIMIT {int(limit)}",
            params,
        )
        rows = cursor.fetchall()
    found = []
    for row in rows:
        key = dict(zip(fact.keys, row[: len(keys)], strict=True))
        values = row[len(keys) :]
        kept_values = dict(zip(fact.columns, values[0 : 2 * len(columns) : 2], strict=True))
        rebuilt_values = dict(zip(fact.columns, values[1 : 2 * len(columns) : 2], strict=True))
        if fact.tolerances is None:
            kept_present, rebuilt_present = values[-2] is not None, values[-1] is not None
        else:
            kept_present = rebuilt_present = True
        found.append(
            Difference(
                table=fact.table,
                key=key,
                kept=kept_values if kept_present else None,
                rebuilt=rebuilt_values if rebuilt_present else None,
            )
        )
    return count, found


@dataclass
class Report:
    """The differences found per kept table (their number, and the first few)."""

    counts: dict[str, int]
    differences: list[Difference]

    @property
    def clean(self) -> bool:
        return not any(self.counts.values())


def _fill(writer: sources.Writer, facts: list[Fact]) -> None:
    for fact in facts:
        fact.fill(writer, fact.temporary)


def _drop(writer: sources.Writer, facts: list[Fact]) -> None:
    for fact in facts:
        writer.execute(f"DROP TABLE IF EXISTS {writer.quote(fact.temporary)}")


def check(
    *,
    using: str | None = None,
    since: date | None = None,
    tables: tuple[str, ...] | None = None,
    limit: int = 20,
) -> Report:
    """Compare the kept facts with a rebuild from the history (nothing is written):
    per table the number of rows that differ and the first ``limit`` of them. ``since``
    limits the comparison to the months from its month on (and the open pipeline now)."""
    using = using or router.db_for_write(PipelineSummary)
    writer = sources.Writer(connections[using])
    facts = _selected(tables)
    counts: dict[str, int] = {}
    differences: list[Difference] = []
    with transaction.atomic(using=using):
        _fill(writer, facts)
        for fact in facts:
            if tables and fact.table not in tables:
                continue
            counts[fact.table], found = _differences(writer, fact, since, limit)
            differences.extend(found)
        _drop(writer, facts)
    return Report(counts, differences)


def rebuild(
    *,
    using: str | None = None,
    since: date | None = None,
    tables: tuple[str, ...] | None = None,
) -> dict[str, int]:
    """Recompute the kept facts from the history and write them in place of the kept ones,
    in one transaction; returns the rows written per table. ``since`` rewrites only the
    rows of the months from its month on (and the open pipeline now); the columns kept on
    leads and deals are rewritten where they differ, whatever ``since``."""
    using = using or router.db_for_write(PipelineSummary)
    writer = sources.Writer(connections[using])
    quote = writer.quote
    facts = _selected(tables)
    written: dict[str, int] = {}
    with transaction.atomic(using=using):
        _fill(writer, facts)
        for fact in facts:
            if tables and fact.table not in tables:
                continue
            kept, rebuilt = quote(fact.table), quote(fact.temporary)
            condition, params = _since_filter(fact, since, quote)
            if fact.whole_rows:
                where = f" WHERE {condition}" if condition else ""
                writer.execute(f"DELETE FROM {kept}{where}", params)
                generated = {
                    field.column
                    for field in fact.model._meta.concrete_fields
                    if getattr(field, "generated", False)
                }
                written_columns = [
                    name for name in (*fact.keys, *fact.columns) if name not in generated
                ]
                listed = ", ".join(quote(name) for name in written_columns)
                filters = [condition] if condition else []
                if fact.tolerances is not None:
                    filters.append(
                        "(" + " OR ".join(f"{quote(name)} <> 0" for name in fact.columns) + ")"
                    )
                where = f" WHERE {' AND '.join(filters)}" if filters else ""
                written[fact.table] = writer.execute(
                    f"INSERT INTO {kept} ({listed}) SELECT {listed} FROM {rebuilt}{where}",
                    params,
                )
                continue
            # The rows that differ (NULL-safe comparison), joined once.
            distinct = "IS NOT" if writer.connection.vendor == "sqlite" else "IS DISTINCT FROM"
            assignments = ", ".join(f"{quote(name)} = r.{quote(name)}" for name in fact.columns)
            differ = " OR ".join(
                f"{kept}.{quote(name)} {distinct} r.{quote(name)}" for name in fact.columns
            )
            written[fact.table] = writer.execute(
                f"UPDATE {kept} SET {assignments} FROM {rebuilt} r "
                f"WHERE r.{quote('id')} = {kept}.{quote('id')} AND ({differ})"
            )
        _drop(writer, facts)
    return written
