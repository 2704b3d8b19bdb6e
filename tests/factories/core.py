"""The core factories: users, accounts, partners, deals, leads, to-dos.

Dates default from the clock the test runs at, in the installation's time zone: a test
that depends on them pins that clock (``pytest.mark.time_machine(clock.NOW)``, ``tests.clock``).
"""

import datetime
from decimal import Decimal

import factory
from django.contrib.auth.models import Group
from django.utils import timezone

from accounts.models import Account, Contact, Partner
from activities.models import Activity
from climcrm.models import User
from forecasting.summaries import deal_state, record_deal_change
from leads.models import Lead
from opportunities.models import (
    ForecastCategory,
    Opportunity,
    OpportunityHistory,
    Stage,
    ladder_rank,
)
from tests import clock


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name", locale="fr_CH")
    last_name = factory.Faker("last_name", locale="fr_CH")
    email = factory.LazyAttribute(lambda u: f"{u.username}@climcrm.test")
    password = factory.django.Password("climcrm-demo")
    language = "fr"

    @factory.post_generation
    def roles(self, create, extracted, **kwargs):
        if create and extracted:
            for name in extracted:
                self.groups.add(Group.objects.get_or_create(name=name)[0])


class AccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Account

    name = factory.Sequence(lambda n: f"Entreprise {n} SA")
    city = "Lausanne"
    postal_code = "1003"
    country = "CH"


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact

    first_name = factory.Faker("first_name", locale="fr_CH")
    last_name = factory.Faker("last_name", locale="fr_CH")
    email = factory.Sequence(lambda n: f"contact{n}@example.ch")
    account = factory.SubFactory(AccountFactory)


class PartnerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Partner

    account = factory.SubFactory(
        AccountFactory, name=factory.Sequence(lambda n: f"Partenaire {n} Sàrl")
    )
    contract_start = datetime.date(2026, 1, 1)
    contract_end = datetime.date(2027, 12, 31)


class OpportunityFactory(factory.django.DjangoModelFactory):
    """Creates the deal row and its first history row, as the service would.

    Use ``opportunities.services`` in tests about behaviour; this factory is for data.
    """

    class Meta:
        model = Opportunity
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Affaire {n}")
    account = factory.SubFactory(AccountFactory)
    owner = factory.SubFactory(UserFactory, roles=["sales_rep"])
    stage = Stage.QUALIFICATION
    probability = 10
    amount = Decimal("10000.00")
    # Inside the month, quarter and year under way, and not in the past: the pages' default
    # periods hold it on any day.
    close_date = factory.LazyFunction(clock.period_end)
    forecast_category = ForecastCategory.PIPELINE
    closed_at = factory.LazyAttribute(
        lambda o: timezone.now() if o.stage in (Stage.CLOSED_WON, Stage.CLOSED_LOST) else None
    )
    furthest_rank = factory.LazyAttribute(lambda o: ladder_rank(o.stage))

    @factory.post_generation
    def history(self, create, extracted, **kwargs):
        if not create:
            return
        OpportunityHistory.objects.create(
            opportunity=self,
            version=self.version,
            changed_at=self.created_at,
            changed_by=self.owner,
            is_creation=True,
            stage=self.stage,
            amount=self.amount,
            probability=self.probability,
            close_date=self.close_date,
            forecast_category=self.forecast_category,
            owner=self.owner,
            partner=self.partner,
        )
        # The running totals the metrics read, as the service keeps them.
        record_deal_change(
            before=None, after=deal_state(self), at=self.created_at, using=self._state.db
        )


class LeadFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Lead

    first_name = factory.Faker("first_name", locale="fr_CH")
    last_name = factory.Faker("last_name", locale="fr_CH")
    email = factory.Sequence(lambda n: f"lead{n}@prospect.ch")
    company = factory.Sequence(lambda n: f"Prospect {n} SA")


class ActivityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Activity

    subject = factory.Sequence(lambda n: f"Rappeler le client {n}")
    due_date = factory.LazyFunction(lambda: clock.today() + datetime.timedelta(days=3))
    opportunity = factory.SubFactory(OpportunityFactory)
