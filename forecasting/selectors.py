"""Reads for the forecast, metrics, "what changed" and accuracy pages.

Every figure is a SQL aggregate (conditional ``Sum``/``Count`` with ``filter=Q(...)``) over
the current deals or the history rows valid at a moment: the number of queries does not
grow with the number of deals. Pure reports read from ``settings.REPORTS_DB_ALIAS``.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import (
    Avg,
    BooleanField,
    Case,
    Count,
    DecimalField,
    ExpressionWrapper,
    F,
    FloatField,
    Func,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.db.models.lookups import Exact
from django.utils import timezone

from climcrm.figures import as_decimal, rate
from climcrm.periods import MONTH, QUARTER, Period, period_containing
from climcrm.roles import is_internal, is_partner_user
from climcrm.text import parse_id
from forecasting import month_changes, summaries
from forecasting.models import Benchmark
from forecasting.scopes import ALL, CHANNEL, PARTNER, REP, TEAM, Scope, display_name
from leads import funnel as lead_funnel
from opportunities.amounts import weighted_amount_expression
from opportunities.models import (
    LADDER_STAGES,
    OPEN_STAGES,
    QUALIFIED_RANK,
    ForecastCategory,
    Opportunity,
    OpportunityHistory,
    Stage,
)
from opportunities.visibility import visible_opportunities

ZERO = Decimal("0")
MONEY = DecimalField(max_digits=18, decimal_places=2)
# "Qualified pipeline" (SQL): Needs Analysis or beyond, lost excluded.
SQL_STAGES = [Stage.NEEDS_ANALYSIS, Stage.PROPOSAL, Stage.NEGOTIATION, Stage.CLOSED_WON]
QUALIFIED_OPEN_STAGES = [Stage.NEEDS_ANALYSIS, Stage.PROPOSAL, Stage.NEGOTIATION]

FIGURES = ("closed", "commit", "best_case", "pipeline", "weighted")
# Drill-down columns: the deals behind each figure.
COLUMN_FILTERS = {
    "closed": Q(stage=Stage.CLOSED_WON),
    "commit": Q(stage__in=OPEN_STAGES, forecast_category=ForecastCategory.COMMIT),
    "best_case": Q(stage__in=OPEN_STAGES, forecast_category=ForecastCategory.BEST_CASE),
    "pipeline": Q(stage__in=OPEN_STAGES, forecast_category=ForecastCategory.PIPELINE),
    "open": Q(stage__in=OPEN_STAGES)
    & Q(
        forecast_category__in=[
            ForecastCategory.COMMIT,
            ForecastCategory.BEST_CASE,
            ForecastCategory.PIPELINE,
        ]
    ),
    "weighted": Q(stage__in=OPEN_STAGES),
    "commit_forecast": Q(stage=Stage.CLOSED_WON)
    | Q(stage__in=OPEN_STAGES, forecast_category=ForecastCategory.COMMIT),
    "best_case_forecast": Q(stage=Stage.CLOSED_WON)
    | Q(
        stage__in=OPEN_STAGES,
        forecast_category__in=[ForecastCategory.COMMIT, ForecastCategory.BEST_CASE],
    ),
    "all": Q(),
}

# Rows of the forecast table: the grouping key and the fields naming it.
GROUPS = {
    REP: ("owner_id", "owner__"),
    TEAM: ("owner__manager_id", "owner__manager__"),
    PARTNER: ("partner_id", "partner__account__name"),
    CHANNEL: ("partner__channel_manager_id", "partner__channel_manager__"),
}


def reports_db() -> str:
    return settings.REPORTS_DB_ALIAS


def money_sum(expression, condition: Q | None = None):
    return Coalesce(Sum(expression, filter=condition), Value(ZERO), output_field=MONEY)


def figure_aggregates(prefix: str = "", where: Q | None = None) -> dict:
    """Closed, Commit, Best Case, Pipeline, weighted and counts, as conditional sums.

    Works on deals and on history rows (the same column names; ``prefix`` "prev_" reads a
    history row's previous values), each sum held to ``where`` too when given. Deals
    without amount count as zero in the sums and are counted apart.
    """
    where = where or Q()
    open_q = where & Q(**{f"{prefix}stage__in": OPEN_STAGES})
    won_q = where & Q(**{f"{prefix}stage": Stage.CLOSED_WON})

    def category(name):
        return open_q & Q(**{f"{prefix}forecast_category": name})

    amount = f"{prefix}amount"
    return {
        "closed": money_sum(amount, won_q),
        "commit": money_sum(amount, category(ForecastCategory.COMMIT)),
        "best_case": money_sum(amount, category(ForecastCategory.BEST_CASE)),
        "pipeline": money_sum(amount, category(ForecastCategory.PIPELINE)),
        "weighted": money_sum(weighted_amount_expression(prefix), open_q),
        "open_count": Count("pk", filter=open_q),
        "won_count": Count("pk", filter=won_q),
        "no_amount_count": Count("pk", filter=open_q & Q(**{f"{prefix}amount__isnull": True})),
    }


def with_rollups(row: dict, target: Decimal | None = None) -> dict:
    """Add the cumulative roll-ups of SPEC and the coverage to a row of figures."""
    row["commit_forecast"] = row["commit"] + row["closed"]
    row["best_case_forecast"] = row["best_case"] + row["commit"] + row["closed"]
    row["open_pipeline"] = row["pipeline"] + row["best_case"] + row["commit"]
    row["target"] = target
    row["coverage"] = (row["open_pipeline"] / target) if target else None
    row["attainment"] = (row["closed"] / target * 100) if target else None
    return row


empty_figures = summaries.empty_figures


# ---------------------------------------------------------------- scoping


def scoped_deals(user, scope: Scope, *, alias: str | None = None) -> QuerySet:
    """The user's visible deals within the scope, on the reports database."""
    return visible_opportunities(user).using(alias or reports_db()).filter(scope.deal_q())


def scoped_history(user, scope: Scope, *, alias: str | None = None) -> QuerySet:
    """History rows of the user's visible deals, in the scope as it was at the time."""
    rows = OpportunityHistory.objects.using(alias or reports_db()).filter(scope.deal_q())
    if is_partner_user(user):
        # Only the partner's rows, and only deals still theirs: nothing of another
        # partner leaks through a deal that changed hands.
        return rows.filter(partner_id=user.partner_id, opportunity__partner_id=user.partner_id)
    if not is_internal(user):
        return rows.none()
    return rows


def scoped_leads(user, scope: Scope, *, alias: str | None = None) -> QuerySet:
    from leads.visibility import visible_leads

    return visible_leads(user).using(alias or reports_db()).filter(scope.lead_q())


# ---------------------------------------------------------------- targets


def _target_maps(period: Period, alias: str) -> dict:
    """Targets of the period per rep, team, partner and channel manager (three queries).

    Partner rows take the partner's own ``Target`` for a quarter when there is one, else
    the revenue of its business plan (``PartnerTarget``).
    """
    from accounts.models import PartnerTarget
    from forecasting.models import Target

    share = Decimal(str(period.target_share))
    in_period = Q(year=period.year, quarter__in=period.quarters)
    maps: dict[str, dict] = {REP: {}, TEAM: {}, PARTNER: {}, CHANNEL: {}}
    for row in (
        Target.objects.using(alias)
        .filter(in_period, user__isnull=False)
        .values("user_id", "user__manager_id")
        .annotate(total=Sum("amount"))
    ):
        value = row["total"] * share
        maps[REP][row["user_id"]] = maps[REP].get(row["user_id"], ZERO) + value
        maps[TEAM][row["user__manager_id"]] = maps[TEAM].get(row["user__manager_id"], ZERO) + value
    per_quarter: dict[tuple, tuple] = {}
    for row in (
        PartnerTarget.objects.using(alias)
        .filter(in_period)
        .values("partner_id", "quarter", "revenue", "partner__channel_manager_id")
    ):
        per_quarter[(row["partner_id"], row["quarter"])] = (
            row["revenue"],
            row["partner__channel_manager_id"],
        )
    for row in (
        Target.objects.using(alias)
        .filter(in_period, partner__isnull=False)
        .values("partner_id", "quarter", "amount", "partner__channel_manager_id")
    ):
        per_quarter[(row["partner_id"], row["quarter"])] = (
            row["amount"],
            row["partner__channel_manager_id"],
        )
    for (partner_id, _quarter), (amount, channel_id) in per_quarter.items():
        value = amount * share
        maps[PARTNER][partner_id] = maps[PARTNER].get(partner_id, ZERO) + value
        maps[CHANNEL][channel_id] = maps[CHANNEL].get(channel_id, ZERO) + value
    return maps


def _scope_target(maps: dict, scope: Scope) -> Decimal | None:
    if scope.kind == ALL:
        total = sum(maps[REP].values(), ZERO)
        return total or None
    return maps[scope.kind].get(scope.pk)


# ---------------------------------------------------------------- forecast


@dataclass
class ForecastReport:
    period: Period
    group: str
    scope: Scope
    rows: list[dict] = field(default_factory=list)
    total: dict = field(default_factory=dict)
    last_week: dict = field(default_factory=dict)


def period_deals(user, period: Period, scope: Scope, *, alias: str | None = None) -> QuerySet:
    """Deals whose close date falls in the period (the forecast's basis)."""
    return scoped_deals(user, scope, alias=alias).filter(
        close_date__gte=period.start, close_date__lt=period.end
    )


def _row_label(row: dict, group: str, fallback: str) -> str:
    key_field, name_field = GROUPS[group]
    if row[key_field] is None:
        return fallback
    if group == PARTNER:
        return row[name_field]
    return display_name(row, name_field)


def forecast_report(
    *, user, period: Period, group: str = REP, scope: Scope | None = None
) -> ForecastReport:
    """Forecast of the period grouped by rep, team, partner or channel manager.

    Four queries whatever the number of deals: the grouped figures, the targets (three
    small queries over targets only) and last week's totals from the history.
    """
    from django.utils.translation import gettext as _

    alias = reports_db()
    scope = scope or Scope()
    if is_partner_user(user):
        group = PARTNER
    if group not in GROUPS:
        group = REP
    key_field, name_field = GROUPS[group]
    if group == PARTNER:
        label_fields = [name_field]
    else:
        label_fields = [
            f"{name_field}first_name",
            f"{name_field}last_name",
            f"{name_field}username",
        ]
    grouped = (
        period_deals(user, period, scope, alias=alias)
        .order_by()
        .values(key_field, *label_fields)
        .annotate(**figure_aggregates())
    )
    maps = _target_maps(period, alias)
    fallback = {
        REP: _("No owner"),
        TEAM: _("No team"),
        PARTNER: _("Direct (no partner)"),
        CHANNEL: _("No channel manager"),
    }[group]
    by = "owner" if group in (REP, TEAM) else "partner"
    rows_q = summaries.forecast_family(scope, by) if _reads_summaries(user) else None
    if rows_q is not None:
        grouped_rows = _grouped_from_totals(rows_q, period, group, alias, str(fallback))
    else:
        grouped_rows = [
            (
                row[key_field],
                _row_label(row, group, str(fallback)),
                {name: row[name] for name in figure_aggregates()},
            )
            for row in grouped
        ]
    rows = []
    for key, label, figures in grouped_rows:
        target = maps[group].get(key) if key is not None else None
        rows.append(
            with_rollups(
                {"key": "none" if key is None else str(key), "label": label, **figures},
                target,
            )
        )
    # Groups with a target but no deal still show, so a rep with nothing is visible.
    present = {row["key"] for row in rows}
    missing_keys = [k for k in maps[group] if k is not None and str(k) not in present]
    if missing_keys and scope.kind == ALL and not is_partner_user(user):
        names = _names_for(group, missing_keys, alias)
        for key in missing_keys:
            if key in names:
                rows.append(
                    with_rollups(
                        {"key": str(key), "label": names[key], **empty_figures()},
                        maps[group][key],
                    )
                )
    rows.sort(key=lambda r: (r["key"] == "none", r["label"].lower()))
    total = empty_figures()
    for row in rows:
        for name in total:
            total[name] += row[name]
    if is_partner_user(user):
        scope_target = maps[PARTNER].get(user.partner_id)
    elif scope.kind == ALL:
        scope_target = sum(maps[group].values(), ZERO) or None
    else:
        scope_target = _scope_target(maps, scope)
    with_rollups(total, scope_target)
    week_ago = timezone.now() - timedelta(days=7)
    if rows_q is not None:
        changes = _changes_since(week_ago, user, scope, period)
        then = {name: total[name] - changes[name] for name in changes}
    else:
        then = figures_as_of(week_ago, scoped_history(user, scope, alias=alias), period)
    last_week = with_rollups(then, scope_target)
    return ForecastReport(
        period=period, group=group, scope=scope, rows=rows, total=total, last_week=last_week
    )


def _grouped_from_totals(rows_q: Q, period: Period, group: str, alias: str, fallback: str):
    """``(key, label, figures)`` per rep, team, partner or channel manager, from the running
    totals (``summaries.forecast_figures``): one query, and one or two for the names."""
    from accounts.models import Partner
    from climcrm.models import User

    by = "owner" if group in (REP, TEAM) else "partner"
    figures = summaries.forecast_figures(rows_q, period.start, period.end, by=by, alias=alias)
    if group in (TEAM, CHANNEL):
        ids = [key for key in figures if key is not None]
        if group == TEAM:
            parent = dict(
                User.objects.using(alias).filter(pk__in=ids).values_list("pk", "manager_id")
            )
        else:
            parent = dict(
                Partner.objects.using(alias)
                .filter(pk__in=ids)
                .values_list("pk", "channel_manager_id")
            )
        merged: dict = {}
        for key, values in figures.items():
            entry = merged.setdefault(parent.get(key), summaries.empty_figures())
            for name, value in values.items():
                entry[name] += value
        figures = merged
    names = _names_for(group, [key for key in figures if key is not None], alias)
    return [
        (key, fallback if key is None else names.get(key, str(key)), values)
        for key, values in figures.items()
    ]


def _changes_since(moment: datetime, user, scope: Scope, period: Period) -> dict:
    """What the changes made after ``moment`` did to the forecast figures of ``period``: the
    figures of the values they wrote less those of the values they replaced, in one pass
    over the rows changed since (``opphist_changes_end``). The figures at ``moment`` are
    the figures now less these."""
    since = OpportunityHistory.objects.using(reports_db()).filter(changed_at__gt=moment)
    written = scope.deal_q() & Q(close_date__gte=period.start, close_date__lt=period.end)
    replaced = (
        scope.deal_q("prev_")
        & Q(is_creation=False)
        & Q(prev_close_date__gte=period.start, prev_close_date__lt=period.end)
    )
    values = since.aggregate(
        **{f"w_{name}": agg for name, agg in figure_aggregates(where=written).items()},
        **{f"r_{name}": agg for name, agg in figure_aggregates("prev_", replaced).items()},
    )
    return {name: values[f"w_{name}"] - values[f"r_{name}"] for name in figure_aggregates()}


def figures_as_of(moment: datetime, rows: QuerySet, period: Period) -> dict:
    """The forecast figures of the deals closing in ``period`` as they stood at ``moment``.

    The same rows as ``values_as_of(moment, rows)``, read in two queries an index bounds:
    the rows still current (``opphist_current_close``, by close date) and the rows
    superseded since ``moment`` (``opphist_validity``, few for a recent moment). A single
    ``valid_until IS NULL OR valid_until > moment`` would read every current row's table row.
    """
    in_period = rows.filter(
        close_date__gte=period.start, close_date__lt=period.end, changed_at__lte=moment
    )
    current = in_period.filter(valid_until__isnull=True).aggregate(**figure_aggregates())
    superseded = in_period.filter(valid_until__gt=moment).aggregate(**figure_aggregates())
    return {name: current[name] + superseded[name] for name in current}


def _names_for(group: str, keys: list[int], alias: str) -> dict[int, str]:
    from accounts.models import Partner
    from climcrm.models import User

    if group == PARTNER:
        return {
            p["pk"]: p["account__name"]
            for p in Partner.objects.using(alias).filter(pk__in=keys).values("pk", "account__name")
        }
    return {
        u["pk"]: display_name(u)
        for u in User.objects.using(alias)
        .filter(pk__in=keys)
        .values("pk", "first_name", "last_name", "username")
    }


def forecast_drilldown(
    *, user, period: Period, group: str, key: str, column: str, scope: Scope | None = None
) -> QuerySet:
    """The deals behind one figure of the forecast table (``key`` "total" for the total row)."""
    scope = scope or Scope()
    if is_partner_user(user):
        group = PARTNER
    deals = period_deals(user, period, scope)
    if group in GROUPS and key != "total":
        key_field = GROUPS[group][0]
        if key == "none":
            deals = deals.filter(**{f"{key_field.removesuffix('_id')}__isnull": True})
        elif parse_id(key) is not None:
            deals = deals.filter(**{key_field: parse_id(key)})
        else:
            deals = deals.none()
    deals = deals.filter(COLUMN_FILTERS.get(column, COLUMN_FILTERS["all"]))
    return deals.select_related("account", "owner", "partner__account").order_by("close_date", "pk")


def deal_totals(queryset: QuerySet) -> dict:
    return queryset.order_by().aggregate(
        count=Count("pk"),
        total=money_sum("amount"),
        weighted=money_sum(weighted_amount_expression()),
        no_amount=Count("pk", filter=Q(amount__isnull=True)),
    )


def scope_forecast(*, user, period: Period, scope: Scope, alias: str | None = None) -> dict:
    """The forecast totals of one scope, read where the forecast page reads them (the
    running totals for internal users, the deals for a partner user), so that the
    dashboard and the forecast show the same figures. One query for the figures, then
    the targets."""
    alias = alias or reports_db()
    by = "partner" if scope.kind in (PARTNER, CHANNEL) else "owner"
    rows_q = summaries.forecast_family(scope, by) if _reads_summaries(user) else None
    if rows_q is not None:
        figures = empty_figures()
        grouped = summaries.forecast_figures(rows_q, period.start, period.end, by=by, alias=alias)
        for values in grouped.values():
            for name, value in values.items():
                figures[name] += value
    else:
        figures = period_deals(user, period, scope, alias=alias).aggregate(**figure_aggregates())
    maps = _target_maps(period, alias)
    if is_partner_user(user):
        target = maps[PARTNER].get(user.partner_id)
    else:
        target = _scope_target(maps, scope)
    return with_rollups(figures, target)


# ---------------------------------------------------------------- metrics


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


def _stage_label(stage: str) -> str:
    return str(Stage(stage).label)


def _scope_condition(user, scope: Scope, alias: str, column: str) -> tuple[str, tuple]:
    """``AND <column> IN (visible deals in the scope)``, or nothing when that restricts nothing.

    An internal user sees every deal: for the whole company the semi-join over all deals
    would only cost time, so it is left out.
    """
    if scope.kind == ALL and is_internal(user) and not is_partner_user(user):
        return "", ()
    deals = scoped_deals(user, scope, alias=alias).order_by().values("pk")
    sql, params = deals.query.get_compiler(using=alias).as_sql()
    return f" AND {column} IN ({sql})", tuple(params)


def _days(connection, later: str, earlier: str) -> str:
    if connection.vendor == "postgresql":
        return f"EXTRACT(EPOCH FROM ({later} - {earlier})) / 86400.0"
    return f"(julianday({later}) - julianday({earlier}))"


def _reads_summaries(user) -> bool:
    """Internal users read the running totals (``forecasting.summaries``); a partner user
    reads the deals and history, held to the deals still theirs (a twentieth of them)."""
    return is_internal(user) and not is_partner_user(user)


def velocity(*, user, period: Period, scope: Scope) -> tuple[list[dict], dict]:
    """Average days spent in each stage, and sales-cycle length, over the period.

    A stay in a stage runs from the history row that entered it (creation or stage change)
    to the next row that changed the stage; stays that ended in the period are averaged.
    Only the rows leaving an open stage in the period are read, each carrying when the
    stay it ends began (``prev_stage_entered_at``, index ``opphist_stay_ends``). The sales
    cycle runs from creation to close for deals closed in the period, split won/lost and
    new/existing business. Two queries.
    """
    from django.db import connections

    alias = reports_db()
    connection = connections[alias]
    history_table = OpportunityHistory._meta.db_table
    deal_table = Opportunity._meta.db_table
    start = connection.ops.adapt_datetimefield_value(period.start_moment())
    end = connection.ops.adapt_datetimefield_value(min(period.end_moment(), timezone.now()))
    stay_scope, stay_params = _scope_condition(user, scope, alias, "h.opportunity_id")
    cycle_scope, cycle_params = _scope_condition(user, scope, alias, "o.id")
    stays_sql = f"""
        SELECT h.prev_stage, COUNT(*),
               AVG({_days(connection, "h.changed_at", "h.prev_stage_entered_at")})
        FROM {history_table} h
        WHERE h.prev_stage_entered_at IS NOT NULL
          AND h.changed_at >= %s AND h.changed_at < %s{stay_scope}
        GROUP BY h.prev_stage
    """
    cycle_sql = f"""
        SELECT o.stage, o.type, COUNT(*), AVG({_days(connection, "o.closed_at", "o.created_at")})
        FROM {deal_table} o
        WHERE o.closed_at >= %s AND o.closed_at < %s{cycle_scope}
        GROUP BY o.stage, o.type
    """
    if _reads_summaries(user):
        stays = summaries.stays(scope, period.start, period.end, alias=alias)
        cycles = summaries.cycles(scope, period.start, period.end, alias=alias)
    else:
        with connection.cursor() as cursor:
            cursor.execute(stays_sql, (start, end, *stay_params))
            stays = {stage: (count, days) for stage, count, days in cursor.fetchall()}
            cursor.execute(cycle_sql, (start, end, *cycle_params))
            cycles = cursor.fetchall()
    rows = [
        {
            "stage": stage,
            "label": _stage_label(stage),
            "count": stays.get(stage, (0, None))[0],
            "days": _days_figure(stays.get(stage, (0, None))[1]),
        }
        for stage in OPEN_STAGES
    ]
    cycle: dict = {}
    for stage, kind, count, days in cycles:
        entry = cycle.setdefault(stage, {"count": 0, "day_sum": 0.0, "by_type": {}})
        entry["count"] += count
        entry["day_sum"] += float(days or 0) * count
        entry["by_type"][kind] = {"count": count, "days": _days_figure(days)}
    for entry in cycle.values():
        entry["days"] = _days_figure(entry["day_sum"] / entry["count"]) if entry["count"] else None
    return rows, cycle


def _days_figure(value) -> Decimal | None:
    """Average days at full precision: the page rounds them once, to the tenth it shows."""
    return as_decimal(value)


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
                "base_label": labels.get(base),
                "benchmark": benchmark,
            }
        )

    created = scoped_deals(user, scope, alias=alias).filter(
        created_at__gte=start, created_at__lt=end
    )
    # A deal reached a step of the ladder when it was once in that stage or a later one
    # (lost aside): when the furthest stage it was ever in ranks that high.
    ladder = LADDER_STAGES
    if _reads_summaries(user):
        furthest_counts = summaries.created_by_rank(scope, period.start, period.end, alias=alias)
    else:
        furthest_counts = {
            row["furthest_rank"]: row["count"]
            for row in created.order_by().values("furthest_rank").annotate(count=Count("pk"))
        }
    reached = [
        sum(count for rank, count in furthest_counts.items() if rank and rank > index)
        for index in range(len(ladder))
    ]
    stage_conversion = [
        {
            "stage": stage,
            "label": _stage_label(stage),
            "count": reached[index],
            "rate": rate(reached[index], reached[index - 1]) if index else None,
        }
        for index, stage in enumerate(ladder)
    ]

    # Qualified deals closed in the period, by type and outcome.
    closed = (
        scoped_deals(user, scope, alias=alias)
        .filter(closed_at__gte=start, closed_at__lt=end)
        .filter(stage__in=[Stage.CLOSED_WON, Stage.CLOSED_LOST])
        .filter(furthest_rank__gte=QUALIFIED_RANK)
    )
    values = dict.fromkeys(
        [
            f"{kind}_{outcome}"
            for kind in ("new_business", "existing_business")
            for outcome in ("won", "lost")
        ],
        0,
    )
    values |= {f"{key}_amount": ZERO for key in values}
    outcomes = {Stage.CLOSED_WON: "won", Stage.CLOSED_LOST: "lost"}
    if _reads_summaries(user):
        outcome_rows = summaries.closed_outcomes(
            scope, period.start, period.end, min_rank=QUALIFIED_RANK, alias=alias
        )
    else:
        outcome_rows = (
            closed.order_by()
            .values("type", "stage")
            .annotate(count=Count("pk"), total=money_sum("amount"))
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
    """Volume and value of the pipeline by stage, as of the end of the period (two queries).

    The history rows valid at that moment (``values_as_of``), read as the rows still
    current plus the rows superseded since, each a range of one index
    (``opphist_open_current``, ``opphist_open_superseded``), where a single
    ``valid_until IS NULL OR valid_until > moment`` would read every current row's table row.
    """
    alias = reports_db()
    now = timezone.now()
    moment = min(period.end_moment(), now)
    history = scoped_history(user, scope, alias=alias).filter(
        stage__in=OPEN_STAGES, changed_at__lte=moment
    )
    if _reads_summaries(user):
        rows = summaries.open_pipeline(scope, moment, now=now, stages=OPEN_STAGES, alias=alias)
    else:
        rows = [
            row | {"type": row["opportunity__type"]}
            for part in (
                history.filter(valid_until__isnull=True),
                history.filter(valid_until__gt=moment),
            )
            for row in part.order_by()
            .values("stage", "opportunity__type")
            .annotate(
                count=Count("*"),  # not the id: the index carries every other column
                total=money_sum("amount"),
                weighted=money_sum(weighted_amount_expression()),
            )
        ]
    by_stage = {
        stage: {
            "stage": stage,
            "label": _stage_label(stage),
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


def _live_trends(user, scope: Scope, periods, month_ends, alias: str) -> tuple:
    """``trends`` from the deals and history (partner users): three queries."""
    from django.db.models.functions import TruncMonth

    first = periods[0].start_moment()
    deals = scoped_deals(user, scope, alias=alias)
    created = {
        _month_key(row["month"]): row
        for row in deals.filter(created_at__gte=first)
        .annotate(month=TruncMonth("created_at"))
        .order_by()
        .values("month")
        .annotate(count=Count("pk"), total=money_sum("amount"))
    }
    # Closed deals by month, outcome and whether they were qualified: won counts all of
    # them, the win rate only the qualified ones.
    closed: dict[str, dict] = {}
    for row in (
        deals.filter(closed_at__gte=first, stage__in=[Stage.CLOSED_WON, Stage.CLOSED_LOST])
        .annotate(month=TruncMonth("closed_at"))
        .order_by()
        .values("month", "stage", "furthest_rank")
        .annotate(count=Count("pk"), total=money_sum("amount"))
    ):
        month = closed.setdefault(
            _month_key(row["month"]),
            {"won": 0, "won_amount": ZERO, "qualified_won": 0, "qualified_lost": 0},
        )
        outcome = "won" if row["stage"] == Stage.CLOSED_WON else "lost"
        if outcome == "won":
            month["won"] += row["count"]
            month["won_amount"] += row["total"]
        if row["furthest_rank"] >= QUALIFIED_RANK:
            month[f"qualified_{outcome}"] += row["count"]
    # The rows valid at a month end: still current, or superseded after the first month
    # end (``opphist_open_current``, ``opphist_open_superseded``: from the indexes alone).
    history = scoped_history(user, scope, alias=alias).filter(
        stage__in=QUALIFIED_OPEN_STAGES, changed_at__lte=month_ends[-1]
    )
    current = history.filter(valid_until__isnull=True).aggregate(
        **{
            f"m{index}": money_sum("amount", Q(changed_at__lte=moment))
            for index, moment in enumerate(month_ends)
        }
    )
    superseded = history.filter(valid_until__gt=month_ends[0]).aggregate(
        **{
            f"m{index}": money_sum("amount", Q(changed_at__lte=moment, valid_until__gt=moment))
            for index, moment in enumerate(month_ends)
        }
    )
    return created, closed, [current[key] + superseded[key] for key in current]


def trends(*, user, scope: Scope, months: int = 12) -> dict:
    """The last ``months`` months: new pipeline, won, win rate, qualified pipeline at
    month end. Three queries."""
    from climcrm.periods import MONTH, last_periods

    alias = reports_db()
    periods = last_periods(MONTH, months)
    now = timezone.now()
    month_ends = [min(p.end_moment(), now) for p in periods]
    if _reads_summaries(user):
        created, closed = summaries.monthly_trends(
            scope, periods[0].start, qualified_rank=QUALIFIED_RANK, alias=alias
        )
        pipeline = summaries.pipeline_at_month_ends(
            scope, month_ends, now=now, stages=QUALIFIED_OPEN_STAGES, alias=alias
        )
    else:
        created, closed, pipeline = _live_trends(user, scope, periods, month_ends, alias)
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

    def as_sql(self, compiler, connection, **extra):
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
    Two queries, whatever the number of leads.
    """
    from django.utils.translation import gettext as _

    from climcrm.choices import Source
    from leads.selectors import first_contact_subquery

    alias = reports_db()
    start, end = period.start_moment(), period.end_moment()
    leads = (
        scoped_leads(user, scope, alias=alias)
        .filter(created_at__gte=start, created_at__lt=end)
        .annotate(first_contact=first_contact_subquery())
        .order_by()
    )
    figures = {
        "leads": Count("pk"),
        "contacted": Count("first_contact"),
        "days": Avg(DaysBetween(F("first_contact"), F("created_at"))),
    }

    def row(label, values) -> dict:
        return {
            "label": label,
            "leads": values["leads"],
            "contacted": values["contacted"],
            "waiting": values["leads"] - values["contacted"],
            "days": _days_figure(values["days"]),
        }

    by_owner_rows = list(
        leads.values("owner_id", "owner__first_name", "owner__last_name", "owner__username")
        .annotate(**figures)
        .order_by("owner__first_name", "owner__last_name", "owner_id")
    )
    by_rep = []
    for values in by_owner_rows:
        if values["owner_id"] is None:
            label = _("No owner")
        else:
            name = f"{values['owner__first_name']} {values['owner__last_name']}".strip()
            label = name or values["owner__username"]
        by_rep.append(row(label, values))
    sources = dict(Source.choices)
    by_source = [
        row(sources.get(values["source"], values["source"]), values)
        for values in leads.values("source").annotate(**figures).order_by("source")
    ]
    return {
        "by_rep": by_rep,
        "by_source": by_source,
        "tables": [
            (_("Per sales rep"), by_rep, "engagement-rep-table"),
            (_("Per source"), by_source, "engagement-source-table"),
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


# ---------------------------------------------------------------- what changed


def _scope_match(scope: Scope, moment: str) -> Q | None:
    """Owner or partner at ``moment`` (``start`` or ``end``) in the scope; None when the
    scope is every deal."""
    return _match(scope, f"owner_{moment}", f"partner_{moment}")


def _match(scope: Scope, owner: str, partner: str) -> Q | None:
    """The field ``owner`` (or ``partner``, for a partner or channel scope) in the scope."""
    from accounts.models import Partner
    from climcrm.models import User

    if scope.kind == ALL:
        return None
    if scope.kind == REP:
        match = Q(**{owner: scope.pk})
    elif scope.kind == TEAM:
        match = Q(**{f"{owner}__in": User.objects.filter(manager_id=scope.pk).values("pk")})
    elif scope.kind == PARTNER:
        match = Q(**{partner: scope.pk})
    else:
        channel = Partner.objects.filter(channel_manager_id=scope.pk).values("pk")
        match = Q(**{f"{partner}__in": channel})
    # False, not NULL, for a deal with no owner or partner then: "moved in" negates it.
    return Q(Coalesce(ExpressionWrapper(match, output_field=BooleanField()), Value(False)))


def _in_scope(scope: Scope, moment: str) -> Q:
    """The deal existed at ``moment`` and was in the scope (owner and partner then)."""
    existed = Q(**{f"stage_{moment}__isnull": False})
    match = _scope_match(scope, moment)
    return existed if match is None else existed & match


CHANGE_KINDS = (
    "new",
    "advanced",
    "moved_back",
    "won",
    "lost",
    "slipped",
    "amount_up",
    "amount_down",
    "moved_in",
    "moved_out",
)
# The values "what changed" compares (the kinds above, the scope, the drill-down's columns):
# the columns of the history's covering indexes for both ends.
CHANGE_FIELDS = month_changes.STATE_FIELDS
# Each kind: the bit of ``kinds`` it needs, and where the deal must be in the scope.
_KIND_RULES = {
    "new": (month_changes.NEW, "end"),
    "advanced": (month_changes.ADVANCED, "both"),
    "moved_back": (month_changes.MOVED_BACK, "both"),
    "won": (month_changes.WON, "end"),
    "lost": (month_changes.LOST, "end"),
    "slipped": (month_changes.STILL_OPEN, "both"),
    "amount_up": (month_changes.AMOUNT_UP, "both"),
    "amount_down": (month_changes.AMOUNT_DOWN, "both"),
}


def _has(bit: int) -> Q:
    return Q(Exact(F("kinds").bitand(bit), bit))


def _slipped(end_day) -> Q:
    """Open at the end with a close date moved past the window's last day."""
    return Q(close_date_start__lte=end_day, close_date_end__gt=end_day)


def change_filters(scope: Scope, end_day) -> dict[str, Q]:
    """One condition per kind of change, over ``kinds`` and ``<field>_start``/``_end``."""
    in_start, in_end = _in_scope(scope, "start"), _in_scope(scope, "end")
    where = {"end": in_end, "both": in_start & in_end}
    filters = {kind: _has(bit) & where[part] for kind, (bit, part) in _KIND_RULES.items()}
    filters["slipped"] &= _slipped(end_day)
    filters["moved_in"] = in_end & ~in_start & Q(stage_start__isnull=False)
    filters["moved_out"] = in_start & ~in_end
    return filters


def kinds_of(bits: int, slipped: bool, start_in: bool, end_in: bool) -> list[str]:
    """The kinds of change of a deal (or a group of deals alike), as ``change_filters``:
    ``start_in``/``end_in`` say whether its owner or partner was in the scope then."""
    in_start = not bits & month_changes.NEW and bool(start_in)
    in_end = bool(end_in)
    where = {"end": in_end, "both": in_start and in_end}
    kinds = [
        kind
        for kind, (bit, part) in _KIND_RULES.items()
        if bits & bit and where[part] and (kind != "slipped" or slipped)
    ]
    if in_end and not in_start and not bits & month_changes.NEW:
        kinds.append("moved_in")
    if in_start and not in_end:
        kinds.append("moved_out")
    return kinds


def _compared_values() -> dict:
    """What the drill-down shows and ``change_filters`` compares."""
    return {
        "kinds": month_changes.kinds_expression(),
        "amount_start_value": Coalesce(F("amount_start"), Value(ZERO), output_field=MONEY),
        "amount_end_value": Coalesce(F("amount_end"), Value(ZERO), output_field=MONEY),
    }


def compared_deals(*, user, start, end) -> QuerySet:
    """Visible deals changed in [start, end) with their state at both ends."""
    from opportunities.history import compare_states

    deals = visible_opportunities(user).using(reports_db())
    return compare_states(start, end, deals, fields=CHANGE_FIELDS).annotate(**_compared_values())


def _visible_rows(user, rows: QuerySet) -> QuerySet:
    """Rows about deals (``opportunity``) narrowed to the ones ``user`` may see."""
    if is_partner_user(user):
        return rows.filter(opportunity__in=visible_opportunities(user))
    if not is_internal(user):
        return rows.none()
    # Internal users see every deal (``visible_opportunities``): no join to the deals.
    return rows


def compared_rows(*, user, start, end) -> QuerySet:
    """The same deals and states as ``compared_deals``, one history row each, read from the
    history alone (the figures of "what changed" need no column of the deals' table)."""
    from opportunities.history import compare_rows

    rows = _visible_rows(user, OpportunityHistory.objects.using(reports_db()))
    return compare_rows(start, end, rows, fields=CHANGE_FIELDS).annotate(
        kinds=month_changes.kinds_expression()
    )


def is_month_window(start_day, end_day) -> bool:
    """The window is a calendar month, or the month under way up to now: the deals' rows
    of that month (``MonthChange``) hold both ends."""
    if start_day.day != 1:
        return False
    last_day = period_containing(MONTH, start_day).last_day
    today = timezone.localdate()
    return end_day == last_day or (start_day <= today <= last_day and end_day >= today)


def month_rows(*, user, month) -> QuerySet:
    """The visible deals changed in ``month``, with their state at its start and end."""
    from forecasting.models import MonthChange

    return _visible_rows(user, MonthChange.objects.using(reports_db()).filter(month=month))


def what_changed(*, user, start_day, end_day, scope: Scope, months: bool = True) -> dict:
    """Counts and amounts of each kind of change between two days.

    ``end_day`` is included: the window is [start_day 00:00, end_day + 1 day 00:00).
    Amounts are the deal's amount at the end (at the start for "moved out"); amount
    up/down give the net change. A month is read from the totals of the deals changed in
    it and its slips (two queries; a partner user, from their deals' rows of the month);
    ``months=False`` reads the history's rows, as for any other window (one query).
    """
    from opportunities.history import as_datetime

    result = {kind: {"count": 0, "amount": ZERO} for kind in CHANGE_KINDS}
    if months and is_month_window(start_day, end_day):
        if _reads_summaries(user):
            _add_groups(result, _month_totals(start_day, scope), Decimal(100))
            result["slipped"] = _month_slips(start_day, end_day, scope)
            return result
        rows = month_rows(user=user, month=start_day)
        still_open = _has(month_changes.STILL_OPEN)
        amount, unit = "amount_cents", Decimal(100)
    else:
        start = as_datetime(start_day)
        end = as_datetime(end_day + timedelta(days=1))
        rows = compared_rows(user=user, start=start, end=end)
        still_open = month_changes.kind_conditions()[month_changes.STILL_OPEN]
        amount, unit = "amount", Decimal(1)
    # Deals are grouped by their comparisons (a few dozen groups) with their amounts at
    # both ends summed; which kinds each group counts in is decided by ``kinds_of``.
    groups = {"slipped": ExpressionWrapper(still_open & _slipped(end_day), BooleanField())}
    for flag, moment in (("start_in", "start"), ("end_in", "end")):
        match = _scope_match(scope, moment)
        if match is not None:
            groups[flag] = ExpressionWrapper(match, output_field=BooleanField())
    grouped = (
        rows.annotate(**groups)
        .order_by()
        .values("kinds", *groups)
        # ``*``, not the id: the month's index holds no id. Sums skip NULL amounts.
        .annotate(count=Count("*"), at_end=Sum(f"{amount}_end"), at_start=Sum(f"{amount}_start"))
    )
    _add_groups(result, grouped, unit)
    return result


def _add_groups(result: dict, groups, unit: Decimal = Decimal(1)) -> None:
    """Add groups of deals alike (``kinds``, ``slipped``, ``start_in``, ``end_in``, with
    ``count`` and the sums ``at_end``/``at_start`` in ``unit``) to each kind they count in."""
    for group in groups:
        at_end = (group["at_end"] or ZERO) / unit
        at_start = (group["at_start"] or ZERO) / unit
        kinds = kinds_of(
            group["kinds"],
            group.get("slipped", False),
            group.get("start_in", True),
            group.get("end_in", True),
        )
        for kind in kinds:
            if kind in ("amount_up", "amount_down"):
                change = at_end - at_start
            elif kind == "moved_out":
                change = at_start
            else:
                change = at_end
            result[kind]["count"] += group["count"]
            result[kind]["amount"] += change


def _month_totals(month, scope: Scope):
    """The month's totals of the scope's side (owners, or partners for a partner or channel
    scope), grouped by comparisons and by whether each end is in the scope."""
    from forecasting.models import MonthChangeTotal

    side = "p" if scope.kind in (PARTNER, CHANNEL) else "o"
    totals = MonthChangeTotal.objects.using(reports_db()).filter(month=month, side=side)
    flags = {}
    for flag, key in (("start_in", "start_key"), ("end_in", "end_key")):
        match = _match(scope, key, key)
        if match is not None:
            flags[flag] = ExpressionWrapper(match, output_field=BooleanField())
    return (
        totals.annotate(**flags)
        .order_by()
        .values("kinds", *flags)
        .annotate(count=Sum("count"), at_end=Sum("cents_end"), at_start=Sum("cents_start"))
    )


def _month_slips(month, end_day, scope: Scope) -> dict:
    """Deals of the month whose close date moved past ``end_day`` (one index range)."""
    from forecasting.models import MonthChange

    rows = MonthChange.objects.using(reports_db()).filter(
        month_changes.slip_candidates(), _slipped(end_day), month=month
    )
    for moment in ("start", "end"):
        match = _scope_match(scope, moment)
        if match is not None:
            rows = rows.filter(match)
    totals = rows.aggregate(count=Count("*"), cents=Sum("amount_cents_end"))
    return {"count": totals["count"], "amount": (totals["cents"] or ZERO) / Decimal(100)}


def changed_deals(*, user, start_day, end_day, scope: Scope, kind: str) -> QuerySet:
    """The deals behind one kind of change, with their state at both ends."""
    from opportunities.history import as_datetime

    if is_month_window(start_day, end_day):
        deals = month_deals(user=user, month=start_day)
    else:
        start = as_datetime(start_day)
        end = as_datetime(end_day + timedelta(days=1))
        deals = compared_deals(user=user, start=start, end=end)
    condition = change_filters(scope, end_day).get(kind)
    if condition is None:
        return deals.none()
    return deals.filter(condition).select_related("account").order_by("name", "pk")


def month_deals(*, user, month) -> QuerySet:
    """The visible deals changed in ``month`` with their state at both ends, as
    ``compared_deals`` gives them, from the deals' rows of that month."""
    from django.db.models import FilteredRelation

    deals = visible_opportunities(user).using(reports_db())
    change = FilteredRelation("month_changes", condition=Q(month_changes__month=month))
    states = {"kinds": F("change__kinds")}
    for moment in ("start", "end"):
        states |= {
            f"stage_{moment}": F(f"change__stage_{moment}"),
            f"close_date_{moment}": F(f"change__close_date_{moment}"),
            f"owner_{moment}": F(f"change__owner_{moment}_id"),
            f"partner_{moment}": F(f"change__partner_{moment}_id"),
            # Cents back to the currency: a decimal product, on SQLite too.
            f"amount_{moment}": ExpressionWrapper(
                F(f"change__amount_cents_{moment}") * Value(Decimal("0.01")), output_field=MONEY
            ),
        }
    return (
        deals.annotate(change=change)
        .filter(change__isnull=False)
        .annotate(**states)
        .annotate(
            amount_start_value=Coalesce(F("amount_start"), Value(ZERO), output_field=MONEY),
            amount_end_value=Coalesce(F("amount_end"), Value(ZERO), output_field=MONEY),
        )
    )


# ---------------------------------------------------------------- accuracy


@dataclass
class AccuracyRow:
    period: Period
    commit: Decimal
    source: str  # "snapshot" or "history"
    won: Decimal
    won_count: int
    estimated: Decimal
    realised: Decimal

    @property
    def accuracy(self):
        return rate(self.won, self.commit)

    @property
    def estimate_ratio(self):
        return rate(self.realised, self.estimated)

    @property
    def gap(self):
        return self.won - self.commit


def commit_at_start(*, user, periods: list[Period], scope: Scope) -> list[Decimal]:
    """Commit forecast (Commit + Closed) of each period as the history stood at its start.

    One conditional sum per period over the Commit and won rows valid then, in two queries
    bounded by the periods' close dates: the rows still current (``opphist_current_close``)
    and the rows superseded after the first start (``opphist_past_commit_close``). No
    period, no query.
    """
    if not periods:
        return []
    alias = reports_db()
    first_start = min(period.start_moment() for period in periods)
    rows = scoped_history(user, scope, alias=alias).filter(
        Q(stage=Stage.CLOSED_WON)
        | Q(stage__in=OPEN_STAGES, forecast_category=ForecastCategory.COMMIT),
        close_date__gte=min(period.start for period in periods),
        close_date__lt=max(period.end for period in periods),
        changed_at__lte=max(period.start_moment() for period in periods),
    )

    def sums(*, superseded: bool) -> dict:
        # Current rows are valid from changed_at on: no valid_until in their sums, so
        # they are read from the index alone.
        aggregates = {}
        for index, period in enumerate(periods):
            moment = period.start_moment()
            condition = Q(close_date__gte=period.start, close_date__lt=period.end) & Q(
                changed_at__lte=moment
            )
            if superseded:
                condition &= Q(valid_until__gt=moment)
            aggregates[f"p{index}"] = money_sum("amount", condition)
        return aggregates

    current = rows.filter(valid_until__isnull=True).aggregate(**sums(superseded=False))
    past = rows.filter(valid_until__gt=first_start).aggregate(**sums(superseded=True))
    return [current[f"p{index}"] + past[f"p{index}"] for index in range(len(periods))]


def _snapshot_commits(*, user, periods: list[Period], scope: Scope) -> dict:
    """Commit forecasts frozen by snapshots, per period start (one query)."""
    from climcrm.models import User
    from forecasting.models import ForecastSnapshot, SnapshotScope

    if not periods:
        return {}
    snapshots = ForecastSnapshot.objects.using(reports_db()).filter(
        period_kind=periods[0].kind, period_start__in=[p.start for p in periods]
    )
    if is_partner_user(user):
        snapshots = snapshots.filter(scope=SnapshotScope.PARTNER, partner_id=user.partner_id)
    elif scope.kind == ALL:
        snapshots = snapshots.filter(scope=SnapshotScope.ALL)
    elif scope.kind == REP:
        snapshots = snapshots.filter(scope=SnapshotScope.REP, user_id=scope.pk)
    elif scope.kind == TEAM:
        snapshots = snapshots.filter(
            scope=SnapshotScope.REP,
            user__in=User.objects.filter(manager_id=scope.pk).values("pk"),
        )
    elif scope.kind == PARTNER:
        snapshots = snapshots.filter(scope=SnapshotScope.PARTNER, partner_id=scope.pk)
    else:
        snapshots = snapshots.filter(
            scope=SnapshotScope.PARTNER, partner__channel_manager_id=scope.pk
        )
    return {
        row["period_start"]: row["commit"] + row["closed"]
        for row in snapshots.order_by()
        .values("period_start")
        .annotate(commit=Sum("commit"), closed=Sum("closed"))
    }


# A won deal's amount at the start of the month or quarter of its close date, kept by the
# deal services (``Opportunity.close_month_start_amount``).
START_AMOUNTS = {MONTH: "close_month_start_amount", QUARTER: "close_quarter_start_amount"}


def _won_estimate(periods: list[Period]) -> dict:
    """Annotations giving ``estimate`` to won deals closing in one of ``periods``: its amount
    when it first entered Commit, else at the start of its period, else at its creation.

    The deal services keep each of those amounts on the deal, so the estimate reads no
    history; only for other kinds of period (a year) is the amount at the period start
    looked up in each deal's history.
    """
    from django.db.models import DateTimeField

    annotations = {}
    kind = periods[0].kind
    if kind in START_AMOUNTS:
        at_start = F(START_AMOUNTS[kind])
    else:
        annotations["period_start"] = Case(
            *[
                When(close_date__gte=p.start, close_date__lt=p.end, then=Value(p.start_moment()))
                for p in periods
            ],
            output_field=DateTimeField(),
        )
        at_start = Subquery(
            OpportunityHistory.objects.filter(
                opportunity_id=OuterRef("pk"), changed_at__lte=OuterRef("period_start")
            )
            .order_by("-version")
            .values("amount")[:1]
        )
    annotations["estimate"] = Coalesce(
        F("commit_entry_amount"), at_start, F("created_amount"), Value(ZERO), output_field=MONEY
    )
    return annotations


def won_estimates(*, user, periods: list[Period], scope: Scope) -> dict[int, dict]:
    """Per period: won amount and count, and the estimate of those won deals.

    The estimate of a won deal is its amount when it entered Commit (first time), else
    its amount at the period start, else its amount at creation. One query.
    """
    if not periods:
        return {}
    bucket = Case(
        *[
            When(close_date__gte=p.start, close_date__lt=p.end, then=Value(index))
            for index, p in enumerate(periods)
        ],
        default=Value(-1),
        output_field=IntegerField(),
    )
    won = (
        scoped_deals(user, scope)
        .filter(
            stage=Stage.CLOSED_WON, close_date__gte=periods[0].start, close_date__lt=periods[-1].end
        )
        .annotate(bucket=bucket, **_won_estimate(periods))
        .order_by()
        .values("bucket")
        .annotate(
            count=Count("pk"),
            won=money_sum("amount"),
            estimated=money_sum("estimate"),
        )
    )
    return {row["bucket"]: row for row in won}


def forecast_accuracy(*, user, periods: list[Period], scope: Scope) -> list[AccuracyRow]:
    """Per period: commit at its start (snapshot, else history) against won.

    At most four queries: the snapshots, the history (two, only for the periods without a
    snapshot) and the won deals.
    """
    snapshots = _snapshot_commits(user=user, periods=periods, scope=scope)
    unfrozen = [period for period in periods if period.start not in snapshots]
    if unfrozen and _reads_summaries(user):
        commits = summaries.commit_at_starts(
            scope, unfrozen, now=timezone.now(), alias=reports_db()
        )
    else:
        commits = commit_at_start(user=user, periods=unfrozen, scope=scope)
    reconstructed = dict(zip(unfrozen, commits, strict=True))
    if periods and periods[0].kind in summaries.WON_ESTIMATES and _reads_summaries(user):
        won = summaries.won_estimates(scope, periods, alias=reports_db())
    else:
        won = won_estimates(user=user, periods=periods, scope=scope)
    rows = []
    for index, period in enumerate(periods):
        result = won.get(index, {})
        from_snapshot = period.start in snapshots
        rows.append(
            AccuracyRow(
                period=period,
                commit=snapshots[period.start] if from_snapshot else reconstructed[period],
                source="snapshot" if from_snapshot else "history",
                won=result.get("won", ZERO),
                won_count=result.get("count", 0),
                estimated=result.get("estimated", ZERO),
                realised=result.get("won", ZERO),
            )
        )
    return rows


def accuracy_deals(*, user, period: Period, scope: Scope) -> QuerySet:
    """The won deals of a period with their estimate, for the drill-down."""
    return (
        period_deals(user, period, scope)
        .filter(stage=Stage.CLOSED_WON)
        .annotate(**_won_estimate([period]))
        .select_related("account", "owner", "partner__account")
        .order_by("close_date", "pk")
    )
