"""The deal-by-deal step shows each deal's depth (seed 004) and its unconfirmed amount
(seed 002), and confirms an amount through the deal service with the version read."""

from decimal import Decimal

import pytest
from django.urls import reverse

from opportunities.models import ForecastCategory, Stage
from pipeline_reviews import services
from pipeline_reviews.models import ReviewKind
from tests import clock
from tests.factories import OpportunityFactory

pytestmark = [pytest.mark.django_db, pytest.mark.dates, pytest.mark.time_machine(clock.NOW)]
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def review_a(channel, partner_a, this_month):
    return services.review_create(
        by=channel, kind=ReviewKind.MONTHLY_PARTNER, partner=partner_a, period=this_month
    )


def url(name, review, *args):
    return reverse(f"pipeline_reviews:{name}", args=[review.pk, *args])


@pytest.fixture
def deal(partner_a, rep):
    return OpportunityFactory(
        name="Pompe à chaleur Sion",
        partner=partner_a,
        owner=rep,
        amount=Decimal("10000"),
        pain_ok=True,
        pain_note="Factures de chauffage en hausse",
        asked_pricing=True,
    )


class TestDealByDeal:
    def test_the_panel_shows_depth_signals_and_the_unconfirmed_amount(
        self, client_for, channel, review_a, deal
    ):
        response = client_for(channel).get(url("deal-panel", review_a) + "?position=1", **HTMX)
        text = response.content.decode()
        assert 'id="deal-qualification"' in text
        assert "Factures de chauffage en hausse" in text
        assert "A demandé les tarifs" in text
        assert 'id="review-amount-unconfirmed"' in text
        assert "25\u00a0%\u00a0: le contact semble plutôt explorer nos solutions" in text

    def test_a_confirmed_amount_is_not_flagged(self, client_for, channel, review_a, deal):
        deal.amount_confirmed = True
        deal.save(update_fields=["amount_confirmed"])
        response = client_for(channel).get(url("deal-panel", review_a) + "?position=1", **HTMX)
        assert 'id="review-amount-unconfirmed"' not in response.content.decode()

    def test_the_review_confirms_the_amount_with_the_version_read(
        self, client_for, channel, review_a, deal
    ):
        data = {
            "version": deal.version,
            "stage": Stage.QUALIFICATION,
            "amount": "10000",
            "amount_confirmed": "on",
            "probability": "10",
            "close_date": deal.close_date.isoformat(),
            "forecast_category": ForecastCategory.PIPELINE,
            "position": "1",
        }
        response = client_for(channel).post(url("deal", review_a, deal.pk), data, **HTMX)
        assert response.status_code == 200
        deal.refresh_from_db()
        assert deal.amount_confirmed and deal.version == 2
        row = deal.history.order_by("-version").first()
        assert row.tag == f"review:{review_a.pk}" and "amount_confirmed" in row.changed_fields
        # The same page sent again carries a stale version: refused, nothing written.
        response = client_for(channel).post(
            url("deal", review_a, deal.pk), {**data, "amount_confirmed": ""}, **HTMX
        )
        assert response.status_code == 409
        deal.refresh_from_db()
        assert deal.amount_confirmed and deal.version == 2
