"""What every report shares: the figures of a set of deals, the scope a user reads, the
targets, the reports database.

Every figure is a SQL aggregate (conditional ``Sum``/``Count`` with ``filter=Q(...)``) over
the kept totals (``forecasting.summaries``), the current deals or the history rows valid at a
moment: the number of queries does not grow with the number of deals. Reports read from
``settings.REPORTS_DB_ALIAS``.

Internal and partner users read the same figures: a partner user reads the partner scope an
internal user sees (``report_scope``), the deals attributed to the partner at the time.
"""

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db.models import (
    Count,
    DecimalField,
    Q,
    QuerySet,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce

from climcrm.figures import as_decimal
from climcrm.periods import Period
from climcrm.roles import is_internal, is_partner_user
from forecasting import summaries
from forecasting.scopes import ALL, CHANNEL, PARTNER, REP, TEAM, Scope, display_name
from opportunities.amounts import weighted_amount_expression
from opportunities.models import (
    OPEN_STAGES,
    ForecastCategory,
    OpportunityHistory,
    Stage,
)
from opportunities.visibility import visible_opportunities

ZERO = Decimal("0")
MONEY = DecimalField(max_digits=18, decimal_places=2)
# The open stages of the qualified pipeline (SQL): Needs Analysis or beyond.
QUALIFIED_OPEN_STAGES = [Stage.NEEDS_ANALYSIS, Stage.PROPOSAL, Stage.NEGOTIATION]

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
    scope = report_scope(user, scope)
    return visible_opportunities(user).using(alias or reports_db()).filter(scope.deal_q())


def report_scope(user, scope: Scope) -> Scope:
    """The scope ``user`` reads: a partner user always reads their own partner, whatever
    they ask for; a user who reads no report is refused."""
    if is_partner_user(user):
        return Scope(PARTNER, user.partner_id)
    if not is_internal(user):
        raise PermissionDenied
    return scope


def scoped_history(user, scope: Scope, *, alias: str | None = None) -> QuerySet:
    """History rows in the scope as it was at the time (owner and partner then).

    A partner user reads the rows attributed to their partner at the time, also of deals
    that changed hands since: what they were responsible for then.
    """
    scope = report_scope(user, scope)
    return OpportunityHistory.objects.using(alias or reports_db()).filter(scope.deal_q())


def scoped_leads(user, scope: Scope, *, alias: str | None = None) -> QuerySet:
    from leads.visibility import visible_leads

    scope = report_scope(user, scope)
    return visible_leads(user).using(alias or reports_db()).filter(scope.lead_q())


# ---------------------------------------------------------------- targets


def target_maps(period: Period, alias: str) -> dict:
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
    for plan in (
        PartnerTarget.objects.using(alias)
        .filter(in_period)
        .values("partner_id", "quarter", "revenue", "partner__channel_manager_id")
    ):
        per_quarter[(plan["partner_id"], plan["quarter"])] = (
            plan["revenue"],
            plan["partner__channel_manager_id"],
        )
    for target in (
        Target.objects.using(alias)
        .filter(in_period, partner__isnull=False)
        .values("partner_id", "quarter", "amount", "partner__channel_manager_id")
    ):
        per_quarter[(target["partner_id"], target["quarter"])] = (
            target["amount"],
            target["partner__channel_manager_id"],
        )
    for (partner_id, _quarter), (amount, channel_id) in per_quarter.items():
        value = amount * share
        maps[PARTNER][partner_id] = maps[PARTNER].get(partner_id, ZERO) + value
        maps[CHANNEL][channel_id] = maps[CHANNEL].get(channel_id, ZERO) + value
    return maps


def scope_target(maps: dict, scope: Scope) -> Decimal | None:
    if scope.kind == ALL:
        total = sum(maps[REP].values(), ZERO)
        return total or None
    return maps[scope.kind].get(scope.pk)


def period_deals(user, period: Period, scope: Scope, *, alias: str | None = None) -> QuerySet:
    """Deals whose close date falls in the period (the forecast's basis)."""
    return scoped_deals(user, scope, alias=alias).filter(
        close_date__gte=period.start, close_date__lt=period.end
    )


def names_for(group: str, keys: list[int], alias: str) -> dict[int, str]:
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


def deal_totals(queryset: QuerySet) -> dict:
    return queryset.order_by().aggregate(
        count=Count("pk"),
        total=money_sum("amount"),
        weighted=money_sum(weighted_amount_expression()),
        no_amount=Count("pk", filter=Q(amount__isnull=True)),
    )


def stage_label(stage: str) -> str:
    return str(Stage(stage).label)


def days_figure(value) -> Decimal | None:
    """Average days at full precision: the page rounds them once, to the tenth it shows."""
    return as_decimal(value)
