"""What must never be false is enforced by the database, not only by the service."""

import datetime
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from opportunities.models import LossReason, Opportunity, OpportunityHistory, Stage
from tests import clock
from tests.factories import OpportunityFactory

pytestmark = [pytest.mark.django_db, pytest.mark.time_machine(clock.NOW)]

# (update bypassing the service, constraint that refuses it)
BROKEN = [
    ({"probability": 101}, "opp_probability_0_100"),
    ({"amount": Decimal("-5")}, "opp_amount_non_negative"),
    ({"stage": Stage.CLOSED_LOST, "probability": 0, "closed_at": "now"}, "opp_lost_has_reason"),
    ({"stage": Stage.CLOSED_WON, "probability": 100}, "opp_closed_at_iff_closed"),
    ({"closed_at": "now"}, "opp_closed_at_iff_closed"),
    ({"stage": Stage.CLOSED_WON, "closed_at": "now", "probability": 90}, "opp_won_is_100"),
    (
        {"stage": Stage.CLOSED_WON, "closed_at": "now", "probability": 100, "amount": 0},
        "opp_won_is_100",
    ),
    (
        {"stage": Stage.CLOSED_LOST, "closed_at": "now", "probability": 10, "reason": True},
        "opp_lost_is_0",
    ),
]


@pytest.mark.parametrize(("values", "constraint"), BROKEN)
def test_database_refuses_what_the_rules_forbid(values, constraint):
    deal = OpportunityFactory()
    values = dict(values)
    if values.pop("reason", False):
        values["loss_reason"] = LossReason.objects.first()
    if values.get("closed_at") == "now":
        values["closed_at"] = timezone.now()
    with pytest.raises(IntegrityError) as caught, transaction.atomic():
        Opportunity.objects.filter(pk=deal.pk).update(**values)
    assert constraint in str(caught.value)


def test_a_valid_closed_deal_passes_the_same_constraints():
    deal = OpportunityFactory()
    Opportunity.objects.filter(pk=deal.pk).update(
        stage=Stage.CLOSED_WON, closed_at=timezone.now(), probability=100
    )
    assert Opportunity.objects.get(pk=deal.pk).stage == Stage.CLOSED_WON


def test_history_versions_are_unique_per_deal():
    deal = OpportunityFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        OpportunityHistory.objects.create(
            opportunity=deal,
            version=deal.version,
            stage=deal.stage,
            probability=deal.probability,
            close_date=deal.close_date,
            forecast_category=deal.forecast_category,
        )


def test_history_validity_cannot_end_before_it_starts():
    deal = OpportunityFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        OpportunityHistory.objects.filter(opportunity=deal).update(
            valid_until=timezone.now() - datetime.timedelta(days=400)
        )
