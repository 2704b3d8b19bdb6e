"""Reviews, open or closed.

Dates default from the clock the test runs at, in the installation's time zone: a test
that depends on them pins that clock (``pytest.mark.time_machine(clock.NOW)``, ``tests.clock``).
"""

import datetime

import factory
from django.utils import timezone

from pipeline_reviews.models import Review, ReviewKind, ReviewStatus
from tests import clock
from tests.factories.core import PartnerFactory


class ReviewFactory(factory.django.DjangoModelFactory):
    """A review row for data; behaviour goes through ``pipeline_reviews.services``."""

    class Meta:
        model = Review
        skip_postgeneration_save = True

    kind = ReviewKind.MONTHLY_PARTNER
    partner = factory.SubFactory(PartnerFactory)
    period_start = factory.LazyFunction(lambda: clock.today().replace(day=1))
    status = ReviewStatus.DRAFT


class ClosedReviewFactory(ReviewFactory):
    status = ReviewStatus.CLOSED
    # Held on the 5th at 10:00, or now when the period's 5th is still to come: a review
    # is never closed in the future.
    closed_at = factory.LazyAttribute(
        lambda r: min(
            timezone.make_aware(
                datetime.datetime.combine(r.period_start, datetime.time(10))
                + datetime.timedelta(days=4)
            ),
            timezone.now(),
        )
    )
