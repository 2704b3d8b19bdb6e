"""The metrics page: pipeline by stage, velocity, sales cycle, lead funnel, stage
conversion, win rates, monthly trends, first engagement and the benchmarks beside them.

The pipeline figures come from the kept totals (``forecasting.summaries``); the funnel and
first engagement from the leads (one query each, whatever their number).
"""

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Count, F, FloatField, Func, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from climcrm.choices import Source
from climcrm.figures import as_decimal, rate
from climcrm.periods import MONTH, Period, last_periods
from forecasting import summaries
from forecasting.models import Benchmark
from forecasting.reports.common import (
    QUALIFIED_OPEN_STAGES,
    ZERO,
    days_figure,
    report_scope,
    reports_db,
    scoped_deals,
    scoped_leads,
    stage_label,
)
from forecasting.reports.forecast import scope_forecast
from forecasting.scopes import REP, Scope
from leads import funnel as lead_funnel
from leads.selectors import first_contact_subquery
from opportunities.models import LADDER_STAGES, OPEN_STAGES, QUALIFIED_RANK, Stage


@dataclass(frozen=True)
class Reference:
    """A benchmark: a range (``high`` set) or a single value."""

    key: str
    low: Decimal
    high: Decimal | None = None

    def position(self, value) -> str | None:
        """Where a measured figure stands: "below", "within" or "above" the range (a
        single value is reached or not: "below" or "within")."""
        if value is None:
            return None
        value = as_decimal(value)
        if value < self.low:
            return "below"
        if self.high is not None and value > self.high:
            return "above"
        return "within"


# The seeds' figures, when the admin removed a row (the migration writes the same ones).
DEFAULT_BENCHMARKS = {
    "new_deals_per_rep": (Decimal(15), Decimal(25)),
    "pipeline_coverage": (Decimal(3), Decimal(5)),
    "opportunity_to_deal": (Decimal(30), Decimal(40)),
    "mql_to_srl": (Decimal(20), Decimal(40)),
    "srl_to_sql": (Decimal(80), Decimal(90)),
    "win_rate_new": (Decimal(30), None),
    "win_rate_existing": (Decimal(75), None),
}


def benchmarks() -> dict[str, Reference]:
    """Every benchmark by key, as the admin set them (one query)."""
    found = {
        key: Reference(key, low, high)
        for key, low, high in Benchmark.objects.using(reports_db()).values_list(
            "key", "low", "high"
        )
    }
    return {
        key: found.get(key) or Reference(key, low, high)
        for key, (low, high) in DEFAULT_BENCHMARKS.items()
    }


@dataclass
class MetricsReport:
    period: Period
    scope: Scope
    stages: list[dict]
    qualified: dict
    velocity: list[dict]
    cycle: dict
    funnel: list[dict]
    stage_conversion: list[dict]
    win_rates: list[dict]
    trends: dict
    engagement: dict = field(default_factory=dict)
    benchmarks: list[dict] = field(default_factory=list)


def velocity(*, user, period: Period, scope: Scope) -> tuple[list[dict], dict]:
    """Average days spent in each stage, and sales-cycle length, over the period.

    A stay in a stage runs from the history row that entered it (creation or stage change)
    to the next row that changed the stage; stays that ended in the period are averaged.
    The sales cycle runs from creation to close for deals closed in the period, split
    won/lost and new/existing business. Both from the kept totals (two queries).
    """
    alias = reports_db()
    scope = report_scope(user, scope)
    stays = summaries.stays(scope, period.start, period.end, alias=alias)
    cycles = summaries.cycles(scope, period.start, period.end, alias=alias)
    rows = [
        {
            "stage": stage,
            "label": stage_label(stage),
            "count": stays.get(stage, (0, None))[0],
            "days": days_figure(stays.get(stage, (0, None))[1]),
        }
        for stage in OPEN_STAGES
    ]
    cycle: dict = {}
    for stage, kind, count, days in cycles:
        entry = cycle.setdefault(stage, {"count": 0, "day_sum": 0.0, "by_type": {}})
        entry["count"] += count
        entry["day_sum"] += float(days or 0) * count
        entry["by_type"][kind] = {"count": count, "days": days_figure(days)}
    for entry in cycle.values():
        entry["days"] = days_figure(entry["day_sum"] / entry["count"]) if entry["count"] else None
    return rows, cycle


