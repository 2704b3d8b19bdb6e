"""The demo data at two moments: deals planned ahead, some overdue, a believable accuracy,
a year of weekly forecast calls."""

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
    from climcrm.periods import QUARTER, last_periods, period_containing
    from forecasting import reports
    from forecasting.models import ForecastAdjustment, ForecastSubmission
    from forecasting.scopes import Scope
    from forecasting.submission_reports import forecast_call
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
        # The forecast call: weekly submissions and adjustments, none in the future; this
        # week one rep and one partner have not submitted yet.
        now = timezone.now()
        submissions = ForecastSubmission.objects.all()
        adjustments = ForecastAdjustment.objects.all()
        quarters_called = submissions.values("period_start").distinct().count()
        quarter = period_containing(QUARTER, today)
        team_call = forecast_call(user=manager, period=quarter)
        channel_call = forecast_call(user=User.objects.get(username="channel"), period=quarter)
        assert submissions.count() >= 40 and adjustments.count() >= 5
        assert quarters_called == 4
        assert not submissions.filter(submitted_at__gt=now).exists()
        assert not adjustments.filter(adjusted_at__gt=now).exists()
        assert adjustments.exclude(note="").count() == adjustments.count()
        assert submissions.exclude(note="").exists()
        assert [row.kind for row in team_call.missing] == ["rep"]
        assert [row.kind for row in channel_call.missing] == ["partner"]
        assert any(row.current and row.current.is_adjusted for row in team_call.rows)
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
