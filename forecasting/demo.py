"""Demo data: quarterly targets per rep and partner, and snapshots of past quarters."""

from datetime import date
from decimal import Decimal

from django.utils import timezone

from climcrm.periods import MONTH, QUARTER, last_periods
from forecasting.models import Target
from forecasting.services import forecast_snapshot_take


def seed(ctx) -> None:
    today = timezone.localdate()
    year = today.year
    reps = [ctx.users[key] for key in ("rep", "rep2", "rep3", "manager") if key in ctx.users]
    base = Decimal(max(ctx.size, 50) * 1000)
    targets = []
    for index, rep in enumerate(reps):
        for quarter in range(1, 5):
            amount = (base * Decimal(4 + index) / 20 + Decimal(quarter * 10000)).quantize(
                Decimal("1")
            )
            for target_year in (year - 1, year):
                targets.append(Target(user=rep, year=target_year, quarter=quarter, amount=amount))
    partner_a = ctx.partners.get("a")
    if partner_a is not None:
        # Partner A gets its own revenue targets this year; partner B keeps its business plan.
        for quarter in range(1, 5):
            targets.append(
                Target(
                    partner=partner_a, year=year, quarter=quarter, amount=base / 10 + quarter * 5000
                )
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
