"""The opportunity's depth (seed 004), its confirmed amount (seed 002) and the probability
guide (seed 000): on the deal, through the services, as list and board filters."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from forecasting.models import PipelineSummary
from opportunities.models import TRACKED_FIELDS, Opportunity, OpportunityHistory
from opportunities.services import StaleVersionError, opportunity_update
from tests import clock
from tests.factories import AccountFactory, OpportunityFactory
from tests.opportunities.test_kanban import _bulk_board

pytestmark = [pytest.mark.django_db, pytest.mark.dates, pytest.mark.time_machine(clock.NOW)]

LIST = reverse("opportunities:list")
BOARD = reverse("opportunities:kanban")
IN_A_MONTH = clock.today() + datetime.timedelta(days=30)


@pytest.fixture
def deals(rep):
    return {
        "demo": OpportunityFactory(
            owner=rep,
            name="Démo demandée",
            asked_demo=True,
            pain_ok=True,
            interest_ok=True,
            fit_ok=True,
            amount_confirmed=True,
            amount=Decimal(1000),
        ),
        "pricing": OpportunityFactory(
            owner=rep,
            name="Tarifs demandés",
            asked_pricing=True,
            pain_ok=True,
            amount=Decimal(2000),
        ),
        "silent": OpportunityFactory(owner=rep, name="Sans signal", amount=Decimal(3000)),
    }


def names(response) -> set[str]:
    return {deal.name for deal in response.context["opportunities"]}


def board_names(response) -> set[str]:
    return {card.name for column in response.context["columns"] for card in column.cards}


class TestFilters:
    CASES = [
        ("signal=asked_demo", {"demo"}),
        ("signal=asked_pricing", {"pricing"}),
        ("signal=any", {"demo", "pricing"}),
        ("signal=none", {"silent"}),
        ("characteristic=all", {"demo"}),
        ("characteristic=missing", {"pricing", "silent"}),
        ("characteristic=pain", {"demo", "pricing"}),
        ("unconfirmed=on", {"pricing", "silent"}),
    ]

    @pytest.mark.parametrize(("query", "expected"), CASES)
    def test_the_list_filters_on_depth(self, client_for, rep, deals, query, expected):
        response = client_for(rep).get(f"{LIST}?{query}")
        assert names(response) == {deals[key].name for key in expected}

    @pytest.mark.parametrize(("query", "expected"), CASES)
    def test_the_board_filters_on_depth(self, client_for, rep, deals, query, expected):
        response = client_for(rep).get(f"{BOARD}?{query}")
        assert board_names(response) == {deals[key].name for key in expected}

    def test_list_queries_do_not_grow_with_rows_when_filtered(
        self, client_for, rep, django_assert_max_num_queries
    ):
        client = client_for(rep)
        url = f"{LIST}?signal=asked_demo&characteristic=missing&unconfirmed=on"

        def bulk(n):
            accounts = AccountFactory.create_batch(3)
            Opportunity.objects.bulk_create(
                Opportunity(
                    name=f"Bulk {i}",
                    account=accounts[i % 3],
                    owner=rep,
                    amount=Decimal(1000 + i),
                    close_date=IN_A_MONTH,
                    created_at=timezone.now(),
                    asked_demo=True,
                )
                for i in range(n)
            )

        bulk(10)
        with CaptureQueriesContext(connection) as small:
            assert client.get(url).status_code == 200
        bulk(490)
        with django_assert_max_num_queries(len(small)):
            response = client.get(url)
        assert response.context["totals"]["count"] == 500

    def test_board_queries_do_not_grow_with_rows_when_filtered(
        self, client_for, rep, django_assert_max_num_queries
    ):
        client = client_for(rep)
        url = f"{BOARD}?signal=none&unconfirmed=on"
        _bulk_board(rep, 10)
        with CaptureQueriesContext(connection) as small:
            assert client.get(url).status_code == 200
        _bulk_board(rep, 490)
        with django_assert_max_num_queries(len(small)):
            response = client.get(url)
        assert sum(c.count for c in response.context["columns"]) == 500


class TestConfirmedAmount:
    def test_a_new_amount_needs_a_new_confirmation(self, rep):
        deal = OpportunityFactory(owner=rep, amount=Decimal(1000), amount_confirmed=True)
        result = opportunity_update(
            opportunity=deal, by=rep, changes={"amount": Decimal(1500)}, expected_version=1
        )
        assert not result.opportunity.amount_confirmed
        assert {"amount", "amount_confirmed"} <= set(result.history.changed_fields)

    def test_confirming_with_the_new_amount_keeps_it_confirmed(self, rep):
        deal = OpportunityFactory(owner=rep, amount=Decimal(1000))
        result = opportunity_update(
            opportunity=deal,
            by=rep,
            changes={"amount": Decimal(1500), "amount_confirmed": True},
            expected_version=1,
        )
        assert result.opportunity.amount_confirmed

    def test_other_changes_keep_the_confirmation(self, rep):
        deal = OpportunityFactory(owner=rep, amount=Decimal(1000), amount_confirmed=True)
        result = opportunity_update(
            opportunity=deal, by=rep, changes={"next_step": "Appeler"}, expected_version=1
        )
        assert result.opportunity.amount_confirmed

    def test_a_stale_confirmation_is_refused(self, rep, other_rep):
        deal = OpportunityFactory(owner=rep, amount=Decimal(1000))
        opportunity_update(
            opportunity=deal, by=rep, changes={"next_step": "Relancer"}, expected_version=1
        )
        with pytest.raises(StaleVersionError):
            opportunity_update(
                opportunity=deal, by=rep, changes={"amount_confirmed": True}, expected_version=1
            )
        deal.refresh_from_db()
        assert not deal.amount_confirmed and deal.version == 2

    def test_depth_changes_leave_history_and_totals_as_they_were(self, rep):
        deal = OpportunityFactory(owner=rep, amount=Decimal(1000))
        totals = list(PipelineSummary.objects.order_by("pk").values())
        result = opportunity_update(
            opportunity=deal,
            by=rep,
            changes={"asked_demo": True, "fit_ok": True, "amount_confirmed": True},
            expected_version=1,
        )
        row = result.history
        assert sorted(row.changed_fields) == ["amount_confirmed", "asked_demo", "fit_ok"]
        assert row.changes() == []  # none of them is a tracked (reported) field
        assert not {"asked_demo", "fit_ok", "amount_confirmed"} & set(TRACKED_FIELDS)
        assert list(PipelineSummary.objects.order_by("pk").values()) == totals
        assert OpportunityHistory.objects.filter(opportunity=deal).count() == 2


class TestDealPages:
    def test_the_deal_page_shows_depth_and_unconfirmed_amount(self, client_for, rep):
        deal = OpportunityFactory(
            owner=rep, pain_ok=True, pain_note="Relevés manuels", tested_trial=True
        )
        page = client_for(rep).get(reverse("opportunities:detail", args=[deal.pk]))
        text = page.content.decode()
        assert "Relevés manuels" in text
        assert "A testé une version d’essai" in text
        assert 'id="amount-unconfirmed"' in text

    def test_the_form_shows_the_probability_guide(self, client_for, rep):
        deal = OpportunityFactory(owner=rep)
        text = client_for(rep).get(reverse("opportunities:edit", args=[deal.pk])).content.decode()
        assert "25\u00a0%\u00a0: le contact semble plutôt explorer nos solutions" in text
        assert "50\u00a0%\u00a0: le contact a besoin de solutions comme les nôtres" in text
        assert "75\u00a0%\u00a0: le contact est convaincu sur le principe" in text

    def test_the_form_saves_signals_and_confirmation(self, client_for, rep):
        deal = OpportunityFactory(owner=rep, name="Avant", amount=Decimal(5000))
        client = client_for(rep)
        form = client.get(reverse("opportunities:edit", args=[deal.pk])).context["form"]
        data = {k: v for k, v in form.initial.items() if v is not None and v is not False}
        data.update(asked_pricing="on", amount_confirmed="on", interest_note="Veut agir vite")
        data["close_date"] = deal.close_date.isoformat()
        response = client.post(reverse("opportunities:edit", args=[deal.pk]), data)
        assert response.status_code == 302
        deal.refresh_from_db()
        assert deal.asked_pricing and deal.amount_confirmed
        assert deal.interest_note == "Veut agir vite" and deal.version == 2
