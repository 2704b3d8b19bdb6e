"""Deal registrations and partner targets.

Dates default from the clock the test runs at, in the installation's time zone: a test
that depends on them pins that clock (``pytest.mark.time_machine(clock.NOW)``, ``tests.clock``).
"""

from decimal import Decimal

import factory
from django.utils import timezone

from accounts.models import PartnerTarget
from climcrm.text import company_email_domain, normalize_company_name, normalize_postal_address
from partners.models import DealRegistration, RegistrationStatus
from tests import clock
from tests.factories.core import PartnerFactory


class DealRegistrationFactory(factory.django.DjangoModelFactory):
    """A complete submitted registration; use partners.services in tests about behaviour."""

    class Meta:
        model = DealRegistration

    partner = factory.SubFactory(PartnerFactory)
    company_name = factory.Sequence(lambda n: f"Client enregistré {n} SA")
    contact_first_name = "Anne"
    contact_last_name = factory.Sequence(lambda n: f"Dupont{n}")
    contact_email = factory.Sequence(lambda n: f"anne{n}@client{n}.ch")
    # The matching keys, as partners.services fills them.
    normalized_company = factory.LazyAttribute(lambda r: normalize_company_name(r.company_name))
    email_domain = factory.LazyAttribute(lambda r: company_email_domain(r.contact_email))
    site_address = ""
    address_key = factory.LazyAttribute(lambda r: normalize_postal_address(r.site_address))
    contact_phone = "+41 21 555 00 00"
    need = "Remplacement de la climatisation des bureaux"
    estimated_amount = Decimal("48000.00")
    # The deal it becomes closes in the month under way, like ``OpportunityFactory``'s.
    expected_close_date = factory.LazyFunction(clock.period_end)
    status = RegistrationStatus.SUBMITTED
    decided_at = factory.LazyAttribute(
        lambda r: None if r.status == RegistrationStatus.SUBMITTED else timezone.now()
    )
    decision_reason = factory.LazyAttribute(
        lambda r: (
            "Informations manquantes"
            if r.status in (RegistrationStatus.REJECTED, RegistrationStatus.RETURNED)
            else ""
        )
    )


class PartnerTargetFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PartnerTarget
        django_get_or_create = ("partner", "year", "quarter")

    partner = factory.SubFactory(PartnerFactory)
    year = factory.LazyFunction(lambda: clock.today().year)
    quarter = 1
    revenue = Decimal("250000.00")
    new_customers = 3
    leads = 20
