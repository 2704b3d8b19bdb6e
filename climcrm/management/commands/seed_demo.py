"""Demo data for trying ClimCRM: users of every role, partners, accounts, deals, leads…

Each app adds its part in ``<app>/demo.py`` (a ``seed(ctx)`` function); they run in the
order of ``STEPS``. Running the command again changes nothing.
"""

import importlib
import importlib.util
import random

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from climcrm.demo import DEMO_PASSWORD, DEMO_USERS, DemoContext
from climcrm.models import User

STEPS = (
    "climcrm.demo",
    "accounts.demo",
    "opportunities.demo",
    "leads.demo",
    "activities.demo",
    "partners.demo",
    "forecasting.demo",
    "pipeline_reviews.demo",
)
SIZES = {"small": 300, "large": 3000}


class Command(BaseCommand):
    help = "Create the demo users and data (DEBUG only). Idempotent."

    def add_arguments(self, parser):
        parser.add_argument("--size", choices=sorted(SIZES), default="small")
        parser.add_argument("--logins", action="store_true", help="Only print the demo logins.")

    def handle(self, *args, size: str, logins: bool, **options):
        if logins:
            self._print_logins()
            return
        if not settings.DEBUG and not getattr(settings, "TESTING", False):
            raise CommandError("seed_demo refuses to run with DEBUG off: it is for demonstrations.")

        if User.objects.filter(username="rep").exists():
            self.stdout.write("Demo data already present; nothing to do.")
            return
        random.seed(20261124)
        ctx = DemoContext(size=SIZES[size], stdout=self.stdout)
        with transaction.atomic():
            for step in STEPS:
                if importlib.util.find_spec(step) is None:
                    continue
                module = importlib.import_module(step)
                module.seed(ctx)
        self.stdout.write(self.style.SUCCESS("Demo data created."))
        self._print_logins()

    def _print_logins(self):
        self.stdout.write("")
        self.stdout.write(f"ClimCRM demo logins (password: {DEMO_PASSWORD})")
        for username, description in DEMO_USERS:
            self.stdout.write(f"  {username:<10} {description}")
        self.stdout.write("Open http://127.0.0.1:8000/")
