"""Measure the pipeline import: N opportunities from a French Excel CSV file.

    createdb -h 127.0.0.1 -U postgres pimport_bench
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/pimport_bench SECRET_KEY=bench \\
        python manage.py migrate
    ... python manage.py bench_import --rows 100000 [--check-totals]

The file is written as Excel writes "CSV (separated by semicolons)": Windows-1252,
``31.12.2026`` dates, ``12 500,00`` amounts, stage and category labels in French. Its
accounts, owners and a partner are created first (not timed). Then upload (decoding and
storing the file), dry run and import are timed one by one, and the same file is imported
a second time (every row found, nothing written).
"""

import io
import random
import time
from datetime import timedelta
from decimal import Decimal

from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management.base import BaseCommand
from django.db import connection
from django.utils import timezone

from accounts.models import Account, Partner
from climcrm.models import User
from climcrm.text import normalize_company_name
from forecasting import kept as kept_facts
from forecasting import summaries
from forecasting.models import MonthChange, MonthChangeTotal, PipelineSummary
from imports import services
from imports.models import ImportKind, ImportMode
from opportunities.models import LossReason, Opportunity

STAGES = [
    ("Qualification", 30),
    ("Needs Analysis", 20),
    ("Proposal", 15),
    ("Negotiation", 10),
    ("Closed Won", 15),
    ("Closed Lost", 10),
]
HEADER = (
    "ID externe;Nom;Compte;Propriétaire;Partenaire;Étape;Montant;Probabilité;"
    "Date de clôture;Livraison prévue;Catégorie de prévision;Type;Raison de la perte;Créée"
)


def _french_amount(value: int) -> str:
    return f"{value:,}".replace(",", " ") + ",00"


