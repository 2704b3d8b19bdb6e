"""A period boundary is the installation's (Europe/Zurich), on every page and in every total.

A deal created, moved and won in the first minutes of a month in Zurich (the evening before
in UTC), at the end of a quarter, on 29 February or in the hour the clocks go back, counts in
the month and quarter of Zurich: its close date, the forecast, the metrics' running totals and
the deals' own rows (partner users read those), "what changed", the monthly rows of the
deals, the reviews' figures and the partner's business plan. Each test runs at every moment
of ``tests.clock.MOMENTS`` and at the session's moment (``CLIMCRM_TEST_NOW`` or now).
"""

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone

from climcrm.periods import MONTH, QUARTER, period_containing
from forecasting import reports
from forecasting.models import MonthChange, PipelineSummary
from forecasting.scopes import PARTNER, Scope
from forecasting.summaries import CLOSED, CREATED, STAY
from opportunities.models import Stage
from opportunities.services import opportunity_create, opportunity_move_stage
from partners.selectors import business_plan
from pipeline_reviews.models import ReviewKind
from pipeline_reviews.selectors.channel_manager import channel_manager_review_data
from pipeline_reviews.selectors.quarterly import business_figures
from tests import clock
from tests.factories import AccountFactory
from tests.factories.leads import PartnerLeadFactory
from tests.factories.partners import DealRegistrationFactory
from tests.factories.reviews import ReviewFactory

pytestmark = [pytest.mark.django_db, pytest.mark.dates]

AMOUNT = Decimal("4321.00")
MOMENTS = {**clock.MOMENTS, "session": clock.NOW}


@pytest.fixture(params=list(MOMENTS), ids=list(MOMENTS))
def moment(request):
    """The clock at one of the moments (ticking from there)."""
    with time_machine.travel(MOMENTS[request.param], tick=True):
        yield timezone.now()


@pytest.fixture
def won_at_the_moment(moment, rep, partner_a, channel):
    """A deal of partner A created two minutes before the moment, moved to Negotiation a
    minute later and won at the moment (its close date left as it was: closing sets it to the
    day it closed), a lead of the partner and a registration submitted then."""
    deal = opportunity_create(
        by=rep,
        account=AccountFactory(),
        name="Frontière",
        amount=AMOUNT,
        close_date=clock.today() + timedelta(days=200),
        partner=partner_a,
        at=moment - timedelta(minutes=2),
    )
    opportunity_move_stage(
        opportunity=deal,
        to_stage=Stage.NEGOTIATION,
        by=rep,
        expected_version=deal.version,
        at=moment - timedelta(minutes=1),
    )
    deal.refresh_from_db()
    opportunity_move_stage(
        opportunity=deal,
        to_stage=Stage.CLOSED_WON,
        by=rep,
        expected_version=deal.version,
        close_date=deal.close_date,
        at=moment,
    )
    deal.refresh_from_db()
    PartnerLeadFactory(partner=partner_a)
    DealRegistrationFactory(partner=partner_a)
    return deal


def local_day(moment):
    return clock.local(moment).date()


def test_closing_dates_the_deal_on_the_local_day(won_at_the_moment, moment):
    assert won_at_the_moment.close_date == local_day(moment)


def test_the_running_totals_count_the_deal_in_the_local_month(won_at_the_moment, moment):
    month = local_day(moment).replace(day=1)
    for kind in (CREATED, CLOSED, STAY):
        months = set(PipelineSummary.objects.filter(kind=kind).values_list("month", flat=True))
        assert months == {month}, kind
    assert set(MonthChange.objects.values_list("month", flat=True)) == {month}


def test_the_forecast_counts_the_deal_in_the_local_quarter(
    won_at_the_moment, moment, manager, partner_a, partner_a_user
):
    quarter = period_containing(QUARTER, local_day(moment))
    for user in (manager, partner_a_user):
        scope = Scope(PARTNER, partner_a.pk)
        assert (
            reports.forecast.scope_forecast(user=user, period=quarter, scope=scope)["closed"]
            == AMOUNT
        )
        before = reports.forecast.scope_forecast(user=user, period=quarter.previous(), scope=scope)
        assert before["closed"] == 0


def test_the_metrics_count_the_deal_in_the_local_month(
    won_at_the_moment, moment, manager, partner_a, partner_a_user
):
    """Internal users read the running totals, partner users the deals and their history:
    both put the deal in the same month."""
    month = period_containing(MONTH, local_day(moment))
    scope = Scope(PARTNER, partner_a.pk)
    for user in (manager, partner_a_user):
        rows = {row["key"]: row for row in reports.metrics.trends(user=user, scope=scope)["rows"]}
        assert rows[month.key]["created_count"] == 1, user
        assert rows[month.key]["won_amount"] == AMOUNT, user
        assert rows[month.previous().key]["created_count"] == 0, user
        stays, cycle = reports.metrics.velocity(user=user, period=month, scope=scope)
        assert {row["stage"]: row["count"] for row in stays}[Stage.QUALIFICATION] == 1, user
        assert cycle[Stage.CLOSED_WON]["count"] == 1, user
        stays, cycle = reports.metrics.velocity(user=user, period=month.previous(), scope=scope)
        assert not cycle, user


def test_what_changed_counts_the_deal_in_the_local_month(won_at_the_moment, moment, manager):
    today = local_day(moment)
    month = period_containing(MONTH, today)
    for months in (True, False):  # the monthly rows, and the history
        changes = reports.changes.what_changed(
            user=manager, start_day=month.start, end_day=today, scope=Scope(), months=months
        )
        assert changes["new"]["count"] == 1
        assert changes["won"] == {"count": 1, "amount": AMOUNT}
        before = reports.changes.what_changed(
            user=manager,
            start_day=month.previous().start,
            end_day=month.previous().last_day,
            scope=Scope(),
            months=months,
        )
        assert before["new"]["count"] == before["won"]["count"] == 0


def test_the_reviews_count_the_deal_in_the_local_month_and_quarter(
    won_at_the_moment, moment, partner_a
):
    today = local_day(moment)
    month = period_containing(MONTH, today)
    review = ReviewFactory(kind=ReviewKind.CHANNEL_MANAGER, partner=None, period_start=month.start)
    (manager_row,) = channel_manager_review_data(review=review)["managers"]
    figures = {row["id"]: row for row in manager_row["partners"]}[partner_a.pk]
    assert Decimal(figures["won"]) == AMOUNT
    assert figures["leads_bp"] == 1
    quarter = period_containing(QUARTER, today)
    business = business_figures(partner_id=partner_a.pk, start=quarter.start, end=quarter.end)
    assert (business["won"], Decimal(business["revenue"]), business["leads"]) == (1, AMOUNT, 1)
    earlier = quarter.previous()
    business = business_figures(partner_id=partner_a.pk, start=earlier.start, end=earlier.end)
    assert (business["won"], business["leads"]) == (0, 0)


def test_the_business_plan_counts_the_deal_and_registration_in_the_local_quarter(
    won_at_the_moment, moment, partner_a
):
    today = local_day(moment)
    quarter = (today.month - 1) // 3 + 1
    rows = {row["quarter"]: row for row in business_plan(partner=partner_a, year=today.year)}
    assert rows[quarter]["won_revenue"] == AMOUNT
    assert rows[quarter]["registrations"] == 1
    assert sum(row["registrations"] for row in rows.values()) == 1
