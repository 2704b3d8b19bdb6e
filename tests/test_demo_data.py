"""The demo data at two moments: deals planned ahead, some overdue, a believable accuracy."""

from datetime import UTC, datetime

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone

pytestmark = [pytest.mark.dates, pytest.mark.django_db]

MOMENTS = [datetime(2027, 3, 12, 9, 0, tzinfo=UTC), datetime(2027, 10, 21, 15, 0, tzinfo=UTC)]


@pytest.mark.parametrize("moment", MOMENTS, ids=["march", "october"])
def test_seed_demo_sells_at_any_date(moment, capsys):
    from climcrm.models import User
    from climcrm.periods import QUARTER, last_periods
    from forecasting import reports
    from forecasting.scopes import Scope
    from forecasting.views import ACCURACY_PERIODS
    from opportunities.filters import attention_conditions
    from opportunities.models import OPEN_STAGES, Opportunity

    with time_machine.travel(moment, tick=False):
        call_command("seed_demo")
        today = timezone.localdate()
        open_deals = Opportunity.objects.filter(stage__in=OPEN_STAGES)
        total = open_deals.count()
        future = open_deals.filter(close_date__gte=today).count()
        overdue, stale = attention_conditions(today=today)
        overdue_count = open_deals.filter(overdue).count()
        stale_count = open_deals.filter(stale).count()
        # The accuracy page's figures, as the sales manager sees them (all deals).
        manager = User.objects.get(username="manager")
        periods = last_periods(QUARTER, ACCURACY_PERIODS[QUARTER])
        rows = reports.accuracy.forecast_accuracy(user=manager, periods=periods, scope=Scope())
    with capsys.disabled():
        print(
            f"\n{moment:%Y-%m-%d}: {future}/{total} open deals ahead, {overdue_count} overdue,"
            f" {stale_count} stale; accuracy "
            + ", ".join(f"{row.period.start}: {row.accuracy:.0f} %" for row in rows[:-1])
        )
    assert future / total >= 0.70
    assert 0.05 <= overdue_count / total <= 0.25
    assert stale_count > 0
    # The quarters already over (the current one is still being won): together within
    # 70-120 %, and no quarter off the scale as before (214-348 %).
    done = rows[:-1]
    assert all(row.commit > 0 for row in done)
    combined = sum(row.won for row in done) / sum(row.commit for row in done) * 100
    assert 70 <= combined <= 120, combined
    for row in done:
        assert 50 <= row.accuracy <= 160, (row.period.start, row.accuracy)
