"""Calendar periods (month, quarter, year) named in the URL: ``2026-11``, ``2026-Q4``, ``2026``."""

import re
from dataclasses import dataclass
from datetime import date, datetime

from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

MONTH, QUARTER, YEAR = "month", "quarter", "year"
KINDS = [(MONTH, _("Month")), (QUARTER, _("Quarter")), (YEAR, _("Year"))]
_KEY = re.compile(r"^(\d{4})(?:-(?:Q([1-4])|(\d{2})))?$")


@dataclass(frozen=True)
class Period:
    kind: str
    start: date  # first day
    end: date  # first day of the next period (exclusive)

    @property
    def year(self) -> int:
        return self.start.year

    @property
    def quarters(self) -> list[int]:
        """The quarters the period falls in (targets are kept per quarter)."""
        first = (self.start.month - 1) // 3 + 1
        if self.kind == YEAR:
            return [1, 2, 3, 4]
        return [first]

    @property
    def target_share(self) -> float:
        """A month takes a third of its quarter's target."""
        return 1 / 3 if self.kind == MONTH else 1.0

    @property
    def key(self) -> str:
        if self.kind == YEAR:
            return f"{self.year}"
        if self.kind == QUARTER:
            return f"{self.year}-Q{self.quarters[0]}"
        return f"{self.year}-{self.start.month:02d}"

    @property
    def label(self) -> str:
        if self.kind == YEAR:
            return str(self.year)
        if self.kind == QUARTER:
            return gettext("Q%(quarter)s %(year)s") % {
                "quarter": self.quarters[0],
                "year": self.year,
            }
        return date_format(self.start, "F Y")

    @property
    def last_day(self) -> date:
        return date.fromordinal(self.end.toordinal() - 1)

    def previous(self) -> "Period":
        return period_containing(self.kind, date.fromordinal(self.start.toordinal() - 1))

    def next(self) -> "Period":
        return period_containing(self.kind, self.end)

    def start_moment(self) -> datetime:
        return timezone.make_aware(datetime.combine(self.start, datetime.min.time()))

    def end_moment(self) -> datetime:
        return timezone.make_aware(datetime.combine(self.end, datetime.min.time()))

    def __str__(self) -> str:
        return self.label


def period_containing(kind: str, day: date) -> Period:
    if kind == YEAR:
        return Period(YEAR, date(day.year, 1, 1), date(day.year + 1, 1, 1))
    if kind == QUARTER:
        first_month = (day.month - 1) // 3 * 3 + 1
        start = date(day.year, first_month, 1)
    else:
        kind = MONTH
        start = date(day.year, day.month, 1)
    month = start.month + (3 if kind == QUARTER else 1)
    end = date(start.year + (month - 1) // 12, (month - 1) % 12 + 1, 1)
    return Period(kind, start, end)


def parse_period(key: str | None, kind: str | None = None, today: date | None = None) -> Period:
    """The period named by ``key``; when missing or malformed, the current one of ``kind``."""
    today = today or timezone.localdate()
    match = _KEY.match((key or "").strip())
    if match:
        year, quarter, month = int(match[1]), match[2], match[3]
        if 1900 < year < 2200:
            if quarter and kind in (None, QUARTER):
                return period_containing(QUARTER, date(year, int(quarter) * 3 - 2, 1))
            if month and 1 <= int(month) <= 12 and kind in (None, MONTH):
                return period_containing(MONTH, date(year, int(month), 1))
            if not quarter and not month and kind in (None, YEAR):
                return period_containing(YEAR, date(year, 1, 1))
            if kind in (MONTH, QUARTER, YEAR):
                # The kind changed: keep the period's first day, in the new kind.
                base = date(
                    year, int(month) if month else (int(quarter) * 3 - 2 if quarter else 1), 1
                )
                if base.year == today.year and kind != YEAR and not (quarter or month):
                    base = today
                return period_containing(kind, base)
    return period_containing(kind if kind in (MONTH, QUARTER, YEAR) else QUARTER, today)


def last_periods(kind: str, count: int, today: date | None = None) -> list[Period]:
    """The ``count`` periods of ``kind`` up to and including the current one, oldest first."""
    current = period_containing(kind, today or timezone.localdate())
    periods = [current]
    for _i in range(count - 1):
        periods.insert(0, periods[0].previous())
    return periods
