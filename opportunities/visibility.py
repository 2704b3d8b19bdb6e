"""The deals a user sees (see ``climcrm.visibility``)."""

from django.db.models import Q, QuerySet

from climcrm.visibility import scoped
from opportunities.models import Opportunity


def visible_opportunities(user) -> QuerySet:
    return scoped(Opportunity.objects.all(), user, lambda partner: Q(partner_id=partner))
