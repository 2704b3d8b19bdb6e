"""The pipeline reviews a user sees (see ``climcrm.visibility``)."""

from django.db.models import Q, QuerySet

from climcrm.visibility import scoped
from pipeline_reviews.models import Review


def visible_reviews(user) -> QuerySet:
    return scoped(Review.objects.all(), user, lambda partner: Q(partner_id=partner))