# A deal is qualified (SQL) once it was in Needs Analysis or a later stage, lost aside: its
# ``furthest_rank`` (kept by the stage machine) is at least ``QUALIFIED_RANK``.


def conversion(*, user, period: Period, scope: Scope) -> tuple[list, list, list]:
    """Lead funnel, stage-to-stage conversion and win rates of the period (three queries).

    * Funnel: leads created in the period, then how many reached MQL (status mql once:
      ``reached_mql``, kept by the status service), and, from ``deal_progress``,
      SRL (converted, their deal was in Qualification), SQL (the deal reached Needs
      Analysis or beyond: its ``furthest_rank``) and won.
    * Stage to stage: deals created in the period, how many reached each stage or beyond.
    * Win rates on the qualified pipeline: deals closed in the period that had reached
      SQL, won against won + lost, by count and by amount, new vs existing business.
    """
    alias = reports_db()
    scope = report_scope(user, scope)
    start, end = period.start_moment(), period.end_moment()
    leads = scoped_leads(user, scope, alias=alias).filter(created_at__gte=start, created_at__lt=end)
    # How far each converted lead's deal went is kept on the lead (``leads.funnel`` bits),
    # and ``lead_created_funnel`` carries every column read here: the period's leads are
    # read from the index alone. Counting created_at (never null), not the id, for that.
    funnel_counts = dict.fromkeys(("leads", "mql", "prospect", "srl", "sql", "won"), 0)
    for row in (
        leads.order_by()
        .values("reached_mql", "reached_prospect", "deal_progress")
        .annotate(count=Count("created_at"))
    ):
        count = row["count"]
        funnel_counts["leads"] += count
        funnel_counts["mql"] += count if row["reached_mql"] else 0
        funnel_counts["prospect"] += count if row["reached_prospect"] else 0
        for key, bit in (
            ("srl", lead_funnel.SRL),
            ("sql", lead_funnel.SQL),
            ("won", lead_funnel.WON),
        ):
            funnel_counts[key] += count if row["deal_progress"] & bit else 0
    from django.utils.translation import gettext as _

    reference = benchmarks()
    # Each step's rate is taken from the step the seeds measure it from: SRL from MQL
    # (seed 001's MQL → SRL), the prospect step (seed 004) from MQL too.
    funnel_steps = [
        ("leads", _("Leads"), None, None),
        ("mql", _("MQL"), "leads", None),
        ("prospect", _("Prospect"), "mql", None),
        ("srl", _("SRL"), "mql", reference.get(Benchmark.Key.MQL_TO_SRL)),
        ("sql", _("SQL"), "srl", reference.get(Benchmark.Key.SRL_TO_SQL)),
        ("won", _("Won"), "sql", None),
    ]
    labels = {key: label for key, label, _base, _benchmark in funnel_steps}
    funnel = []
    for key, label, base, benchmark in funnel_steps:
        count = funnel_counts[key]
        funnel.append(
            {
                "key": key,
                "label": label,
                "count": count,
                "rate": rate(count, funnel_counts[base]) if base else None,
                "base_label": labels.get(base) if base else None,
                "benchmark": benchmark,
            }
        )

    # A deal reached a step of the ladder when it was once in that stage or a later one
    # (lost aside): when the furthest stage it was ever in ranks that high.
    ladder = LADDER_STAGES
    furthest_counts = summaries.created_by_rank(scope, period.start, period.end, alias=alias)
    reached = [
        sum(count for rank, count in furthest_counts.items() if rank and rank > index)
        for index in range(len(ladder))
    ]
    stage_conversion = [
        {
            "stage": stage,
            "label": stage_label(stage),
            "count": reached[index],
            "rate": rate(reached[index], reached[index - 1]) if index else None,
        }
        for index, stage in enumerate(ladder)
    ]

    # Qualified deals closed in the period, by type and outcome.
    values: dict[str, int | Decimal] = dict.fromkeys(
        [
            f"{kind}_{outcome}"
            for kind in ("new_business", "existing_business")
            for outcome in ("won", "lost")
        ],
        0,
    )
    values |= {f"{key}_amount": ZERO for key in values}
    outcomes = {Stage.CLOSED_WON: "won", Stage.CLOSED_LOST: "lost"}
    outcome_rows = summaries.closed_outcomes(
        scope, period.start, period.end, min_rank=QUALIFIED_RANK, alias=alias
    )
    for row in outcome_rows:
        key = f"{row['type']}_{outcomes[row['stage']]}"
        if key in values:
            values[key] += row["count"]
            values[f"{key}_amount"] += row["total"]
    win_benchmarks = {
        "new_business": reference.get(Benchmark.Key.WIN_RATE_NEW),
        "existing_business": reference.get(Benchmark.Key.WIN_RATE_EXISTING),
    }
    labels = {"new_business": _("New business"), "existing_business": _("Existing business")}
    win_rates = []
    totals = {"won": 0, "lost": 0, "won_amount": ZERO, "lost_amount": ZERO}
    for kind in ("new_business", "existing_business"):
        row = {
            "key": kind,
            "label": labels[kind],
            "won": values[f"{kind}_won"],
            "lost": values[f"{kind}_lost"],
            "won_amount": values[f"{kind}_won_amount"],
            "lost_amount": values[f"{kind}_lost_amount"],
            "benchmark": win_benchmarks[kind],
        }
        for name in totals:
            totals[name] += row[name]
        win_rates.append(row)
    win_rates.append({"key": "all", "label": _("All business"), **totals, "benchmark": None})
    for row in win_rates:
        row["rate_count"] = rate(row["won"], row["won"] + row["lost"])
        row["rate_amount"] = rate(row["won_amount"], row["won_amount"] + row["lost_amount"])
    return funnel, stage_conversion, win_rates


