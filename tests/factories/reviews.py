import datetime

import factory
from django.utils import timezone

from pipeline_reviews.models import Review, ReviewKind, ReviewStatus
from tests.factories.core import PartnerFactory


class ReviewFactory(factory.django.DjangoModelFactory):
    """A review row for data; behaviour goes through ``pipeline_reviews.services``."""

    class Meta:
        model = Review
        skip_postgeneration_save = True

    kind = ReviewKind.MONTHLY_PARTNER
    partner = factory.SubFactory(PartnerFactory)
    period_start = factory.LazyFunction(lambda: timezone.localdate().replace(day=1))
    status = ReviewStatus.DRAFT


class ClosedReviewFactory(ReviewFactory):
    status = ReviewStatus.CLOSED
    closed_at = factory.LazyAttribute(
        lambda r: timezone.make_aware(
            datetime.datetime.combine(r.period_start, datetime.time(10))
            + datetime.timedelta(days=4)
        )
    )
