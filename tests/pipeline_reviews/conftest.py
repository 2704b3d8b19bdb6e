import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from opportunities.models import ForecastCategory, Stage
from pipeline_reviews.periods import add_months
from tests.factories import OpportunityFactory, UserFactory


@pytest.fixture
def director_a(partner_a):
    return UserFactory(
        username="director_a",
        roles=["partner_user"],
        partner=partner_a,
        partner_title="sales_director",
        language="en",
    )


@pytest.fixture
def champion_a(partner_a):
    return UserFactory(
        username="champion_a", roles=["partner_user"], partner=partner_a, partner_title="champion"
    )


@pytest.fixture
def this_month():
    return timezone.localdate().replace(day=1)


@pytest.fixture
def last_month(this_month):
    return add_months(this_month, -1)


@pytest.fixture
def partner_a_deals(partner_a, rep):
    """Three open deals of partner A in different stages, one of them in Commit."""
    soon = timezone.localdate() + datetime.timedelta(days=20)
    return [
        OpportunityFactory(
            name="Pompe à chaleur Sion",
            partner=partner_a,
            owner=rep,
            stage=Stage.QUALIFICATION,
            probability=10,
            amount=Decimal("10000"),
            close_date=soon,
        ),
        OpportunityFactory(
            name="Régulation CVC Martigny",
            partner=partner_a,
            owner=rep,
            stage=Stage.PROPOSAL,
            probability=50,
            amount=Decimal("20000"),
            forecast_category=ForecastCategory.BEST_CASE,
            close_date=soon + datetime.timedelta(days=1),
        ),
        OpportunityFactory(
            name="Ventilation Monthey",
            partner=partner_a,
            owner=rep,
            stage=Stage.NEGOTIATION,
            probability=75,
            amount=Decimal("40000"),
            forecast_category=ForecastCategory.COMMIT,
            close_date=soon + datetime.timedelta(days=2),
        ),
    ]
