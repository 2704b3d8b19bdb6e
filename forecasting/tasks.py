"""The forecast's periodic job: freeze each period's commit as it stood at its start."""

import datetime

from django.tasks import task

from climcrm.periods import MONTH, QUARTER
from climcrm.scheduling import Daily, periodic
from forecasting.services import forecast_snapshot_take
from forecasting.submission_reminders import (
    missing_submissions_queue,
    submission_reminders_queue,
)


@periodic(Daily(at=datetime.time(0, 15)))
@task
def snapshot_forecast() -> dict[str, int]:
    """Snapshot the current month and quarter (kept if already taken): soon after
    midnight in the installation's time zone, so the first day of a period has its own."""
    return {kind: forecast_snapshot_take(kind=kind) for kind in (MONTH, QUARTER)}


@periodic(Daily(at=datetime.time(8, 0)))
@task
def remind_forecast_due() -> int:
    """On the day forecasts are due, remind whoever has not submitted this week."""
    return submission_reminders_queue()


@periodic(Daily(at=datetime.time(16, 0)))
@task
def notify_forecast_missing() -> int:
    """Later that day, tell the managers whose reps and partners have still not submitted."""
    return missing_submissions_queue()