def qualified_pipeline(*, user, period: Period, scope: Scope) -> tuple[list[dict], dict]:
    """Volume and value of the pipeline by stage, as of the end of the period: the open
    pipeline now less the changes made since, from the kept totals (two queries)."""
    alias = reports_db()
    scope = report_scope(user, scope)
    now = timezone.now()
    moment = min(period.end_moment(), now)
    rows = summaries.open_pipeline(scope, moment, now=now, stages=OPEN_STAGES, alias=alias)
    by_stage: dict[str, dict[str, Any]] = {
        stage: {
            "stage": stage,
            "label": stage_label(stage),
            "count": 0,
            "amount": ZERO,
            "weighted": ZERO,
            "qualified": stage in QUALIFIED_OPEN_STAGES,
            "new_business": 0,
            "existing_business": 0,
        }
        for stage in OPEN_STAGES
    }
    for row in rows:
        entry = by_stage[row["stage"]]
        entry["count"] += row["count"]
        entry["amount"] += row["total"]
        entry["weighted"] += row["weighted"]
        entry[row["type"]] = entry.get(row["type"], 0) + row["count"]
    stages = list(by_stage.values())
    qualified = {
        "count": sum(s["count"] for s in stages if s["qualified"]),
        "amount": sum((s["amount"] for s in stages if s["qualified"]), ZERO),
        "weighted": sum((s["weighted"] for s in stages if s["qualified"]), ZERO),
        "new_business": sum(s["new_business"] for s in stages if s["qualified"]),
        "existing_business": sum(s["existing_business"] for s in stages if s["qualified"]),
        "as_of": timezone.localtime(moment),
    }
    return stages, qualified


def _month_key(value) -> str:
    if hasattr(value, "hour") and timezone.is_aware(value):
        value = timezone.localtime(value)
    return f"{value.year}-{value.month:02d}"


