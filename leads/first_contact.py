"""The first contact with a lead (seed 001: the speed of the first engagement): what
counts as one, and the leads still waiting for it."""

from django.db.models import Exists, OuterRef, QuerySet

from leads.models import OPEN_LEAD_STATUSES, Lead

# What counts as a contact with the lead: a call, meeting, email or visit logged as done.
CONTACT_KINDS = ("call", "meeting", "email", "sales_visit")


def contacts_done() -> QuerySet:
    """Every contact done with a lead, among the activities the activities app attaches to
    leads: reached through that relation (``Lead.activities``), since the leads sit below
    that app and do not import it."""
    return Lead.activities.field.model.objects.filter(done=True, kind__in=CONTACT_KINDS)


def awaiting_first_contact(queryset: QuerySet) -> QuerySet:
    """The open leads of ``queryset`` nobody has contacted yet."""
    contacted = contacts_done().filter(lead_id=OuterRef("pk"))
    return queryset.filter(status__in=OPEN_LEAD_STATUSES).filter(~Exists(contacted))
