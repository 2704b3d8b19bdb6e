"""Forecast accuracy reads each won deal's estimate from amounts kept on the deal.

The reference is the definition over the history: the amount when the deal first entered
Commit, else at the start of its period, else at its creation.
"""

from datetime import date
from decimal import Decimal

import pytest

from climcrm.periods import MONTH, QUARTER, YEAR, last_periods, period_containing
from forecasting import reports
from forecasting.scopes import Scope
from opportunities.history import values_as_of
from opportunities.models import ForecastCategory, Stage
from tests.opportunities.test_accuracy_amounts import by_definition, kept

ZERO = Decimal(0)


def estimate_by_definition(deal, period) -> Decimal:
    rows = list(deal.history.order_by("version"))
    for row in rows:
        if (
            row.forecast_category == ForecastCategory.COMMIT
            and row.prev_forecast_category != ForecastCategory.COMMIT
        ):
            if row.amount is not None:
                return row.amount
            break
    at_start = values_as_of(period.start_moment()).filter(opportunity=deal).first()
    if at_start is not None and at_start.amount is not None:
        return at_start.amount
    return rows[0].amount if rows[0].amount is not None else ZERO


def test_the_book_keeps_the_amounts_of_the_definition(book):
    for deal in book.deals.values():
        assert kept(deal) == by_definition(deal), deal.name


@pytest.mark.parametrize("kind", [MONTH, QUARTER, YEAR])
def test_estimates_match_the_definition(book, manager, kind):
    periods = last_periods(kind, 6 if kind == MONTH else 2, today=date(2025, 7, 15))
    rows = reports.accuracy.won_estimates(user=manager, periods=periods, scope=Scope())
    won = [d for d in book.deals.values() if d.stage == Stage.CLOSED_WON]
    assert won
    for index, period in enumerate(periods):
        deals = [d for d in won if period.start <= d.close_date < period.end]
        expected = sum((estimate_by_definition(d, period) for d in deals), ZERO)
        assert rows.get(index, {}).get("estimated", ZERO) == expected, period
        listed = reports.accuracy.accuracy_deals(user=manager, period=period, scope=Scope())
        assert {d.pk: d.estimate for d in listed} == {
            d.pk: estimate_by_definition(d, period) for d in deals
        }


def test_the_estimate_falls_back_to_the_period_start_then_to_creation(book, manager):
    from opportunities.services import (
        opportunity_create,
        opportunity_move_stage,
        opportunity_update,
    )
    from tests.factories import AccountFactory
    from tests.forecasting.conftest import at

    # Never in Commit: 5 000 on 04-01, 6 000 on 05-01.
    early = opportunity_create(
        by=manager,
        at=at(3, 20),
        account=AccountFactory(),
        name="early",
        amount=Decimal(5000),
        close_date=date(2025, 5, 20),
    )
    opportunity_update(
        opportunity=early,
        by=manager,
        changes={"amount": Decimal(6000)},
        at=at(4, 10),
        expected_version=early.version,
    )
    opportunity_move_stage(
        opportunity=early,
        to_stage=Stage.CLOSED_WON,
        by=manager,
        amount=Decimal(6500),
        at=at(5, 12),
        expected_version=early.version,
    )
    # Created in May: its first amount.
    late = opportunity_create(
        by=manager,
        at=at(5, 5),
        account=AccountFactory(),
        name="late",
        amount=Decimal(2000),
        close_date=date(2025, 5, 25),
    )
    opportunity_move_stage(
        opportunity=late,
        to_stage=Stage.CLOSED_WON,
        by=manager,
        amount=Decimal(2500),
        at=at(5, 13),
        expected_version=late.version,
    )

    def estimates(kind):
        period = period_containing(kind, date(2025, 5, 1))
        return {
            d.name: d.estimate
            for d in reports.accuracy.accuracy_deals(user=manager, period=period, scope=Scope())
        }

    # "won" entered Commit at 10 000 (03-20).
    assert estimates(MONTH) == {
        "won": Decimal(10000),
        "early": Decimal(6000),
        "late": Decimal(2000),
    }
    assert estimates(QUARTER) == {
        "won": Decimal(10000),
        "early": Decimal(5000),
        "late": Decimal(2000),
    }
