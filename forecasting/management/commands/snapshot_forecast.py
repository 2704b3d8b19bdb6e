from datetime import date

from django.core.management.base import BaseCommand, CommandError

from climcrm.periods import MONTH, QUARTER, YEAR
from forecasting.services import forecast_snapshot_take


class Command(BaseCommand):
    help = (
        "Freeze the forecast of the current month and quarter (or of the period containing "
        "--date) as it stood at the period start. Safe to run every day: existing snapshots "
        "are kept."
    )

    def add_arguments(self, parser):
        parser.add_argument("--kind", choices=[MONTH, QUARTER, YEAR, "all"], default="all")
        parser.add_argument("--date", help="A day in the period (YYYY-MM-DD); default today.")

    def handle(self, *args, kind, date, **options):
        day = None
        if date:
            try:
                day = _parse(date)
            except ValueError as exc:
                raise CommandError(f"Invalid --date: {date}") from exc
        kinds = [MONTH, QUARTER] if kind == "all" else [kind]
        for name in kinds:
            written = forecast_snapshot_take(kind=name, period_start=day)
            self.stdout.write(f"{name}: {written} snapshot row(s) written")


def _parse(value: str) -> date:
    return date.fromisoformat(value)
