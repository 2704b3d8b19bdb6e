"""The clock of the test session, and the moments the date-sensitive tests run at.

``CLIMCRM_TEST_NOW`` sets the moment the whole session starts at (the clock then ticks from
there): an ISO 8601 date and time with its offset (``2027-03-31T22:30:00+00:00``) or the
name of one of ``MOMENTS``. Unset, the session runs on the real clock.

Tests whose outcome depends on the date pin the clock at ``NOW`` for their whole run
(``pytest.mark.time_machine(NOW)``): ``NOW`` is the moment under test, or the real time
when the session started. A test then sees the same date from its first fixture to its last
assertion, even when the machine's clock passes midnight or a month end meanwhile.
"""

import os
from datetime import UTC, date, datetime

ENV = "CLIMCRM_TEST_NOW"

# Each is a moment where a date or period computed in UTC, or on the machine's clock, differs
# from the one in the installation's time zone (Europe/Zurich), or a calendar oddity.
MOMENTS = {
    # 23:00 on 30 June in Zurich: the quarter's last evening everywhere, a month from now is
    # already the next quarter.
    "quarter-last-day": datetime(2027, 6, 30, 21, 0, tzinfo=UTC),
    # 22:30 UTC on 31 March is already 00:30 on 1 April (Q2) in Zurich.
    "quarter-end": datetime(2027, 3, 31, 22, 30, tzinfo=UTC),
    # 23:30 UTC on 31 December is already 00:30 on 1 January 2028 in Zurich.
    "year-end": datetime(2027, 12, 31, 23, 30, tzinfo=UTC),
    # 29 February of a leap year, at noon in Zurich.
    "leap-day": datetime(2028, 2, 29, 11, 0, tzinfo=UTC),
    # The clocks go back on the last Sunday of October (also the month's last day in 2027):
    # 02:30 in Zurich for the second time (CET), the day lasts 25 hours.
    "clocks-back": datetime(2027, 10, 31, 1, 30, tzinfo=UTC),
    # 00:30 on the first of a month in Zurich, still the last day of the month before in UTC.
    "month-start": datetime(2027, 10, 31, 23, 30, tzinfo=UTC),
}


def moment_from_env(value: str | None = None) -> datetime | None:
    """The moment ``CLIMCRM_TEST_NOW`` names, or None when it is not set."""
    value = (os.environ.get(ENV, "") if value is None else value).strip()
    if not value:
        return None
    if value in MOMENTS:
        return MOMENTS[value]
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        names = ", ".join(MOMENTS)
        raise ValueError(
            f"{ENV}={value!r}: give an ISO 8601 date and time with its offset "
            f"(2027-03-31T22:30:00+00:00) or one of: {names}"
        )
    return moment


# The moment under test: set once per process, when this module is first imported.
try:
    NOW: datetime = moment_from_env() or datetime.now(UTC)
except ValueError:  # reported by the session's pytest_configure
    NOW = datetime.now(UTC)


def local(moment: datetime) -> datetime:
    """``moment`` in the installation's time zone."""
    from django.utils import timezone

    return timezone.localtime(moment, timezone.get_default_timezone())


def today() -> date:
    """Today in the installation's time zone, on the clock the test runs at."""
    from django.utils import timezone

    return timezone.localdate(timezone.now(), timezone.get_default_timezone())


def period_end(kind: str = "month", day: date | None = None) -> date:
    """The last day of the month (or ``"quarter"``, ``"year"``) holding ``day``, today by
    default: a close date inside the current period that is never in the past, where
    ``today + 30`` falls into the next quarter in a quarter's last month."""
    from climcrm.periods import period_containing

    return period_containing(kind, day or today()).last_day


def describe(moment: datetime) -> str:
    """``moment`` and what it is in the installation's time zone, for the report header."""
    from django.conf import settings

    shown = local(moment)
    return f"{moment.isoformat()} ({shown:%Y-%m-%d %H:%M %Z} in {settings.TIME_ZONE})"
