"""The amounts a won deal's forecast-accuracy estimate reads, kept on the deal by the services.

Each is checked against its definition over the history: the first version's amount, the
amount of the first entry into Commit, and the amount of the version valid at the start of
the close date's month and quarter.
"""

from datetime import date
from decimal import Decimal

import pytest

from climcrm.periods import MONTH, QUARTER, period_containing
from opportunities.history import values_as_of
from opportunities.models import ForecastCategory, LossReason, Opportunity, Stage
from opportunities.services import (
    opportunity_create,
    opportunity_move_stage,
    opportunity_update,
)
from tests.factories import AccountFactory
from tests.forecasting.conftest import at

pytestmark = pytest.mark.django_db
D = Decimal


def by_definition(deal: Opportunity) -> tuple:
    rows = list(deal.history.order_by("version"))
    entries = [
        row.amount
        for row in rows
        if row.forecast_category == ForecastCategory.COMMIT
        and row.prev_forecast_category != ForecastCategory.COMMIT
    ]
    starts = [None, None]
    if deal.stage == Stage.CLOSED_WON:
        for index, kind in enumerate((MONTH, QUARTER)):
            moment = period_containing(kind, deal.close_date).start_moment()
            row = values_as_of(moment).filter(opportunity=deal).first()
            starts[index] = row.amount if row else None
    return (rows[0].amount, entries[0] if entries else None, *starts)


def kept(deal: Opportunity) -> tuple:
    deal.refresh_from_db()
    return (
        deal.created_amount,
        deal.commit_entry_amount,
        deal.close_month_start_amount,
        deal.close_quarter_start_amount,
    )


def new_deal(rep, **values):
    values.setdefault("account", AccountFactory())
    values.setdefault("name", "deal")
    values.setdefault("close_date", date(2025, 6, 20))
    return opportunity_create(by=rep, **values)


def test_creation_keeps_the_first_amount_whatever_follows(rep):
    deal = new_deal(rep, at=at(3, 1), amount=D(10000))
    opportunity_update(
        opportunity=deal,
        by=rep,
        changes={"amount": D(12000)},
        at=at(3, 5),
        expected_version=deal.version,
    )
    assert kept(deal) == (D(10000), None, None, None) == by_definition(deal)


def test_the_first_entry_into_commit_is_kept(rep, manager):
    deal = new_deal(rep, at=at(3, 1), amount=D(10000))
    opportunity_move_stage(
        opportunity=deal,
        to_stage=Stage.NEGOTIATION,
        by=rep,
        at=at(3, 10),
        expected_version=deal.version,
    )
    opportunity_update(
        opportunity=deal,
        by=rep,
        changes={"amount": D(11000)},
        at=at(3, 12),
        expected_version=deal.version,
    )
    opportunity_move_stage(
        opportunity=deal,
        to_stage=Stage.PROPOSAL,
        by=rep,
        at=at(3, 15),
        expected_version=deal.version,
        reason_code="other",
    )
    opportunity_move_stage(
        opportunity=deal,
        to_stage=Stage.NEGOTIATION,
        by=rep,
        at=at(3, 20),
        expected_version=deal.version,
    )
    assert kept(deal) == (D(10000), D(10000), None, None) == by_definition(deal)


def test_an_entry_into_commit_without_amount_is_still_the_first(rep):
    deal = new_deal(rep, at=at(3, 1), stage=Stage.NEGOTIATION, amount=None)
    assert kept(deal) == (None, None, None, None)
    opportunity_update(
        opportunity=deal,
        by=rep,
        changes={"forecast_category": ForecastCategory.BEST_CASE},
        at=at(3, 5),
        expected_version=deal.version,
        reason_code="other",
    )
    opportunity_update(
        opportunity=deal,
        by=rep,
        changes={"forecast_category": ForecastCategory.COMMIT, "amount": D(5000)},
        at=at(3, 6),
        expected_version=deal.version,
    )
    assert kept(deal) == (None, None, None, None) == by_definition(deal)


def test_a_won_deal_keeps_its_amounts_at_the_start_of_its_month_and_quarter(rep, manager):
    deal = new_deal(rep, at=at(3, 1), amount=D(10000))
    opportunity_update(
        opportunity=deal,
        by=rep,
        changes={"amount": D(11000)},
        at=at(4, 20),
        expected_version=deal.version,
    )
    opportunity_update(
        opportunity=deal,
        by=rep,
        changes={"amount": D(12000)},
        at=at(5, 3),
        expected_version=deal.version,
    )
    opportunity_move_stage(
        opportunity=deal,
        to_stage=Stage.CLOSED_WON,
        by=rep,
        at=at(5, 10),
        expected_version=deal.version,
    )
    # Closes 05-10: at 05-01 it was 11 000, at 04-01 10 000.
    assert kept(deal) == (D(10000), None, D(11000), D(10000)) == by_definition(deal)
    # The close date moved back to April: the values at 04-01, twice.
    opportunity_update(
        opportunity=deal,
        by=manager,
        changes={"close_date": date(2025, 4, 25)},
        expected_version=deal.version,
    )
    assert kept(deal) == (D(10000), None, D(10000), D(10000)) == by_definition(deal)


def test_a_deal_created_won_and_a_reopened_deal(rep, manager):
    won = new_deal(
        rep, at=at(5, 1), stage=Stage.CLOSED_WON, amount=D(3000), close_date=date(2025, 5, 1)
    )
    # Created at noon on 05-01: after the month's start, so no amount then.
    assert kept(won) == (D(3000), None, None, None) == by_definition(won)
    opportunity_move_stage(
        opportunity=won,
        to_stage=Stage.PROPOSAL,
        by=manager,
        at=at(5, 2),
        expected_version=won.version,
        reason_code="other",
    )
    assert kept(won)[2:] == (None, None)
    lost = new_deal(rep, at=at(3, 1), amount=D(4000))
    opportunity_move_stage(
        opportunity=lost,
        to_stage=Stage.CLOSED_LOST,
        by=rep,
        loss_reason=LossReason.objects.first(),
        at=at(4, 2),
        expected_version=lost.version,
    )
    assert kept(lost) == (D(4000), None, None, None) == by_definition(lost)


def test_the_history_admin_still_shows_a_row_of_a_deal_with_several(client_for, admin_user, rep):
    # ``OpportunityHistory.same_deal`` (the join "what changed" uses) is no field to display.
    from django.urls import reverse

    deal = new_deal(rep, at=at(3, 1), amount=D(10000))
    opportunity_update(
        opportunity=deal,
        by=rep,
        changes={"amount": D(12000)},
        at=at(3, 5),
        expected_version=deal.version,
    )
    row = deal.history.order_by("version").first()
    url = reverse("admin:opportunities_opportunityhistory_change", args=[row.pk])
    response = client_for(admin_user).get(url)
    assert response.status_code == 200
    assert response.context["original"] == row
