"""Measure the main pages over the current dataset (see bench/measure.py and bench/load.py).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/climcrm_bench SECRET_KEY=bench \
        python manage.py bench_pages                 # in-process, 20 requests per page
    ... bench_pages --load --duration 30             # gunicorn + wrk
    ... bench_pages --summary                        # every saved run → bench/latest.md
"""

from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from bench import load, measure


class Command(BaseCommand):
    help = "Measures every main page (median, p95, SQL queries and time) on the current data."

    def add_arguments(self, parser):
        parser.add_argument("--requests", type=int, default=20, help="Timed requests per page.")
        parser.add_argument("--warmup", type=int, default=3, help="Untimed requests first.")
        parser.add_argument(
            "--page", action="append", dest="pages", help="Only this page key (repeatable)."
        )
        parser.add_argument(
            "--output-dir",
            default=None,
            help=f"Where the JSON goes (default {measure.RESULTS_DIR}).",
        )
        parser.add_argument("--load", action="store_true", help="Drive gunicorn with wrk instead.")
        parser.add_argument("--duration", type=int, default=30, help="Seconds of wrk per page.")
        parser.add_argument("--workers", type=int, default=2)
        parser.add_argument("--threads", type=int, default=4)
        parser.add_argument("--connections", type=int, default=8)
        parser.add_argument(
            "--summary",
            action="store_true",
            help="Print every saved run as one markdown table and write bench/latest.md "
            "(or latest.md in --output-dir).",
        )

    def handle(self, *args, **options):
        directory = Path(options["output_dir"]) if options["output_dir"] else None
        if options["summary"]:
            text = measure.summary(directory)
            # The committed table is bench/latest.md; runs kept elsewhere summarise there.
            target = directory / "latest.md" if directory else measure.LATEST_MD
            target.write_text(text)
            self.stdout.write(text)
            return
        if options["requests"] < 1 or options["warmup"] < 0:
            raise CommandError("--requests must be at least 1 and --warmup not negative.")
        known = {page.key for page in measure.PAGES}
        unknown = set(options["pages"] or []) - known
        if unknown:
            raise CommandError(
                f"Unknown page(s) {', '.join(sorted(unknown))}; known: {', '.join(sorted(known))}"
            )
        if settings.DEBUG:
            self.stderr.write(
                "DEBUG is on: timings include query logging and debug templates; "
                "run with DEBUG=0 SECRET_KEY=… for representative numbers."
            )
        self._static_manifest()
        log = self.stdout.write
        if options["load"]:
            try:
                data = load.run(
                    duration=options["duration"],
                    workers=options["workers"],
                    threads=options["threads"],
                    connections=options["connections"],
                    only=options["pages"],
                    log=log,
                )
            except RuntimeError as exc:
                raise CommandError(str(exc)) from exc
            path = measure.save_result(data, "-load", directory)
            self.stdout.write("\n" + measure.load_table([data]) + "\n")
        else:
            data = measure.run(
                requests=options["requests"],
                warmup=options["warmup"],
                only=options["pages"],
                log=log,
            )
            path = measure.save_result(data, "", directory)
            self.stdout.write("\n" + measure.markdown_table([data]) + "\n")
        self.stdout.write(f"Written to {path}")

    def _static_manifest(self) -> None:
        """Without DEBUG, templates need an up-to-date static manifest."""
        storage = settings.STORAGES["staticfiles"]["BACKEND"]
        if "Manifest" in storage:
            self.stdout.write("Collecting static files (the manifest is needed with DEBUG off)…")
            call_command("collectstatic", interactive=False, verbosity=0)
