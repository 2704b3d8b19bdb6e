from django.core.management.base import BaseCommand

from pipeline_reviews.services import send_review_recaps


class Command(BaseCommand):
    help = (
        "Send the recap emails of closed reviews still waiting (after a mail failure). "
        "Safe to run concurrently and repeatedly: a recap is never sent twice."
    )

    def add_arguments(self, parser):
        parser.add_argument("--review", type=int, help="only the recaps of this review")

    def handle(self, *args, review=None, **options):
        result = send_review_recaps(review_id=review)
        self.stdout.write(f"{result['sent']} sent, {result['failed']} failed")
