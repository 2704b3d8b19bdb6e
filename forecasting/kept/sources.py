"""Every kept figure recomputed from the records and their history, by the database, into
temporary tables shaped like the kept ones: grouped ``INSERT … SELECT`` statements (the
ORM writes the grouped queries, so that time zones and durations read alike on PostgreSQL
and SQLite), never a loop over rows.
"""

from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import (
    BigIntegerField,
    Case,
    Count,
    DateField,
    DateTimeField,
    DecimalField,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Cast, Coalesce, TruncMonth
from django.utils import timezone

from activities.models import Activity
from climcrm.periods import MONTH, period_containing
from forecasting import month_changes, summaries
from leads.funnel import QUALIFIED_RANK, SQL, SRL, WON
from leads.models import Lead, LeadStatusChange
from opportunities.amounts import weighted_amount_expression
from opportunities.history import compare_rows
from opportunities.models import CLOSED_STAGES, OPEN_STAGES, Opportunity, OpportunityHistory

ZERO = Decimal("0")
# A change counts in the month of the moment just before it (``summaries.change_month``).
TICK = timedelta(microseconds=1)
MONEY = DecimalField(max_digits=20, decimal_places=4)


class Writer:
    """Runs the statements that fill one temporary table on one connection."""

    def __init__(self, connection: BaseDatabaseWrapper) -> None:
        self.connection = connection
        self.quote = connection.ops.quote_name

    def execute(self, sql: str, params: list | tuple = ()) -> int:
        with self.connection.cursor() as cursor:
            cursor.execute(sql, params)
            return max(cursor.rowcount, 0)

    def create(self, table: str, columns: dict[str, str]) -> None:
        """A temporary table (dropped first if left over from an earlier run)."""
        self.execute(f"DROP TABLE IF EXISTS {self.quote(table)}")
        declared = ", ".join(f"{self.quote(name)} {kind}" for name, kind in columns.items())
        self.execute(f"CREATE TEMPORARY TABLE {self.quote(table)} ({declared})")

    def insert(self, table: str, columns: dict[str, str], queryset: QuerySet) -> int:
        """``INSERT INTO table (columns) SELECT expressions FROM (queryset)``: each value an
        SQL expression over the queryset's named columns (``{name}`` quotes one)."""
        sql, params = queryset.query.get_compiler(connection=self.connection).as_sql()
        names = {name: f"part.{self.quote(name)}" for name in queryset.query.values_select}
        names |= {name: f"part.{self.quote(name)}" for name in queryset.query.annotation_select}
        target = ", ".join(self.quote(name) for name in columns)
        values = ", ".join(expression.format(**names) for expression in columns.values())
        return self.execute(
            f"INSERT INTO {self.quote(table)} ({target}) SELECT {values} FROM ({sql}) part",
            params,
        )

    def days(self, column: str) -> str:
        """A summed duration column in days (an interval on PostgreSQL, microseconds on
        SQLite)."""
        if self.connection.vendor == "postgresql":
            return f"COALESCE(EXTRACT(EPOCH FROM {column}) / 86400.0, 0)"
        return f"COALESCE({column} / 86400000000.0, 0)"


# ---------------------------------------------------------------- running totals

SUMMARY_COLUMNS = {
    "kind": "VARCHAR(8)",
    "month": "DATE",
    "owner_key": "INTEGER",
    "partner_key": "INTEGER",
    "type": "VARCHAR(20)",
    "stage": "VARCHAR(20)",
    "rank": "INTEGER",
    "close_month": "DATE",
    "count": "BIGINT",
    "amount": "NUMERIC(24, 4)",
    "weighted": "NUMERIC(24, 4)",
    "days": "DOUBLE PRECISION",
}


def _month(name: str, *, local: bool = True) -> TruncMonth:
    zone = timezone.get_default_timezone() if local else None
    return TruncMonth(name, tzinfo=zone, output_field=DateField())


def _amount(name: str = "amount") -> Coalesce:
    return Coalesce(Sum(name), Value(ZERO), output_field=MONEY)


def _weight(prefix: str = "") -> Coalesce:
    return Coalesce(Sum(weighted_amount_expression(prefix)), Value(ZERO), output_field=MONEY)


def _duration(later: str, earlier: str) -> Sum:
    return Sum(ExpressionWrapper(F(later) - F(earlier), output_field=DurationField()))


def pipeline_summary(writer: Writer, table: str) -> None:
    """``PipelineSummary`` as ``forecasting.summaries`` describes it: each kind of row
    grouped by owner and partner together, then written twice (per owner, per partner)."""
    raw = f"{table}_by_deal_owner_partner"
    writer.create(raw, SUMMARY_COLUMNS)
    writer.create(table, SUMMARY_COLUMNS)
    deals = Opportunity.objects.order_by()
    history = OpportunityHistory.objects.order_by()
    open_month = f"'{summaries.OPEN_MONTH.isoformat()}'"
    if writer.connection.vendor == "postgresql":
        open_month = f"DATE {open_month}"

    def key(kind: str, **given: str) -> dict[str, str]:
        columns = {
            "kind": f"'{kind}'",
            "month": "{g_month}",
            "owner_key": "COALESCE({g_owner}, 0)",
            "partner_key": "COALESCE({g_partner}, 0)",
            "type": "''",
            "stage": "''",
            "rank": "0",
            "close_month": open_month,
            "count": "{n}",
            "amount": "0",
            "weighted": "0",
            "days": "0",
        }
        return columns | given

    n = Count("*")
    writer.insert(
        raw,
        key(summaries.OPEN, month=open_month, type="{g_type}", stage="{g_stage}")
        | {"amount": "{total}", "weighted": "{weight}"},
        deals.filter(stage__in=OPEN_STAGES)
        .values(
            g_owner=F("owner_id"), g_partner=F("partner_id"), g_type=F("type"), g_stage=F("stage")
        )
        .annotate(n=n, total=_amount(), weight=_weight()),
    )
    writer.insert(
        raw,
        key(summaries.CREATED, type="{g_type}", rank="{g_rank}", amount="{total}"),
        deals.values(
            g_month=_month("created_at"),
            g_owner=F("owner_id"),
            g_partner=F("partner_id"),
            g_type=F("type"),
            g_rank=F("furthest_rank"),
        ).annotate(n=n, total=_amount()),
    )
    writer.insert(
        raw,
        key(summaries.FORECAST, type="{g_category}", stage="{g_stage}", rank="{g_no_amount}")
        | {"amount": "{total}", "weighted": "{weight}"},
        deals.exclude(stage="closed_lost")
        .values(
            g_month=_month("close_date", local=False),
            g_owner=F("owner_id"),
            g_partner=F("partner_id"),
            g_category=F("forecast_category"),
            g_stage=F("stage"),
            g_no_amount=Case(When(amount__isnull=True, then=Value(1)), default=Value(0)),
        )
        .annotate(n=n, total=_amount(), weight=_weight()),
    )
    writer.insert(
        raw,
        key(summaries.CLOSED, type="{g_type}", stage="{g_stage}", rank="{g_rank}", amount="{total}")
        | {"days": writer.days("{spent}")},
        deals.filter(stage__in=CLOSED_STAGES, closed_at__isnull=False)
        .values(
            g_month=_month("closed_at"),
            g_owner=F("owner_id"),
            g_partner=F("partner_id"),
            g_type=F("type"),
            g_stage=F("stage"),
            g_rank=F("furthest_rank"),
        )
        .annotate(n=n, total=_amount(), spent=_duration("closed_at", "created_at")),
    )
    writer.insert(
        raw,
        key(summaries.STAY, stage="{g_stage}") | {"days": writer.days("{spent}")},
        history.filter(prev_stage_entered_at__isnull=False)
        .values(
            g_month=_month("changed_at"),
            g_owner=F("opportunity__owner_id"),
            g_partner=F("opportunity__partner_id"),
            g_stage=F("prev_stage"),
        )
        .annotate(n=n, spent=_duration("changed_at", "prev_stage_entered_at")),
    )
    shifted = ExpressionWrapper(F("changed_at") - Value(TICK), output_field=DateTimeField())
    zone = timezone.get_default_timezone()
    by_month = history.alias(
        shifted_month=TruncMonth(shifted, tzinfo=zone, output_field=DateField())
    )
    for prefix, sign in (("", ""), ("prev_", "-")):
        writer.insert(
            raw,
            key(summaries.CHANGE, type="{g_type}", stage="{g_stage}", count=f"{sign}{{n}}")
            | {"amount": f"{sign}{{total}}", "weighted": f"{sign}{{weight}}"},
            by_month.filter(**{f"{prefix}stage__in": OPEN_STAGES})
            .values(
                g_month=F("shifted_month"),
                g_owner=F(f"{prefix}owner_id"),
                g_partner=F(f"{prefix}partner_id"),
                g_type=F("opportunity__type"),
                g_stage=F(f"{prefix}stage"),
            )
            .annotate(n=n, total=_amount(f"{prefix}amount"), weight=_weight(prefix)),
        )
    for kind, at_start in summaries.WON_ESTIMATES.values():
        estimate = Coalesce(
            "commit_entry_amount", at_start, "created_amount", Value(ZERO), output_field=MONEY
        )
        writer.insert(
            raw,
            key(kind) | {"amount": "{total}", "weighted": "{estimated}"},
            deals.filter(stage="closed_won")
            .values(
                g_month=_month("close_date", local=False),
                g_owner=F("owner_id"),
                g_partner=F("partner_id"),
            )
            .annotate(n=n, total=_amount(), estimated=Sum(estimate)),
        )
    for prefix, sign in (("", ""), ("prev_", "-")):
        committed = Q(**{f"{prefix}stage": "closed_won"}) | Q(
            **{f"{prefix}stage__in": OPEN_STAGES, f"{prefix}forecast_category": "commit"}
        )
        writer.insert(
            raw,
            key(summaries.COMMIT_CHANGE, close_month="{g_closing}", count=f"{sign}{{n}}")
            | {"amount": f"{sign}{{total}}"},
            by_month.filter(committed)
            .values(
                g_month=F("shifted_month"),
                g_owner=F(f"{prefix}owner_id"),
                g_partner=F(f"{prefix}partner_id"),
                g_closing=_month(f"{prefix}close_date", local=False),
            )
            .annotate(n=n, total=_amount(f"{prefix}amount")),
        )
    quote = writer.quote
    columns = ", ".join(quote(name) for name in SUMMARY_COLUMNS)
    rest = ", ".join(quote(name) for name in ("kind", "month", "type", "stage", "rank"))
    rest += f", {quote('close_month')}"
    sums = ", ".join(f"SUM({quote(name)})" for name in summaries.MEASURES)
    for owner, partner, group in (
        (quote("owner_key"), str(summaries.ANY), quote("owner_key")),
        (str(summaries.ANY), quote("partner_key"), quote("partner_key")),
    ):
        writer.execute(
            f"INSERT INTO {quote(table)} ({columns}) "
            f"SELECT {quote('kind')}, {quote('month')}, {owner}, {partner}, {quote('type')}, "
            f"{quote('stage')}, {quote('rank')}, {quote('close_month')}, {sums} "
            f"FROM {quote(raw)} GROUP BY {rest}, {group}"
        )
    writer.execute(f"DROP TABLE {quote(raw)}")


# ---------------------------------------------------------------- deals changed in a month

MONTH_CHANGE_COLUMNS = {
    "opportunity_id": "BIGINT",
    "month": "DATE",
    "stage_start": "VARCHAR(20)",
    "amount_cents_start": "BIGINT",
    "close_date_start": "DATE",
    "owner_start_id": "BIGINT",
    "partner_start_id": "BIGINT",
    "stage_end": "VARCHAR(20)",
    "amount_cents_end": "BIGINT",
    "close_date_end": "DATE",
    "owner_end_id": "BIGINT",
    "partner_end_id": "BIGINT",
    "kinds": "INTEGER",
}


def month_change(writer: Writer, table: str) -> None:
    """``MonthChange``: the pairing of the history's rows that "what changed" does for any
    window, once per month of history (one ``INSERT … SELECT`` a month), with the kinds of
    change as the table's generated column computes them."""
    writer.create(table, MONTH_CHANGE_COLUMNS)
    history = OpportunityHistory.objects.order_by()
    first = history.order_by("changed_at").values_list("changed_at", flat=True).first()
    last = history.order_by("-changed_at").values_list("changed_at", flat=True).first()
    if first is None or last is None:
        return
    values: dict[str, Any] = {"opportunity_id": F("opportunity_id")}
    for moment in ("start", "end"):
        values |= {
            f"stage_{moment}": F(f"stage_{moment}"),
            f"amount_cents_{moment}": Cast(F(f"amount_{moment}") * 100, BigIntegerField()),
            f"close_date_{moment}": F(f"close_date_{moment}"),
            f"owner_{moment}_id": F(f"owner_{moment}"),
            f"partner_{moment}_id": F(f"partner_{moment}"),
        }
    aliases = {f"v_{name}": expression for name, expression in values.items()}
    aliases["v_kinds"] = month_changes.kinds_expression("amount")
    month = period_containing(MONTH, month_changes.month_of(first))
    final = period_containing(MONTH, month_changes.month_of(last))
    while month.start <= final.start:
        pairs = (
            compare_rows(
                month.start_moment(), month.end_moment(), history, month_changes.STATE_FIELDS
            )
            .annotate(**aliases, v_month=Value(month.start, output_field=DateField()))
            .values(*aliases, "v_month")
        )
        columns = {name: f"{{v_{name}}}" for name in MONTH_CHANGE_COLUMNS}
        writer.insert(table, columns, pairs)
        month = month.next()


MONTH_CHANGE_TOTAL_COLUMNS = {
    "month": "DATE",
    "side": "VARCHAR(1)",
    "kinds": "INTEGER",
    "start_key": "BIGINT",
    "end_key": "BIGINT",
    "count": "BIGINT",
    "cents_start": "BIGINT",
    "cents_end": "BIGINT",
}


def month_change_total(writer: Writer, table: str, *, rows: str) -> None:
    """``MonthChangeTotal``: the month rows (the rebuilt ones, table ``rows``) added up by
    kinds and by owner, or partner, at each end (one grouped insert per side)."""
    writer.create(table, MONTH_CHANGE_TOTAL_COLUMNS)
    quote = writer.quote
    columns = ", ".join(quote(name) for name in MONTH_CHANGE_TOTAL_COLUMNS)
    for side, (start, end) in month_changes.SIDES.items():
        start_key, end_key = f"COALESCE({quote(start)}, 0)", f"COALESCE({quote(end)}, 0)"
        writer.execute(
            f"INSERT INTO {quote(table)} ({columns}) "
            f"SELECT {quote('month')}, '{side}', {quote('kinds')}, {start_key}, {end_key}, "
            f"COUNT(*), COALESCE(SUM({quote('amount_cents_start')}), 0), "
            f"COALESCE(SUM({quote('amount_cents_end')}), 0) "
            f"FROM {quote(rows)} GROUP BY {quote('month')}, {quote('kinds')}, {start_key}, "
            f"{end_key}"
        )


# ---------------------------------------------------------------- columns kept on records

LEAD_COLUMNS = {"id": "BIGINT", "reached_mql": "BOOLEAN", "deal_progress": "INTEGER"}


def lead_funnel(writer: Writer, table: str) -> None:
    """``Lead.reached_mql`` (went through MQL once) and ``Lead.deal_progress`` (the funnel
    bits of ``leads.funnel``) of every lead."""
    writer.create(table, LEAD_COLUMNS)
    in_qualification = OpportunityHistory.objects.filter(
        opportunity_id=OuterRef("converted_opportunity_id"), stage="qualification"
    )
    progress = (
        Case(When(Exists(in_qualification), then=Value(SRL)), default=Value(0))
        + Case(
            When(converted_opportunity__furthest_rank__gte=QUALIFIED_RANK, then=Value(SQL)),
            default=Value(0),
        )
        + Case(When(converted_opportunity__stage="closed_won", then=Value(WON)), default=Value(0))
    )
    mql = LeadStatusChange.objects.filter(lead_id=OuterRef("pk"), to_status="mql")
    writer.insert(
        table,
        {"id": "{v_id}", "reached_mql": "{v_mql}", "deal_progress": "{v_progress}"},
        Lead.objects.order_by().values(
            v_id=F("pk"),
            v_mql=Exists(mql),
            v_progress=Case(
                When(converted_opportunity__isnull=True, then=Value(0)), default=progress
            ),
        ),
    )


DEAL_COLUMNS = {"id": "BIGINT", "open_todos": "INTEGER", "next_todo_due": "DATE"}


def deal_todos(writer: Writer, table: str) -> None:
    """``Opportunity.open_todos`` and ``next_todo_due``: every deal's open to-dos."""
    writer.create(table, DEAL_COLUMNS)
    quote = writer.quote
    deals, activities = quote(Opportunity._meta.db_table), quote(Activity._meta.db_table)
    writer.execute(
        f"INSERT INTO {quote(table)} ({quote('id')}, {quote('open_todos')}, "
        f"{quote('next_todo_due')}) "
        f"SELECT d.{quote('id')}, COUNT(a.{quote('id')}), MIN(a.{quote('due_date')}) "
        f"FROM {deals} d LEFT JOIN {activities} a "
        f"ON a.{quote('opportunity_id')} = d.{quote('id')} AND NOT a.{quote('done')} "
        f"GROUP BY d.{quote('id')}"
    )
