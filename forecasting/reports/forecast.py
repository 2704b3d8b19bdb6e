"""The forecast: Closed, Commit, Best Case and Pipeline of a period per rep, team, partner or
channel manager, last week's figures, and the deals behind each figure."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Q, QuerySet
from django.utils import timezone

from climcrm.periods import Period
from climcrm.roles import is_partner_user
from climcrm.text import parse_id
from forecasting import summaries
from forecasting.reports.common import (
    COLUMN_FILTERS,
    GROUPS,
    ZERO,
    empty_figures,
    figure_aggregates,
    names_for,
    period_deals,
    report_scope,
    reports_db,
    scope_target,
    scoped_history,
    target_maps,
    with_rollups,
)
from forecasting.scopes import ALL, CHANNEL, PARTNER, REP, TEAM, Scope, display_name
from opportunities.models import OpportunityHistory


@dataclass
class ForecastReport:
    period: Period
    group: str
    scope: Scope
    rows: list[dict] = field(default_factory=list)
    total: dict = field(default_factory=dict)
    last_week: dict = field(default_factory=dict)


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
    scope = report_scope(user, scope or Scope())
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
    maps = target_maps(period, alias)
    fallback = {
        REP: _("No owner"),
        TEAM: _("No team"),
        PARTNER: _("Direct (no partner)"),
        CHANNEL: _("No channel manager"),
    }[group]
    by = "owner" if group in (REP, TEAM) else "partner"
    # The kept totals hold one dimension per row (owner or partner): a rep or team grouping
    # of a partner scope (or the other way round) is read from the deals.
    rows_q = summaries.forecast_family(scope, by)
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
    if missing_keys and scope.kind == ALL:
        names = names_for(group, missing_keys, alias)
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
    if scope.kind == ALL:
        target = sum(maps[group].values(), ZERO) or None
    else:
        target = scope_target(maps, scope)
    with_rollups(total, target)
    week_ago = timezone.now() - timedelta(days=7)
    if rows_q is not None:
        changes = _changes_since(week_ago, user, scope, period)
        then = {name: total[name] - changes[name] for name in changes}
    else:
        then = figures_as_of(week_ago, scoped_history(user, scope, alias=alias), period)
    last_week = with_rollups(then, target)
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
    names = names_for(group, [key for key in figures if key is not None], alias)
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


def forecast_drilldown(
    *, user, period: Period, group: str, key: str, column: str, scope: Scope | None = None
) -> QuerySet:
    """The deals behind one figure of the forecast table (``key`` "total" for the total row)."""
    scope = report_scope(user, scope or Scope())
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


def scope_forecast(*, user, period: Period, scope: Scope, alias: str | None = None) -> dict:
    """The forecast totals of one scope, read where the forecast page reads them (the kept
    totals), so that the dashboard and the forecast show the same figures. One query for
    the figures, then the targets."""
    alias = alias or reports_db()
    scope = report_scope(user, scope)
    by = "partner" if scope.kind in (PARTNER, CHANNEL) else "owner"
    rows_q = summaries.forecast_family(scope, by)
    assert rows_q is not None  # ``by`` follows the scope's kind
    figures = empty_figures()
    grouped = summaries.forecast_figures(rows_q, period.start, period.end, by=by, alias=alias)
    for values in grouped.values():
        for name, value in values.items():
            figures[name] += value
    return with_rollups(figures, scope_target(target_maps(period, alias), scope))
