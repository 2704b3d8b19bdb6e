import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from leads.models import Lead
from opportunities.history import as_datetime
from opportunities.models import Stage
from opportunities.services import opportunity_create, opportunity_update
from pipeline_reviews import selectors, services
from pipeline_reviews.models import ReviewKind
from pipeline_reviews.periods import add_months
from tests import clock
from tests.factories import AccountFactory, LeadFactory
from tests.factories.reviews import ReviewFactory

pytestmark = [pytest.mark.django_db, pytest.mark.dates, pytest.mark.time_machine(clock.NOW)]


def at(day: datetime.date, hour: int = 10) -> datetime.datetime:
    return as_datetime(day) + datetime.timedelta(hours=hour)


@pytest.fixture
def cm_fixture(channel, rep, partner_a, partner_b, last_month, this_month):
    """Deals, commits and leads around last month, written with backdated history."""
    account = AccountFactory()
    before = last_month - datetime.timedelta(days=10)
    x = opportunity_create(
        by=rep,
        at=at(before),
        name="X",
        account=account,
        partner=partner_a,
        owner=rep,
        stage=Stage.QUALIFICATION,
        amount=Decimal("10000"),
        close_date=this_month,
    )
    opportunity_update(
        opportunity=x,
        by=rep,
        at=at(last_month + datetime.timedelta(days=5)),
        changes={"stage": Stage.NEGOTIATION, "probability": 80},
        expected_version=x.version,
    )
    y = opportunity_create(
        by=rep,
        at=at(before),
        name="Y",
        account=account,
        partner=partner_a,
        owner=rep,
        stage=Stage.PROPOSAL,
        amount=Decimal("20000"),
        close_date=this_month,
    )
    opportunity_update(
        opportunity=y,
        by=rep,
        at=at(last_month + datetime.timedelta(days=8)),
        changes={"stage": Stage.CLOSED_WON},
        expected_version=y.version,
    )
    opportunity_create(
        by=rep,
        at=at(last_month + datetime.timedelta(days=3)),
        name="Z",
        account=account,
        partner=partner_b,
        owner=rep,
        stage=Stage.QUALIFICATION,
        amount=Decimal("5000"),
        close_date=this_month,
    )
    opportunity_create(
        by=rep,
        at=timezone.now(),
        name="W",
        account=account,
        partner=partner_a,
        owner=rep,
        stage=Stage.NEGOTIATION,
        probability=90,
        amount=Decimal("70000"),
        close_date=this_month,
    )
    ReviewFactory(
        partner=partner_a, period_start=add_months(last_month, -1), commit_amount=Decimal("15000")
    )
    ReviewFactory(partner=partner_a, period_start=last_month, commit_amount=Decimal("30000"))
    ReviewFactory(partner=partner_b, period_start=last_month, commit_amount=Decimal("5000"))
    in_period = at(last_month + datetime.timedelta(days=2))
    for partner, origin in (
        (partner_a, "rs"),
        (partner_a, "bp"),
        (partner_b, "bp"),
        (partner_a, "bp"),
    ):
        lead = LeadFactory(partner=partner, origin=origin)
        Lead.objects.filter(pk=lead.pk).update(created_at=in_period)
    LeadFactory(partner=partner_a, origin="bp")  # this month: not counted


