"""The leads a user sees (see ``climcrm.visibility``)."""

from django.db.models import Q, QuerySet

from climcrm.visibility import scoped
from leads.models import Lead


def visible_leads(user) -> QuerySet:
    return scoped(Lead.objects.all(), user, lambda partner: Q(partner_id=partner))