def trends(*, user, scope: Scope, months: int = 12) -> dict:
    """The last ``months`` months: new pipeline, won, win rate, qualified pipeline at
    month end, from the kept totals. Three queries."""
    alias = reports_db()
    scope = report_scope(user, scope)
    periods = last_periods(MONTH, months)
    now = timezone.now()
    month_ends = [min(p.end_moment(), now) for p in periods]
    created, closed = summaries.monthly_trends(
        scope, periods[0].start, qualified_rank=QUALIFIED_RANK, alias=alias
    )
    pipeline = summaries.pipeline_at_month_ends(
        scope, month_ends, now=now, stages=QUALIFIED_OPEN_STAGES, alias=alias
    )
    rows = []
    for index, period in enumerate(periods):
        made = created.get(period.key, {})
        done = closed.get(period.key, {})
        q_won, q_lost = done.get("qualified_won", 0), done.get("qualified_lost", 0)
        rows.append(
            {
                "key": period.key,
                "label": period.label,
                "created_count": made.get("count", 0),
                "created_amount": made.get("total", ZERO),
                "won_count": done.get("won", 0),
                "won_amount": done.get("won_amount", ZERO),
                "win_rate": rate(q_won, q_won + q_lost),
                "qualified_pipeline": pipeline[index],
            }
        )
    return {"rows": rows, "charts": _trend_charts(rows)}


def _trend_charts(rows: list[dict]) -> dict:
    """Chart.js data (labels, datasets) for json_script; the tables show the same rows.
    ``thousands`` is the language's grouping, for the tooltips to write figures as the
    tables do."""
    from django.utils.formats import get_format
    from django.utils.translation import gettext as _
    from django.utils.translation import pgettext

    labels = [row["label"] for row in rows]
    thousands = get_format("THOUSAND_SEPARATOR")

    def series(name):
        return [None if row[name] is None else float(row[name]) for row in rows]

    return {
        "pipeline_won": {
            "type": "bar",
            "thousands": thousands,
            "labels": labels,
            "datasets": [
                {"label": _("New pipeline"), "data": series("created_amount")},
                {"label": pgettext("amount", "Won"), "data": series("won_amount")},
            ],
        },
        "win_rate": {
            "type": "line",
            "thousands": thousands,
            "labels": labels,
            "percent": True,
            "datasets": [{"label": _("Win rate (count)"), "data": series("win_rate")}],
        },
        "qualified": {
            "type": "line",
            "thousands": thousands,
            "labels": labels,
            "datasets": [
                {
                    "label": _("Qualified pipeline at month end"),
                    "data": series("qualified_pipeline"),
                }
            ],
        },
    }


class DaysBetween(Func):
    """Days (fractional) from the second datetime to the first, in SQL."""

    arity = 2
    output_field = FloatField()

    def as_sql(self, compiler, connection, function=None, template=None, arg_joiner=None, **extra):
        return super().as_sql(
            compiler,
            connection,
            template="(julianday(%(expressions)s))",
            arg_joiner=") - julianday(",
        )

    def as_postgresql(self, compiler, connection, **extra):
        return super().as_sql(
            compiler,
            connection,
            template="(EXTRACT(EPOCH FROM (%(expressions)s)) / 86400.0)",
            arg_joiner=" - ",
        )


def first_engagement(*, user, period: Period, scope: Scope) -> dict:
    """Seed 001's hunter model: how fast the leads created in the period were first
    contacted (a call, meeting, email or visit logged as done), per rep and per source.
    One query, whatever the number of leads: grouped by rep and source, added up here.
    """
    alias = reports_db()
    start, end = period.start_moment(), period.end_moment()
    leads = (
        scoped_leads(user, scope, alias=alias)
        .filter(created_at__gte=start, created_at__lt=end)
        .annotate(first_contact=first_contact_subquery())
        .order_by()
    )
    groups = (
        leads.values(
            "owner_id", "owner__first_name", "owner__last_name", "owner__username", "source"
        )
        .annotate(
            leads=Count("pk"),
            contacted=Count("first_contact"),
            days=Sum(DaysBetween(F("first_contact"), F("created_at"))),
        )
        .order_by("owner__first_name", "owner__last_name", "owner_id", "source")
    )
    by_owner: dict[Any, dict] = {}
    by_source: dict[str, dict] = {}
    for group in groups:
        for key, totals in ((group["owner_id"], by_owner), (group["source"], by_source)):
            total = totals.setdefault(
                key, {"group": group, "leads": 0, "contacted": 0, "days": 0.0}
            )
            total["leads"] += group["leads"]
            total["contacted"] += group["contacted"]
            total["days"] += group["days"] or 0.0

    def row(label, values) -> dict:
        contacted = values["contacted"]
        return {
            "label": label,
            "leads": values["leads"],
            "contacted": contacted,
            "waiting": values["leads"] - contacted,
            "days": days_figure(values["days"] / contacted if contacted else None),
        }

    by_rep = []
    for values in by_owner.values():  # by name, in the database's order
        group = values["group"]
        if group["owner_id"] is None:
            label = _("No owner")
        else:
            name = f"{group['owner__first_name']} {group['owner__last_name']}".strip()
            label = name or group["owner__username"]
        by_rep.append(row(label, values))
    sources = dict(Source.choices)
    by_source_rows = [
        row(sources.get(source, source), by_source[source]) for source in sorted(by_source)
    ]
    return {
        "by_rep": by_rep,
        "by_source": by_source_rows,
        "tables": [
            (_("Per sales rep"), by_rep, "engagement-rep-table"),
            (_("Per source"), by_source_rows, "engagement-source-table"),
        ],
    }


