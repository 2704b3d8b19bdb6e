"""Reads for the reviews: every figure computed in SQL, scoped by the user's visibility.

The ``*_recap_data`` builders return plain JSON values (amounts as strings, dates in ISO
format): the same dictionary is shown while the review runs, frozen in the snapshot when
it closes, and rendered in the recap emails.
"""

import datetime
from decimal import Decimal
from typing import Any

from django.db.models import (
    Avg,
    Count,
    DecimalField,
    DurationField,
    ExpressionWrapper,
    F,
    Q,
    QuerySet,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.models import Partner, PartnerTarget
from activities.models import Activity, ActivityKind
from activities.visibility import visible_activities
from climcrm.figures import plain, rate
from climcrm.roles import is_partner_user
from leads.models import Lead
from leads.visibility import visible_leads
from opportunities.amounts import pipeline_by_stage, weighted_amount_expression
from opportunities.history import as_datetime, values_as_of
from opportunities.models import (
    CLOSED_STAGES,
    OPEN_STAGES,
    ForecastCategory,
    Opportunity,
    Stage,
)
from opportunities.visibility import visible_opportunities
from pipeline_reviews.models import Review, ReviewKind, ReviewStatus
from pipeline_reviews.periods import add_months
from pipeline_reviews.visibility import visible_reviews

ZERO = Decimal("0")


def _money(value) -> str | None:
    """An amount for the JSON of a recap, every digit kept: pages and emails round it once,
    when they show it (a weighted amount may have four decimals)."""
    if value is None:
        return None
    return plain(value)


def _share(part, whole) -> str | None:
    """A percentage for the JSON of a recap, at full precision (``climcrm.figures.rate``)."""
    value = rate(part, whole)
    return None if value is None else str(value)


def _dec(value) -> Decimal:
    if value in (None, ""):
        return ZERO
    return Decimal(value)


# --- the archive --------------------------------------------------------------------

SORTS = {
    "period": ("period_start", "id"),
    "-period": ("-period_start", "-id"),
    "partner": ("partner__account__name", "-period_start"),
    "-partner": ("-partner__account__name", "-period_start"),
    "kind": ("kind", "-period_start"),
    "-kind": ("-kind", "-period_start"),
}


def review_list(*, user, partner_id=None, kind: str = "", status: str = "", sort: str = ""):
    qs = visible_reviews(user).select_related("partner__account", "created_by")
    if is_partner_user(user):
        qs = qs.exclude(kind=ReviewKind.CHANNEL_MANAGER)
    if partner_id:
        qs = qs.filter(partner_id=partner_id)
    if kind in ReviewKind.values:
        qs = qs.filter(kind=kind)
    if status in ReviewStatus.values:
        qs = qs.filter(status=status)
    return qs.order_by(*SORTS.get(sort, SORTS["-period"]))


# --- the monthly partner review -------------------------------------------------------


def previous_review(review: Review) -> Review | None:
    """The last closed review of the same kind for the same partner before this one."""
    return (
        Review.objects.filter(
            kind=review.kind,
            partner_id=review.partner_id,
            status=ReviewStatus.CLOSED,
            period_start__lt=review.period_start,
        )
        .select_related("snapshot")
        .order_by("-period_start", "-id")
        .first()
    )


def review_window(review: Review, previous: Review | None) -> tuple[datetime.datetime, Any]:
    """[since, until]: from the previous review's closing (or the month before the period
    when there is none) to this review's closing (or now while it runs)."""
    if previous is not None and previous.closed_at:
        since = previous.closed_at
    else:
        since = as_datetime(add_months(review.period_start, -1))
    until = review.closed_at or timezone.now()
    return since, until


def new_leads(*, user, review: Review, since, until) -> QuerySet:
    return (
        visible_leads(user)
        .filter(partner_id=review.partner_id, created_at__gt=since, created_at__lte=until)
        .select_related("owner")
        .order_by("created_at", "id")
    )


def closed_deals(*, user, review: Review, since, until) -> QuerySet:
    return (
        visible_opportunities(user)
        .filter(
            partner_id=review.partner_id,
            stage__in=CLOSED_STAGES,
            closed_at__gt=since,
            closed_at__lte=until,
        )
        .select_related("account", "loss_reason", "owner")
        .order_by("-closed_at", "id")
    )


def partner_open_deals(*, user, partner_id) -> QuerySet:
    return visible_opportunities(user).filter(partner_id=partner_id, stage__in=OPEN_STAGES)


# Rows of the "new leads" and "won or lost" sections shown at a time ("load more" adds the
# next ones); the counts and totals of the headings cover every row.
SECTION_PAGE_SIZE = 10


def section_page(queryset: QuerySet, *, page: int, first: int = 1) -> dict:
    """Rows of pages ``first`` to ``page`` of a section, and whether more follow: one query
    (one row more than shown tells if there is a next page)."""
    start = (first - 1) * SECTION_PAGE_SIZE
    end = page * SECTION_PAGE_SIZE
    rows = list(queryset[start : end + 1])
    return {
        "rows": rows[: end - start],
        "page": page,
        "next_page": page + 1 if len(rows) > end - start else None,
    }


def outcome_totals(queryset: QuerySet) -> dict:
    """Won and lost deals of the section: counts and amounts over all of them, in SQL."""
    won, lost = Q(stage=Stage.CLOSED_WON), Q(stage=Stage.CLOSED_LOST)
    return queryset.order_by().aggregate(
        count=Count("id"),
        won_count=Count("id", filter=won),
        won_total=Coalesce(Sum("amount", filter=won), Value(ZERO)),
        lost_count=Count("id", filter=lost),
        lost_total=Coalesce(Sum("amount", filter=lost), Value(ZERO)),
    )


def _deal_walk(*, user, review: Review) -> QuerySet:
    """The order in which the deal-by-deal section walks the deals: by close date."""
    return partner_open_deals(user=user, partner_id=review.partner_id).order_by("close_date", "id")


def open_deal_count(*, user, review: Review) -> int:
    return partner_open_deals(user=user, partner_id=review.partner_id).count()


def open_deal_position(*, user, review: Review, deal_id: int) -> int | None:
    """1-based place of an open deal in the walk, or None when it is not (or no longer) open."""
    walk = _deal_walk(user=user, review=review)
    deal = walk.filter(pk=deal_id).values("close_date", "id").first()
    if deal is None:
        return None
    before = Q(close_date__lt=deal["close_date"]) | Q(
        close_date=deal["close_date"], id__lt=deal["id"]
    )
    return walk.filter(before).count() + 1


def deal_at(*, user, review: Review, position: int) -> Opportunity | None:
    """The open deal at a 1-based place of the walk."""
    return (
        _deal_walk(user=user, review=review)
        .select_related("account", "owner", "loss_reason", "partner")[position - 1 : position]
        .first()
    )


def deal_todos(*, user, review: Review, deal_id: int) -> QuerySet:
    return (
        visible_activities(user)
        .filter(review=review, opportunity_id=deal_id)
        .select_related("assignee")
        .order_by("due_date", "id")
    )


def review_todos(*, user, review: Review) -> QuerySet:
    return (
        visible_activities(user)
        .filter(review=review)
        .select_related("assignee", "opportunity")
        .order_by("due_date", "id")
    )


def carried_todos(*, user, review: Review, previous: Review | None) -> QuerySet:
    """The previous review's to-dos, done or not, and any still open from older reviews."""
    qs = visible_activities(user).filter(
        review__partner_id=review.partner_id,
        review__kind=ReviewKind.MONTHLY_PARTNER,
        review__period_start__lt=review.period_start,
    )
    condition = Q(done=False)
    if previous is not None:
        condition |= Q(review=previous)
    return (
        qs.filter(condition)
        .select_related("assignee", "opportunity", "review")
        .order_by("done", "due_date", "id")
    )


def proposed_commit(*, user, partner_id) -> Decimal:
    total = (
        partner_open_deals(user=user, partner_id=partner_id)
        .filter(forecast_category=ForecastCategory.COMMIT)
        .aggregate(total=Sum("amount"))["total"]
    )
    return total or ZERO


def won_between(*, user, partner_id, since, until) -> dict:
    row = (
        visible_opportunities(user)
        .filter(
            partner_id=partner_id,
            stage=Stage.CLOSED_WON,
            closed_at__gt=since,
            closed_at__lte=until,
        )
        .aggregate(total=Sum("amount"), count=Count("id"))
    )
    return {"total": row["total"] or ZERO, "count": row["count"]}


def stage_summary(queryset) -> list[dict]:
    """Open stages only: count, amount and weighted amount (JSON values)."""
    return [
        {
            "stage": row["stage"],
            "count": row["count"],
            "total": _money(row["total"]),
            "weighted": _money(row["weighted"]),
        }
        for row in pipeline_by_stage(queryset)
        if row["stage"] in OPEN_STAGES
    ]


def compare_summaries(current: list[dict], previous: list[dict] | None) -> list[dict]:
    """Rows of the current summary with the previous one's values and the differences."""
    before = {row["stage"]: row for row in (previous or [])}
    labels = dict(Stage.choices)
    rows = []
    for row in current:
        prev = before.get(row["stage"])
        rows.append(
            {
                **row,
                "label": labels[row["stage"]],
                "prev_count": prev["count"] if prev else None,
                "prev_total": prev["total"] if prev else None,
                "prev_weighted": prev["weighted"] if prev else None,
                "delta_count": row["count"] - prev["count"] if prev else None,
                "delta_total": _dec(row["total"]) - _dec(prev["total"]) if prev else None,
                "delta_weighted": _dec(row["weighted"]) - _dec(prev["weighted"]) if prev else None,
            }
        )
    return rows


def totals(rows: list[dict]) -> dict:
    return {
        "count": sum(row["count"] for row in rows),
        "total": _money(sum((_dec(row["total"]) for row in rows), ZERO)),
        "weighted": _money(sum((_dec(row["weighted"]) for row in rows), ZERO)),
    }


def _deal_json(deal: Opportunity) -> dict:
    return {
        "id": deal.pk,
        "name": deal.name,
        "account": deal.account.name,
        "owner": str(deal.owner),
        "stage": deal.stage,
        "amount": _money(deal.amount),
        "probability": deal.probability,
        "weighted": _money(deal.weighted_amount),
        "close_date": deal.close_date.isoformat(),
        "forecast_category": deal.forecast_category,
        "next_step": deal.next_step,
        "version": deal.version,
    }


def _todo_json(todo) -> dict:
    return {
        "id": todo.pk,
        "subject": todo.subject,
        "assignee": str(todo.assignee) if todo.assignee else "",
        "due_date": todo.due_date.isoformat() if todo.due_date else None,
        "done": todo.done,
        "deal_id": todo.opportunity_id,
        "deal": todo.opportunity.name if todo.opportunity_id else "",
    }


def _history_deal_json(row) -> dict:
    return {
        "id": row.opportunity_id,
        "name": row.opportunity.name,
        "account": row.opportunity.account.name,
        "owner": str(row.owner) if row.owner_id else "",
        "stage": row.stage,
        "amount": _money(row.amount),
        "probability": row.probability,
        "weighted": _money(row.amount * row.probability / 100) if row.amount is not None else None,
        "close_date": row.close_date.isoformat(),
        "forecast_category": row.forecast_category,
        "next_step": "",
        "version": row.version,
    }


def monthly_recap_data(*, user, review: Review, as_of=None) -> dict:
    """Everything the recap shows; frozen as the snapshot when the review closes.

    ``as_of`` (a past moment: backdated closings, demo data) reads the pipeline from the
    history as it was then instead of the live deals.
    """
    previous = previous_review(review)
    since, until = review_window(review, previous)
    if as_of is None:
        open_deals = partner_open_deals(user=user, partner_id=review.partner_id)
        by_stage = stage_summary(open_deals)
        deals = [
            _deal_json(deal)
            for deal in open_deals.select_related("account", "owner").order_by("close_date", "id")
        ]
        proposed = proposed_commit(user=user, partner_id=review.partner_id)
    else:
        rows = values_as_of(as_of).filter(
            partner_id=review.partner_id,
            stage__in=OPEN_STAGES,
            opportunity__in=visible_opportunities(user),
        )
        by_stage = stage_summary(rows)
        deals = [
            _history_deal_json(row)
            for row in rows.select_related("opportunity__account", "owner").order_by(
                "close_date", "opportunity_id"
            )
        ]
        proposed = (
            rows.filter(forecast_category=ForecastCategory.COMMIT).aggregate(t=Sum("amount"))["t"]
            or ZERO
        )
    won = won_between(user=user, partner_id=review.partner_id, since=since, until=until)
    closed = closed_deals(user=user, review=review, since=since, until=until)
    return {
        "kind": review.kind,
        "review_id": review.pk,
        "since": since.isoformat(),
        "taken_at": until.isoformat(),
        "by_stage": by_stage,
        "totals": totals(by_stage),
        "deals": deals,
        "closed_deals": [
            {
                **_deal_json(deal),
                "objective_reasons": deal.objective_reasons,
                "recovery_possible": deal.recovery_possible,
                "lessons_learned": deal.lessons_learned,
                "corrective_actions": deal.corrective_actions,
            }
            for deal in closed
        ],
        "commit": {
            "amount": _money(review.commit_amount),
            "note": review.commit_note,
            "proposed": _money(proposed),
        },
        "previous_commit": _money(previous.commit_amount) if previous else None,
        "won_since_previous": _money(won["total"]),
        "won_count": won["count"],
        "new_leads": new_leads(user=user, review=review, since=since, until=until).count(),
        "todos": [_todo_json(todo) for todo in review_todos(user=user, review=review)],
        "carried_todos": [
            _todo_json(todo) for todo in carried_todos(user=user, review=review, previous=previous)
        ],
    }


def hydrate(data: dict) -> dict:
    """Snapshot JSON → values templates format (dates back to dates, stage labels)."""
    stages = dict(Stage.choices)
    categories = dict(ForecastCategory.choices)
    result = dict(data)
    for key in ("since", "taken_at", "as_of", "previous_as_of"):
        if data.get(key):
            result[key] = datetime.datetime.fromisoformat(data[key])
    for key in ("deals", "closed_deals"):
        result[key] = [
            {
                **deal,
                "stage_label": stages.get(deal["stage"], deal["stage"]),
                "forecast_category_label": categories.get(
                    deal["forecast_category"], deal["forecast_category"]
                ),
                "close_date": datetime.date.fromisoformat(deal["close_date"]),
            }
            for deal in data.get(key, [])
        ]
    for key in ("todos", "carried_todos"):
        result[key] = [
            {
                **todo,
                "due_date": datetime.date.fromisoformat(todo["due_date"])
                if todo["due_date"]
                else None,
            }
            for todo in data.get(key, [])
        ]
    if "managers" in data:
        result["managers"] = [
            {
                **manager,
                "partners": [
                    {
                        **partner,
                        "deals": [
                            {**deal, "close_date": datetime.date.fromisoformat(deal["close_date"])}
                            for deal in partner["deals"]
                        ],
                    }
                    for partner in manager["partners"]
                ],
            }
            for manager in data["managers"]
        ]
    if "by_stage" in data:
        result["by_stage"] = [
            {**row, "label": stages.get(row["stage"], row["stage"])} for row in data["by_stage"]
        ]
    return result


def review_recap(*, user, review: Review) -> dict:
    """The frozen snapshot of a closed review, the live figures of a running one."""
    if review.is_closed and hasattr(review, "snapshot"):
        return hydrate(review.snapshot.data)
    if review.is_monthly:
        return hydrate(monthly_recap_data(user=user, review=review))
    if review.is_quarterly:
        return quarterly_analysis(review=review)
    return hydrate(channel_manager_review_data(review=review))


# --- the monthly channel-manager review ----------------------------------------------


def _by_partner_stage(rows) -> dict:
    result: dict = {}
    for row in rows:
        result.setdefault(row["partner"], {})[row["stage"]] = {
            "count": row["count"],
            "total": _money(row["total"]),
            "weighted": _money(row["weighted"]),
        }
    return result


def _history_by_partner_stage(at, *, partner_ids, extra: Q | None = None) -> dict:
    qs = values_as_of(at).filter(partner_id__in=partner_ids, stage__in=OPEN_STAGES)
    if extra is not None:
        qs = qs.filter(extra)
    rows = qs.values("partner", "stage").annotate(
        count=Count("id"),
        total=Coalesce(Sum("amount"), Value(0), output_field=DecimalField()),
        weighted=Coalesce(Sum(weighted_amount_expression()), Value(0), output_field=DecimalField()),
    )
    return _by_partner_stage(rows)


def _stage_rows(per_stage: dict, prev_per_stage: dict, stages) -> list[dict]:
    labels = dict(Stage.choices)
    empty = {"count": 0, "total": "0.00", "weighted": "0.00"}
    rows = []
    for stage in stages:
        now = per_stage.get(stage, empty)
        before = prev_per_stage.get(stage, empty)
        rows.append(
            {
                "stage": stage,
                "label": str(labels[stage]),
                "count": now["count"],
                "total": now["total"],
                "weighted": now["weighted"],
                "prev_count": before["count"],
                "prev_total": before["total"],
                "prev_weighted": before["weighted"],
                "delta_count": now["count"] - before["count"],
                "delta_total": _money(_dec(now["total"]) - _dec(before["total"])),
            }
        )
    return rows


def _merge(partner_ids, per_partner: dict) -> dict:
    merged: dict = {}
    for pid in partner_ids:
        for stage, values in per_partner.get(pid, {}).items():
            slot = merged.setdefault(stage, {"count": 0, "total": "0.00", "weighted": "0.00"})
            slot["count"] += values["count"]
            slot["total"] = _money(_dec(slot["total"]) + _dec(values["total"]))
            slot["weighted"] = _money(_dec(slot["weighted"]) + _dec(values["weighted"]))
    return merged


def channel_manager_review_data(*, review: Review) -> dict:
    """Per channel manager, then per partner: business by stage against the previous month,
    won against the previous commit, the new commit, new leads from RS and from partners."""

    start = review.period_start
    end = add_months(start, 1)
    now = review.closed_at or timezone.now()
    as_of_end = min(as_datetime(end), now)
    partners = list(
        Partner.objects.filter(channel_manager__isnull=False)
        .select_related("account", "channel_manager")
        .order_by("channel_manager__last_name", "channel_manager__first_name", "account__name")
    )
    ids = [p.pk for p in partners]
    current = _history_by_partner_stage(as_of_end, partner_ids=ids)
    previous = _history_by_partner_stage(as_datetime(start), partner_ids=ids)
    hot = Q(stage__in=[Stage.NEGOTIATION], probability__gt=50)
    hot_current = _history_by_partner_stage(as_of_end, partner_ids=ids, extra=hot)
    hot_previous = _history_by_partner_stage(as_datetime(start), partner_ids=ids, extra=hot)
    won = {
        row["partner"]: row["total"]
        for row in Opportunity.objects.filter(
            partner_id__in=ids,
            stage=Stage.CLOSED_WON,
            closed_at__gte=as_datetime(start),
            closed_at__lt=as_datetime(end),
        )
        .values("partner")
        .annotate(total=Sum("amount"))
    }
    commits = {
        (row["partner_id"], row["period_start"]): row["commit_amount"]
        for row in Review.objects.filter(
            kind=ReviewKind.MONTHLY_PARTNER,
            partner_id__in=ids,
            period_start__in=[start, add_months(start, -1)],
        ).values("partner_id", "period_start", "commit_amount")
    }
    leads: dict = {}
    for row in (
        Lead.objects.filter(
            partner_id__in=ids,
            created_at__gte=as_datetime(start),
            created_at__lt=as_datetime(end),
        )
        .values("partner", "origin")
        .annotate(count=Count("id"))
    ):
        leads.setdefault(row["partner"], {})[row["origin"]] = row["count"]
    hot_deals: dict = {}
    for deal in (
        Opportunity.objects.filter(partner_id__in=ids, stage=Stage.NEGOTIATION, probability__gt=50)
        .select_related("account")
        .order_by("close_date", "id")
    ):
        hot_deals.setdefault(deal.partner_id, []).append(_deal_json(deal))

    def figures(pids: list[int], stage_now, stage_before, stages) -> dict:
        prev_commit = [commits.get((pid, add_months(start, -1))) for pid in pids]
        new_commit = [commits.get((pid, start)) for pid in pids]
        return {
            "by_stage": _stage_rows(_merge(pids, stage_now), _merge(pids, stage_before), stages),
            "won": _money(sum((_dec(won.get(pid)) for pid in pids), ZERO)),
            "previous_commit": _money(sum((_dec(c) for c in prev_commit if c), ZERO))
            if any(c is not None for c in prev_commit)
            else None,
            "new_commit": _money(sum((_dec(c) for c in new_commit if c), ZERO))
            if any(c is not None for c in new_commit)
            else None,
            "leads_rs": sum(leads.get(pid, {}).get("rs", 0) for pid in pids),
            "leads_bp": sum(leads.get(pid, {}).get("bp", 0) for pid in pids),
        }

    managers: list[dict] = []
    for partner in partners:
        manager = partner.channel_manager
        if not managers or managers[-1]["id"] != manager.pk:
            managers.append({"id": manager.pk, "name": str(manager), "partners": []})
        managers[-1]["partners"].append(
            {
                "id": partner.pk,
                "name": partner.account.name,
                **figures([partner.pk], hot_current, hot_previous, [Stage.NEGOTIATION]),
                "deals": hot_deals.get(partner.pk, []),
            }
        )
    for manager in managers:
        pids = [p["id"] for p in manager["partners"]]
        manager.update(figures(pids, current, previous, OPEN_STAGES))
    return {
        "kind": review.kind,
        "review_id": review.pk,
        "taken_at": now.isoformat(),
        "as_of": as_of_end.isoformat(),
        "previous_as_of": as_datetime(start).isoformat(),
        "managers": managers,
    }


# --- the quarterly business review ------------------------------------------------------


def _duration_days(value) -> float | None:
    if value is None:
        return None
    # Full precision: the page rounds to the tenth it shows.
    if isinstance(value, datetime.timedelta):
        return value.total_seconds() / 86400
    # SQLite averages the durations as microseconds.
    return float(value) / 86_400_000_000


def business_figures(*, partner_id: int, start: datetime.date, end: datetime.date) -> dict:
    """The partner's business over [start, end): all aggregates in SQL."""

    begin, finish = as_datetime(start), as_datetime(end)
    closed = Opportunity.objects.filter(
        partner_id=partner_id, closed_at__gte=begin, closed_at__lt=finish
    )
    row = closed.aggregate(
        revenue=Sum("amount", filter=Q(stage=Stage.CLOSED_WON)),
        won=Count("id", filter=Q(stage=Stage.CLOSED_WON)),
        lost=Count("id", filter=Q(stage=Stage.CLOSED_LOST)),
        average=Avg("amount", filter=Q(stage=Stage.CLOSED_WON)),
        cycle=Avg(
            ExpressionWrapper(F("closed_at") - F("created_at"), output_field=DurationField()),
            filter=Q(stage=Stage.CLOSED_WON),
        ),
    )
    earlier_customers = Opportunity.objects.filter(
        stage=Stage.CLOSED_WON, closed_at__lt=begin
    ).values("account_id")
    new_customers = (
        closed.filter(stage=Stage.CLOSED_WON)
        .exclude(account_id__in=earlier_customers)
        .values("account_id")
        .distinct()
        .count()
    )
    # A sales visit counts once held (done), in the period it was held; visits planned in
    # the period and not held are counted apart.
    visits = Activity.objects.filter(
        Q(opportunity__partner_id=partner_id) | Q(lead__partner_id=partner_id),
        kind=ActivityKind.SALES_VISIT,
    ).aggregate(
        held=Count("id", filter=Q(done=True, done_at__gte=begin, done_at__lt=finish)),
        planned=Count("id", filter=Q(done=False, due_date__gte=start, due_date__lt=end)),
    )
    leads = Lead.objects.filter(
        partner_id=partner_id, origin="bp", created_at__gte=begin, created_at__lt=finish
    ).count()
    decided = row["won"] + row["lost"]
    return {
        "revenue": _money(row["revenue"] or ZERO),
        "won": row["won"],
        "lost": row["lost"],
        "new_customers": new_customers,
        "average_deal": _money(row["average"]),
        "cycle_days": _duration_days(row["cycle"]),
        "win_rate": _share(row["won"], decided),
        "visits": visits["held"],
        "visits_planned": visits["planned"],
        "leads": leads,
    }


def quarterly_analysis(*, review: Review) -> dict:
    start = review.period_start
    end = add_months(start, 3)
    year_start = datetime.date(start.year, 1, 1)
    quarter = review.quarter
    targets = PartnerTarget.objects.filter(
        partner_id=review.partner_id, year=start.year, quarter__lte=quarter
    ).aggregate(
        target_revenue=Sum("revenue"),
        target_customers=Sum("new_customers"),
        target_leads=Sum("leads"),
        target_quarter_revenue=Sum("revenue", filter=Q(quarter=quarter)),
    )
    ytd = business_figures(partner_id=review.partner_id, start=year_start, end=end)
    period = business_figures(partner_id=review.partner_id, start=start, end=end)
    reviews_held = Review.objects.filter(
        kind=ReviewKind.MONTHLY_PARTNER,
        partner_id=review.partner_id,
        status=ReviewStatus.CLOSED,
        period_start__gte=start,
        period_start__lt=end,
    ).count()
    target_revenue = targets["target_revenue"]
    return {
        "kind": review.kind,
        "review_id": review.pk,
        "taken_at": (review.closed_at or timezone.now()).isoformat(),
        "year": start.year,
        "quarter": quarter,
        "ytd": ytd,
        "period": period,
        "target_revenue": _money(target_revenue),
        "target_quarter_revenue": _money(targets["target_quarter_revenue"]),
        "target_new_customers": targets["target_customers"],
        "target_leads": targets["target_leads"],
        "revenue_gap": _money(_dec(ytd["revenue"]) - _dec(target_revenue))
        if target_revenue is not None
        else None,
        "revenue_attainment": _share(_dec(ytd["revenue"]), target_revenue),
        "new_customers_gap": ytd["new_customers"] - targets["target_customers"]
        if targets["target_customers"] is not None
        else None,
        "leads_gap": ytd["leads"] - targets["target_leads"]
        if targets["target_leads"] is not None
        else None,
        "reviews_held": reviews_held,
    }
