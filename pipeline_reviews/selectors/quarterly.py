"""The quarterly business review: the partner's business figures of the quarter and the year."""

import datetime

from django.db.models import (
    Avg,
    Count,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    Sum,
)
from django.utils import timezone

from opportunities.history import as_datetime
from opportunities.models import Opportunity, Stage
from pipeline_reviews.models import Review, ReviewKind, ReviewStatus
from pipeline_reviews.periods import add_months
from pipeline_reviews.selectors.common import ZERO, dec, money, share


def _duration_days(value) -> float | None:
    if value is None:
        return None
    # Full precision: the page rounds to the tenth it shows.
    if isinstance(value, datetime.timedelta):
        return value.total_seconds() / 86400
    # SQLite averages the durations as microseconds.
    return float(value) / 86_400_000_000


def sales_visits(*, partner_id: int, periods: dict[str, tuple[datetime.date, datetime.date]]):
    """Per named period [start, end): the partner's sales visits held, and those planned and
    not held, counted for every period in the same two queries.

    A sales visit counts once held (done), in the period it was held; visits planned in the
    period and not held are counted apart. The partner's visits are those of its deals, then
    those of its leads whose deal (if any) is not the partner's: two joins each led by the
    partner's rows, where one OR across both joins would scan every activity.
    """
    from activities.models import Activity, ActivityKind

    counts = {}
    for name, (start, end) in periods.items():
        begin, finish = as_datetime(start), as_datetime(end)
        counts[f"{name}_held"] = Count(
            "id", filter=Q(done=True, done_at__gte=begin, done_at__lt=finish)
        )
        counts[f"{name}_planned"] = Count(
            "id", filter=Q(done=False, due_date__gte=start, due_date__lt=end)
        )
    visits = Activity.objects.filter(kind=ActivityKind.SALES_VISIT)
    by_deal = visits.filter(opportunity__partner_id=partner_id).aggregate(**counts)
    by_lead = (
        visits.filter(lead__partner_id=partner_id)
        .exclude(opportunity__partner_id=partner_id)
        .aggregate(**counts)
    )
    return {
        name: {
            what: by_deal[f"{name}_{what}"] + by_lead[f"{name}_{what}"]
            for what in ("held", "planned")
        }
        for name in periods
    }


def business_figures(
    *, partner_id: int, start: datetime.date, end: datetime.date, visits: dict | None = None
) -> dict:
    """The partner's business over [start, end): all aggregates in SQL. ``visits``: the
    period's sales visits when already counted (``sales_visits``)."""
    from accounts.models import Partner  # noqa: F401 - documents the scope
    from leads.models import Lead

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
    # A customer is new when no deal of theirs was won before: probed per won account
    # (NOT EXISTS on the account's index), not against every deal ever won.
    earlier_win = Opportunity.objects.filter(
        account_id=OuterRef("account_id"), stage=Stage.CLOSED_WON, closed_at__lt=begin
    )
    new_customers = (
        closed.filter(stage=Stage.CLOSED_WON)
        .filter(~Exists(earlier_win))
        .values("account_id")
        .distinct()
        .count()
    )
    if visits is None:
        visits = sales_visits(partner_id=partner_id, periods={"period": (start, end)})["period"]
    leads = Lead.objects.filter(
        partner_id=partner_id, origin="bp", created_at__gte=begin, created_at__lt=finish
    ).count()
    decided = row["won"] + row["lost"]
    return {
        "revenue": money(row["revenue"] or ZERO),
        "won": row["won"],
        "lost": row["lost"],
        "new_customers": new_customers,
        "average_deal": money(row["average"]),
        "cycle_days": _duration_days(row["cycle"]),
        "win_rate": share(row["won"], decided),
        "visits": visits["held"],
        "visits_planned": visits["planned"],
        "leads": leads,
    }


def quarterly_analysis(*, review: Review) -> dict:
    from accounts.models import PartnerTarget

    partner_id = review.partner_id
    if partner_id is None:
        raise ValueError("A quarterly business review is a partner's.")
    start = review.period_start
    end = add_months(start, 3)
    year_start = datetime.date(start.year, 1, 1)
    quarter = review.quarter
    targets = PartnerTarget.objects.filter(
        partner_id=partner_id, year=start.year, quarter__lte=quarter
    ).aggregate(
        target_revenue=Sum("revenue"),
        target_customers=Sum("new_customers"),
        target_leads=Sum("leads"),
        target_quarter_revenue=Sum("revenue", filter=Q(quarter=quarter)),
    )
    visits = sales_visits(
        partner_id=partner_id, periods={"ytd": (year_start, end), "period": (start, end)}
    )
    ytd = business_figures(partner_id=partner_id, start=year_start, end=end, visits=visits["ytd"])
    period = business_figures(partner_id=partner_id, start=start, end=end, visits=visits["period"])
    reviews_held = Review.objects.filter(
        kind=ReviewKind.MONTHLY_PARTNER,
        partner_id=partner_id,
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
        "target_revenue": money(target_revenue),
        "target_quarter_revenue": money(targets["target_quarter_revenue"]),
        "target_new_customers": targets["target_customers"],
        "target_leads": targets["target_leads"],
        "revenue_gap": money(dec(ytd["revenue"]) - dec(target_revenue))
        if target_revenue is not None
        else None,
        "revenue_attainment": share(dec(ytd["revenue"]), target_revenue),
        "new_customers_gap": ytd["new_customers"] - targets["target_customers"]
        if targets["target_customers"] is not None
        else None,
        "leads_gap": ytd["leads"] - targets["target_leads"]
        if targets["target_leads"] is not None
        else None,
        "reviews_held": reviews_held,
    }
