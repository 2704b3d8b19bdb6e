import time
from datetime import date

from django.core.management.base import BaseCommand, CommandError

from forecasting import kept


class Command(BaseCommand):
    help = (
        "Check the kept totals (running totals, deals changed per month, the funnel's and "
        "the board's columns) against a rebuild from the history, or repair them. --check "
        "prints each difference (table, key, kept, rebuilt) and exits with 1 on drift."
    )

    def add_arguments(self, parser):
        action = parser.add_mutually_exclusive_group(required=True)
        action.add_argument("--check", action="store_true", help="Compare; write nothing.")
        action.add_argument("--rebuild", action="store_true", help="Rewrite from the history.")
        parser.add_argument(
            "--since", help="Only the months from this day's month on (YYYY-MM-DD)."
        )
        parser.add_argument(
            "--table",
            action="append",
            choices=kept.TABLES,
            help="Only this kept table (repeatable); default all.",
        )
        parser.add_argument("--limit", type=int, default=20, help="Differences shown per table.")
        parser.add_argument("--database", default=None)

    def handle(self, *args, check, rebuild, since, table, limit, database, **options):
        try:
            day = date.fromisoformat(since) if since else None
        except ValueError as exc:
            raise CommandError(f"Invalid --since: {since}") from exc
        tables = tuple(table) if table else None
        started = time.monotonic()
        if rebuild:
            written = kept.rebuild(using=database, since=day, tables=tables)
            for name, rows in written.items():
                self.stdout.write(f"{name}: {rows} row(s) rewritten")
            self.stdout.write(f"rebuilt in {time.monotonic() - started:.1f} s")
            return
        report = kept.check(using=database, since=day, tables=tables, limit=limit)
        for difference in report.differences:
            key = ", ".join(f"{name}={value}" for name, value in difference.key.items())
            self.stdout.write(
                f"{difference.table}\t{key}\tkept {_values(difference.kept)}"
                f"\trebuilt {_values(difference.rebuilt)}"
            )
        for name, count in report.counts.items():
            self.stdout.write(f"{name}: {count} row(s) differ")
        self.stdout.write(f"checked in {time.monotonic() - started:.1f} s")
        if not report.clean:
            raise CommandError("The kept totals differ from a rebuild.", returncode=1)


def _values(values: dict | None) -> str:
    if values is None:
        return "(missing)"
    return ", ".join(f"{name}={value}" for name, value in values.items())