def benchmark_rows(
    *, user, period: Period, scope: Scope, funnel: list[dict], win_rates: list[dict]
) -> list[dict]:
    """Each benchmark of the seeds beside the figure measured for the period and scope.

    New opportunities per rep and month, and opportunity → won, from the deals created in
    the period (one query); coverage from the forecast of the period (as the forecast page
    reads it); the funnel's and the win rates' figures as computed above.
    """
    reference = benchmarks()
    alias = reports_db()
    created = (
        scoped_deals(user, scope, alias=alias)
        .filter(created_at__gte=period.start_moment(), created_at__lt=period.end_moment())
        .order_by()
        .aggregate(
            count=Count("pk"),
            owners=Count("owner", distinct=True),
            won=Count("pk", filter=Q(stage=Stage.CLOSED_WON)),
        )
    )
    months = max(1, round((period.end - period.start).days / 30.4))
    reps = 1 if scope.kind == REP else created["owners"]
    per_rep = Decimal(created["count"]) / reps / months if reps and created["count"] else None
    coverage = scope_forecast(user=user, period=period, scope=scope, alias=alias)["coverage"]
    funnel_rates = {row["key"]: row["rate"] for row in funnel}
    win = {row["key"]: row["rate_count"] for row in win_rates}
    measured = [
        (Benchmark.Key.NEW_DEALS_PER_REP, per_rep, "count"),
        (Benchmark.Key.PIPELINE_COVERAGE, coverage, "ratio"),
        (
            Benchmark.Key.OPPORTUNITY_TO_DEAL,
            rate(created["won"], created["count"]),
            "percent",
        ),
        (Benchmark.Key.MQL_TO_SRL, funnel_rates.get("srl"), "percent"),
        (Benchmark.Key.SRL_TO_SQL, funnel_rates.get("sql"), "percent"),
        (Benchmark.Key.WIN_RATE_NEW, win.get("new_business"), "percent"),
        (Benchmark.Key.WIN_RATE_EXISTING, win.get("existing_business"), "percent"),
    ]
    return [
        {
            "key": str(key),
            "label": Benchmark.Key(key).label,
            "value": value,
            "unit": unit,
            "benchmark": reference[key],
            "position": reference[key].position(value),
        }
        for key, value, unit in measured
    ]


def metrics_report(*, user, period: Period, scope: Scope) -> MetricsReport:
    scope = report_scope(user, scope)
    stages, qualified = qualified_pipeline(user=user, period=period, scope=scope)
    velocity_rows, cycle = velocity(user=user, period=period, scope=scope)
    funnel, stage_conversion, win_rates = conversion(user=user, period=period, scope=scope)
    return MetricsReport(
        period=period,
        scope=scope,
        stages=stages,
        qualified=qualified,
        velocity=velocity_rows,
        cycle=cycle,
        funnel=funnel,
        stage_conversion=stage_conversion,
        win_rates=win_rates,
        trends=trends(user=user, scope=scope),
        engagement=first_engagement(user=user, period=period, scope=scope),
        benchmarks=benchmark_rows(
            user=user, period=period, scope=scope, funnel=funnel, win_rates=win_rates
        ),
    )
