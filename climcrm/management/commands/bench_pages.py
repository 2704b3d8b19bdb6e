"""Measure the main pages over the current dataset (see bench/measure.py and bench/load.py).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/climcrm_bench SECRET_KEY=bench \
        python manage.py bench_pages                 # in-process, 20 requests per page
    ... bench_pages --load --duration 30             # gunicorn + wrk
    ... bench_pages --morning --duration 60          # the mixed morning, per core
    ... bench_pages --summary                        # every saved run → bench/latest.md
"""

from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

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
            "--skip", action="append", default=[], help="Leave this page key out (repeatable)."
        )
        parser.add_argument(
            "--output-dir",
            default=None,
            help=f"Where the JSON goes (default {measure.RESULTS_DIR}).",
        )
        parser.add_argument(
            "--budget",
            type=float,
            default=60.0,
            help="Seconds per page after which a slow page stops being requested.",
        )
        parser.add_argument("--load", action="store_true", help="Drive gunicorn with wrk instead.")
        parser.add_argument(
            "--morning",
            action="store_true",
            help="The mixed morning (dashboards, board, list, searches, deal edits) on one "
            "gunicorn: requests per second per core, errors, CPU of app and database.",
        )
        parser.add_argument("--clients", type=int, default=8, help="Users at once (--morning).")
        parser.add_argument(
            "--duration", type=int, default=30, help="Seconds of wrk per page (--morning: all)."
        )
        parser.add_argument("--workers", type=int, default=2)
        parser.add_argument("--threads", type=int, default=4)
        parser.add_argument("--connections", type=int, default=8)
        parser.add_argument(
            "--explain",
            action="append",
            help="Print EXPLAIN (ANALYZE, BUFFERS) of the slowest queries of this page key.",
        )
        parser.add_argument("--top", type=int, default=3, help="Queries explained per page.")
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
        if options["explain"]:
            measure.explain(options["explain"], top=options["top"], log=self.stdout.write)
            return
        if options["requests"] < 1 or options["warmup"] < 0:
            raise CommandError("--requests must be at least 1 and --warmup not negative.")
        known = {page.key for page in measure.PAGES}
        unknown = (set(options["pages"] or []) | set(options["skip"])) - known
        if unknown:
            raise CommandError(
                f"Unknown page(s) {', '.join(sorted(unknown))}; known: {', '.join(sorted(known))}"
            )
        if settings.DEBUG:
            self.stderr.write(
                "DEBUG is on: timings include query logging and debug templates; "
                "run with DEBUG=0 SECRET_KEY=… for representative numbers."
            )
        self._check_migrations()
        self._static_manifest()

        def log(text: str) -> None:
            self.stdout.write(text)
            self.stdout.flush()

        if options["morning"]:
            try:
                data = load.morning(
                    duration=options["duration"],
                    workers=options["workers"],
                    threads=options["threads"],
                    clients=options["clients"],
                    log=log,
                )
            except RuntimeError as exc:
                raise CommandError(str(exc)) from exc
            path = measure.save_result(data, "-morning", directory)
        elif options["load"]:
            try:
                data = load.run(
                    duration=options["duration"],
                    workers=options["workers"],
                    threads=options["threads"],
                    connections=options["connections"],
                    only=[
                        page.key
                        for page in measure.PAGES
                        if page.key not in options["skip"]
                        and (not options["pages"] or page.key in options["pages"])
                    ],
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
                skip=options["skip"],
                budget=options["budget"],
                log=log,
            )
            path = measure.save_result(data, "", directory)
            self.stdout.write("\n" + measure.markdown_table([data]) + "\n")
        self.stdout.write(f"Written to {path}")

    def _check_migrations(self) -> None:
        executor = MigrationExecutor(connection)
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
        if plan:
            names = ", ".join(f"{m.app_label}.{m.name}" for m, _backwards in plan[:5])
            raise CommandError(f"Unapplied migrations ({names}): run manage.py migrate first.")

    def _static_manifest(self) -> None:
        """Without DEBUG, templates need an up-to-date static manifest."""
        storage = settings.STORAGES["staticfiles"]["BACKEND"]
        if "Manifest" in storage:
            self.stdout.write("Collecting static files (the manifest is needed with DEBUG off)…")
            call_command("collectstatic", interactive=False, verbosity=0)
