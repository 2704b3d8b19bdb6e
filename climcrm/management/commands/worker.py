"""The background worker: runs queued tasks and starts the periodic jobs on schedule.

Any number may run, on any machine that reaches the database: a task is taken by one
worker (django-tasks-db locks its row), and a periodic job's occurrence is started by one
(``climcrm.scheduling``). Ctrl-C or SIGTERM lets the task in progress finish.
"""

import logging
import os
import threading

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import close_old_connections, connection
from django.utils.autoreload import DJANGO_AUTORELOAD_ENV, run_with_reloader
from django.utils.crypto import get_random_string
from django_tasks_db.management.commands.db_worker import Worker

from climcrm import scheduling

logger = logging.getLogger("climcrm.worker")


class Scheduler(threading.Thread):
    """Looks at the schedule every ``interval`` seconds beside the worker's loop."""

    def __init__(self, interval: float):
        super().__init__(name="climcrm-scheduler", daemon=True)
        self.interval = interval
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                for name in scheduling.tick():
                    logger.info("Periodic job started: %s", name)
            except Exception:  # noqa: BLE001 - the next look tries again
                logger.exception("Periodic jobs not looked at")
            finally:
                close_old_connections()
            self.stopping.wait(self.interval)
        connection.close()


class Command(BaseCommand):
    help = (
        "Run queued tasks (emails, imports) and the periodic jobs; several may run side "
        "by side. --batch runs what is due and waiting, then stops."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--interval",
            type=float,
            default=1.0,
            help="seconds between two looks at an empty queue (default: 1)",
        )
        parser.add_argument(
            "--batch",
            action="store_true",
            help="start the periodic jobs due, run every task waiting, then stop",
        )
        parser.add_argument(
            "--no-scheduler",
            action="store_false",
            dest="scheduler",
            help="run queued tasks only, never start periodic jobs",
        )
        parser.add_argument(
            "--reload",
            action="store_true",
            default=settings.DEBUG,
            help="restart on code changes (default: when DEBUG is on)",
        )
        parser.add_argument("--no-reload", action="store_false", dest="reload")
        parser.add_argument("--worker-id", default="", help="a name unique among workers")

    def handle(self, *args, interval, batch, scheduler, reload, worker_id, **options):
        if options["verbosity"] > 0 and not logging.getLogger().handlers:
            logging.basicConfig(level=logging.INFO)
        scheduling.discover()
        worker = Worker(
            queue_names=["*"],
            interval=interval,
            batch=batch,
            backend_name="default",
            startup_delay=not batch,
            max_tasks=None,
            worker_id=worker_id or f"{os.uname().nodename}-{get_random_string(8)}"[:64],
            excluded_queue_names=[],
        )

        def main():
            ticker = None
            if scheduler and batch:
                scheduling.tick()
            elif scheduler:
                ticker = Scheduler(settings.CRM_SCHEDULER_INTERVAL)
                ticker.start()
            try:
                worker.run()
            finally:
                if ticker is not None:
                    ticker.stopping.set()

        if batch:
            reload = False
        if reload:
            if os.environ.get(DJANGO_AUTORELOAD_ENV) == "true":
                worker.configure_signals()
            run_with_reloader(main)
        else:
            if not batch:
                worker.configure_signals()
            main()
