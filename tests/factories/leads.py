"""Lead factories beyond the core one: leads in a given status, with their history row."""

import factory
from django.utils import timezone

from climcrm.choices import OriginChannel
from leads.models import LeadStatus, LeadStatusChange
from tests.factories.core import LeadFactory


class OpenLeadFactory(LeadFactory):
    """A New lead with its first status row, as lead_create leaves it."""

    class Meta:
        skip_postgeneration_save = True

    status = LeadStatus.NEW
    status_changed_at = factory.LazyFunction(timezone.now)

    @factory.post_generation
    def first_status(self, create, extracted, **kwargs):
        if create:
            LeadStatusChange.objects.create(
                lead=self, from_status="", to_status=self.status, changed_at=self.created_at
            )


class PartnerLeadFactory(OpenLeadFactory):
    origin = OriginChannel.PARTNER
