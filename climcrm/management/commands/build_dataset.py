"""Fill an empty database with a synthetic CRM of N opportunities (see bench/dataset.py).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/climcrm_bench \
        python manage.py build_dataset --size 100k
"""

from django.core.management.base import BaseCommand, CommandError

from bench import dataset


class Command(BaseCommand):
    help = "Builds a benchmark dataset of N opportunities (1k, 10k, 100k, 1M) in an empty database."

    def add_arguments(self, parser):
        parser.add_argument(
            "--size", default="10k", help="Number of opportunities: 1k, 10k, 100k, 1M or a number."
        )
        parser.add_argument(
            "--reset", action="store_true", help="Empty the CRM tables first (destroys their data)."
        )
        parser.add_argument("--seed", type=int, default=42, help="Random seed (default 42).")

    def handle(self, *args, **options):
        try:
            n = dataset.parse_size(options["size"])
        except ValueError as exc:
            raise CommandError(f"Invalid --size {options['size']!r}: {exc}") from exc
        try:
            result = dataset.build(
                n,
                reset=options["reset"],
                seed=options["seed"],
                log=lambda text: self.stdout.write(f"  {text}"),
            )
        except RuntimeError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            self.style.SUCCESS(f"Dataset {dataset.size_label(n)} ready in {result['seconds']} s.")
        )