class Command(BaseCommand):
    help = "Times the import of N opportunities from a CSV file (upload, dry run, import)."

    def add_arguments(self, parser):
        parser.add_argument("--rows", type=int, default=100_000)
        parser.add_argument("--accounts", type=int, default=0, help="Default: rows / 10.")
        parser.add_argument("--mode", choices=ImportMode.values, default=ImportMode.PER_ROW)
        parser.add_argument(
            "--check-totals",
            action="store_true",
            help="After the import, compare the kept totals with a rebuild.",
        )
        parser.add_argument("--seed", type=int, default=20)

    def handle(self, *args, **options):
        rows, rng = options["rows"], random.Random(options["seed"])
        importer, owners, partner = self._cast()
        accounts = self._accounts(options["accounts"] or max(1, rows // 10))
        loss = LossReason.objects.order_by("position").first()
        run = timezone.now().strftime("%Y%m%d%H%M%S")
        today = timezone.localdate()
        out = io.StringIO()
        out.write(HEADER + "\r\n")
        for index in range(rows):
            stage = rng.choices([s for s, _w in STAGES], [w for _s, w in STAGES])[0]
            created = today - timedelta(days=rng.randint(1, 900))
            close = (
                created + timedelta(days=rng.randint(10, 300))
                if stage.startswith("Closed")
                else today + timedelta(days=rng.randint(1, 400))
            )
            close = min(close, today) if stage.startswith("Closed") else close
            out.write(
                ";".join(
                    [
                        f"BENCH-{run}-{index}",
                        f"Projet {index} chauffage",
                        accounts[index % len(accounts)],
                        owners[index % len(owners)],
                        partner if index % 7 == 0 else "",
                        stage,
                        _french_amount(rng.randint(1, 400) * 500),
                        "",
                        close.strftime("%d.%m.%Y"),
                        "",
                        "",
                        "",
                        loss.code if stage == "Closed Lost" else "",
                        created.strftime("%d.%m.%Y"),
                    ]
                )
                + "\r\n"
            )
        raw = out.getvalue().encode("cp1252")
        self.stdout.write(f"file: {rows} rows, {len(raw) / 1e6:.1f} MB (Windows-1252)")
        before = Opportunity.objects.count()
        timings = {}
        started = time.perf_counter()
        job = services.import_create(
            upload=SimpleUploadedFile("bench.csv", raw), kind=ImportKind.OPPORTUNITIES, by=importer
        )
        job = services.import_set_mapping(
            job=job, mapping=job.mapping, mode=options["mode"], by=importer
        )
        timings["upload"] = time.perf_counter() - started
        started = time.perf_counter()
        summary = services.dry_run(job)
        timings["dry run"] = time.perf_counter() - started
        started = time.perf_counter()
        job = services.import_all(job=job)
        timings["import"] = time.perf_counter() - started
        created = Opportunity.objects.count() - before
        self.stdout.write(
            f"dry run: {summary.new} new, {summary.existing} existing, {summary.refused} refused"
        )
        self.stdout.write(
            f"import: {job.created_rows} created, {job.rejected_rows} refused "
            f"({created} deals more in the database)"
        )
        again = services.import_create(
            upload=SimpleUploadedFile("bench.csv", raw), kind=ImportKind.OPPORTUNITIES, by=importer
        )
        again = services.import_set_mapping(
            job=again, mapping=again.mapping, mode=options["mode"], by=importer
        )
        started = time.perf_counter()
        again = services.import_all(job=again)
        timings["same file again"] = time.perf_counter() - started
        self.stdout.write(f"same file again: {again.created_rows} created")
        for name, seconds in timings.items():
            self.stdout.write(f"{name:>16}: {seconds:7.1f} s")
        rate = rows / timings["import"] if timings["import"] else 0
        self.stdout.write(
            f"{rows} opportunities imported in {timings['import']:.1f} s "
            f"({rate:,.0f} rows/s) on {connection.vendor}"
        )
        if options["check_totals"]:
            self._check_totals()

    def _cast(self):
        group, _created = Group.objects.get_or_create(name="sales_manager")
        importer, _created = User.objects.get_or_create(
            username="bench_importer", defaults={"first_name": "Bench", "last_name": "Import"}
        )
        importer.groups.add(group)
        reps = Group.objects.get_or_create(name="sales_rep")[0]
        owners = []
        for number in range(1, 11):
            user, _created = User.objects.get_or_create(
                username=f"bench_rep{number}",
                defaults={"email": f"bench_rep{number}@climcrm.example"},
            )
            user.groups.add(reps)
            owners.append(user.username if number % 2 else user.email)
        company, _created = Account.objects.get_or_create(
            name="Bench Partenaire SA",
            defaults={"normalized_name": normalize_company_name("Bench Partenaire SA")},
        )
        Partner.objects.get_or_create(account=company)
        return importer, owners, company.name

    def _accounts(self, count: int) -> list[str]:
        names = [f"Bench Compte {number:06d} SA" for number in range(count)]
        existing = set(
            Account.objects.filter(name__in=names).values_list("name", flat=True).iterator()
        )
        Account.objects.bulk_create(
            [
                Account(name=name, normalized_name=normalize_company_name(name))
                for name in names
                if name not in existing
            ],
            batch_size=2000,
        )
        return names

    def _check_totals(self):
        def read():
            cent, tenth = Decimal("0.01"), Decimal("0.0001")
            return (
                {
                    (row[:8]): (
                        row[8],
                        row[9].quantize(cent),
                        row[10].quantize(tenth),
                        round(row[11], 4),
                    )
                    for row in PipelineSummary.objects.values_list(
                        *summaries.KEY_FIELDS, *summaries.MEASURES
                    )
                    if any(row[8:])
                },
                set(
                    MonthChange.objects.values_list(
                        *[f.attname for f in MonthChange._meta.concrete_fields if not f.primary_key]
                    )
                ),
                set(
                    MonthChangeTotal.objects.exclude(count=0).values_list(
                        "month",
                        "side",
                        "kinds",
                        "start_key",
                        "end_key",
                        "count",
                        "cents_start",
                        "cents_end",
                    )
                ),
            )

        kept = read()
        kept_facts.rebuild()
        rebuilt = read()
        same = kept == rebuilt
        for name, left, right in zip(
            ("summaries", "month rows", "month totals"), kept, rebuilt, strict=True
        ):
            if left != right:
                self.stdout.write(f"{name} differ: {len(left)} kept, {len(right)} rebuilt")
        self.stdout.write(f"kept totals equal a rebuild: {'yes' if same else 'NO'}")