def test_channel_manager_review_against_the_previous_month(
    cm_fixture, manager, channel, partner_a, partner_b, last_month
):
    review = services.review_create(by=manager, kind=ReviewKind.CHANNEL_MANAGER, period=last_month)
    data = selectors.channel_manager.channel_manager_review_data(review=review)
    assert [m["id"] for m in data["managers"]] == [channel.pk]
    figures = data["managers"][0]
    by_stage = {row["stage"]: row for row in figures["by_stage"]}
    assert (by_stage["qualification"]["count"], by_stage["qualification"]["total"]) == (
        1,
        "5000.00",
    )
    assert (by_stage["qualification"]["prev_count"], by_stage["qualification"]["prev_total"]) == (
        1,
        "10000.00",
    )
    assert (by_stage["proposal"]["count"], by_stage["proposal"]["prev_count"]) == (0, 1)
    assert by_stage["proposal"]["delta_total"] == "-20000.00"
    assert (by_stage["negotiation"]["count"], by_stage["negotiation"]["total"]) == (1, "10000.00")
    assert by_stage["negotiation"]["prev_count"] == 0
    assert figures["won"] == "20000.00"
    assert figures["previous_commit"] == "15000.00"
    assert figures["new_commit"] == "35000.00"
    assert (figures["leads_rs"], figures["leads_bp"]) == (1, 3)

    partners = {p["id"]: p for p in figures["partners"]}
    hot_a = partners[partner_a.pk]
    assert [(r["stage"], r["count"], r["total"], r["prev_count"]) for r in hot_a["by_stage"]] == [
        ("negotiation", 1, "10000.00", 0)
    ]
    assert hot_a["won"] == "20000.00"
    assert (hot_a["previous_commit"], hot_a["new_commit"]) == ("15000.00", "30000.00")
    assert {d["name"] for d in hot_a["deals"]} == {"X", "W"}  # live list of the deals in play
    hot_b = partners[partner_b.pk]
    assert hot_b["previous_commit"] is None and hot_b["new_commit"] == "5000.00"
    assert hot_b["by_stage"][0]["count"] == 0
    assert (hot_b["leads_rs"], hot_b["leads_bp"]) == (0, 1)


def test_closing_the_channel_manager_review_freezes_its_figures(cm_fixture, manager, last_month):
    review = services.review_create(by=manager, kind=ReviewKind.CHANNEL_MANAGER, period=last_month)
    services.review_close(review=review, by=manager)
    frozen = review.snapshot.data
    assert frozen["managers"][0]["won"] == "20000.00"
    recap = selectors.review_recap(user=manager, review=review)
    assert recap["managers"][0]["by_stage"] == frozen["managers"][0]["by_stage"]
    assert recap["managers"][0]["won"] == frozen["managers"][0]["won"]


def test_backdated_close_reads_the_pipeline_from_the_history(
    cm_fixture, channel, partner_a, last_month
):
    review = services.review_create(
        by=channel,
        kind=ReviewKind.MONTHLY_PARTNER,
        partner=partner_a,
        period=add_months(last_month, 1),
    )
    moment = at(last_month + datetime.timedelta(days=1))
    data = selectors.monthly.monthly_recap_data(user=channel, review=review, as_of=moment)
    by_stage = {row["stage"]: row for row in data["by_stage"]}
    assert (by_stage["qualification"]["count"], by_stage["proposal"]["count"]) == (1, 1)
    assert by_stage["negotiation"]["count"] == 0
    assert {d["name"] for d in data["deals"]} == {"X", "Y"}


class TestQuarterlySalesVisits:
    def test_visits_of_the_partners_deals_and_leads_count_once_each(
        self, partner_a, partner_b, rep
    ):
        from activities.models import ActivityKind
        from tests.factories import ActivityFactory, OpportunityFactory

        held = {"done": True, "done_at": at(clock.today())}
        deal = OpportunityFactory(owner=rep, partner=partner_a)
        lead = LeadFactory(partner=partner_a)
        other_deal = OpportunityFactory(owner=rep, partner=partner_b)
        other_lead = LeadFactory(partner=partner_b)

        def visit(**links):
            return ActivityFactory(kind=ActivityKind.SALES_VISIT, **links, **held)

        visit(opportunity=deal)
        visit(lead=lead)
        visit(opportunity=deal, lead=lead)  # both the partner's: once
        visit(opportunity=other_deal, lead=lead)  # the partner's lead, another's deal
        visit(opportunity=deal, lead=other_lead)  # the partner's deal, another's lead
        visit(opportunity=other_deal)
        visit(lead=other_lead)
        ActivityFactory(kind=ActivityKind.CALL, opportunity=deal, **held)

        start = clock.today().replace(day=1)
        visits = selectors.quarterly.sales_visits(
            partner_id=partner_a.pk,
            periods={
                "month": (start, add_months(start, 1)),
                "before": (add_months(start, -1), start),
            },
        )
        assert visits == {
            "month": {"held": 5, "planned": 0},
            "before": {"held": 0, "planned": 0},
        }
        figures = selectors.quarterly.business_figures(
            partner_id=partner_a.pk, start=start, end=add_months(start, 1)
        )
        assert figures["visits"] == 5
