"""The activities a user sees (see ``climcrm.visibility``): a partner user, those of their
partner's deals and leads."""

from django.db.models import Q, QuerySet

from activities.models import Activity
from climcrm.visibility import scoped


def visible_activities(user) -> QuerySet:
    return scoped(
        Activity.objects.all(),
        user,
        lambda partner: Q(opportunity__partner_id=partner) | Q(lead__partner_id=partner),
    )
