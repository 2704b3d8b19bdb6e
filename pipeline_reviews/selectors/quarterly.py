"""The quarterly business review: the partner's business figures of the quarter and the year."""

import datetime

from django.db.models import Avg, Count, DurationField, ExpressionWrapper, F, Q, Sum
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


def business_figures(*, partner_id: int, start: datetime.date, end: datetime.date) -> dict:
    """The partner's business over [start, end): all aggregates in SQL."""
    from accounts.models import Partner  # noqa: F401 - documents the scope
    from activities.models import Activity, ActivityKind
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
