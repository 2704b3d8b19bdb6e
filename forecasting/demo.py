"""Demo data: quarterly targets per rep and partner, and snapshots of past quarters."""

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Q, Sum
from django.utils import timezone

from climcrm.periods import MONTH, QUARTER, last_periods, period_containing
from forecasting.models import Target
from forecasting.services import forecast_snapshot_take
from opportunities.models import OPEN_STAGES, ForecastCategory, Opportunity, Stage

# Each rep's target against what they commit: one ahead, one on track, one behind.
TARGET_RATIOS = (Decimal("0.90"), Decimal("1.00"), Decimal("1.10"), Decimal("1.05"))
TARGET_STEP = Decimal(5000)


def _committed(period, **owner) -> Decimal:
    """Won and Commit amounts of the demo deals closing in ``period`` (of one rep or partner)."""
    committed = Q(stage=Stage.CLOSED_WON) | Q(
        stage__in=OPEN_STAGES, forecast_category=ForecastCategory.COMMIT
    )
    deals = Opportunity.objects.filter(
        committed, close_date__gte=period.start, close_date__lt=period.end, **owner
    )
    return deals.aggregate(total=Sum("amount"))["total"] or Decimal(0)


def _targets(periods, ratio: Decimal, floor: Decimal, **owner) -> list[Decimal]:
    """Targets close to what the demo deals commit, so attainment reads like real quarters:
    half the quarter's own Won and Commit, half the average quarter (targets do not swing as
    much as deals do), times ``ratio``, rounded to 5,000; never under ``floor``."""
    committed = [_committed(period, **owner) for period in periods]
    average = sum(committed, Decimal(0)) / len(committed)
    targets = []
    for amount in committed:
        steps = ((amount + average) / 2 * ratio / TARGET_STEP).quantize(
            Decimal(1), rounding=ROUND_HALF_UP
        )
        targets.append(max(steps * TARGET_STEP, floor))
    return targets


def seed(ctx) -> None:
    today = timezone.localdate()
    year = today.year
    reps = [ctx.users[key] for key in ("rep", "rep2", "rep3", "manager") if key in ctx.users]
    floor = Decimal(max(ctx.size, 50) * 200)
    quarters = [
        period_containing(QUARTER, date(target_year, 3 * quarter - 2, 1))
        for target_year in (year - 1, year)
        for quarter in range(1, 5)
    ]
    targets = []
    for index, rep in enumerate(reps):
        ratio = TARGET_RATIOS[index % len(TARGET_RATIOS)]
        for period, amount in zip(
            quarters, _targets(quarters, ratio, floor, owner=rep), strict=True
        ):
            targets.append(
                Target(user=rep, year=period.year, quarter=period.quarters[0], amount=amount)
            )
    partner_a = ctx.partners.get("a")
    if partner_a is not None:
        # Partner A gets its own revenue targets this year; partner B keeps its business plan.
        this_year = quarters[4:]
        amounts = _targets(this_year, Decimal("0.95"), floor / 2, partner=partner_a)
        for period, amount in zip(this_year, amounts, strict=True):
            targets.append(
                Target(partner=partner_a, year=year, quarter=period.quarters[0], amount=amount)
            )
    Target.objects.bulk_create(targets, ignore_conflicts=True)
    written = 0
    for period in last_periods(QUARTER, 4, today):
        written += forecast_snapshot_take(kind=QUARTER, period_start=period.start)
    for period in last_periods(MONTH, 3, today):
        written += forecast_snapshot_take(kind=MONTH, period_start=period.start)
    ctx.log(
        f"forecasting: {len(targets)} targets since {date(year - 1, 1, 1)}, {written} snapshots"
    )
