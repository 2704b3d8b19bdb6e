"""The list's and the board's totals are one computation (``opportunities.amounts.deal_totals``)
and give, to the last digit, what a plain aggregate over the same deals gives."""

import datetime
from decimal import Decimal

import pytest
from django.db.models import Count, DecimalField, Sum, Value
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone

from opportunities.amounts import weighted_amount_expression
from opportunities.kanban import board_queryset, closed_since
from opportunities.models import CLOSED_STAGES, ForecastCategory, LossReason, Opportunity, Stage
from opportunities.selectors import opportunity_list
from tests import clock
from tests.factories import OpportunityFactory

pytestmark = [pytest.mark.django_db, pytest.mark.dates, pytest.mark.time_machine(clock.NOW)]

LIST = reverse("opportunities:list")
BOARD = reverse("opportunities:kanban")

# Amounts with odd cents and probabilities that do not divide them evenly: a weighted amount
# rounded on the way, or divided per deal as an integer, would differ in its last digits.
AMOUNTS = [Decimal("1001.00"), Decimal("333.33"), None, Decimal("0.01"), Decimal("98765.43")]
PROBABILITIES = [10, 25, 33, 50, 75, 90, 1]


def plain_totals(queryset) -> dict:
    zero = Value(Decimal(0))
    return queryset.order_by().aggregate(
        count=Count("pk"),
        total=Coalesce(Sum("amount"), zero, output_field=DecimalField()),
        weighted=Coalesce(Sum(weighted_amount_expression()), zero, output_field=DecimalField()),
    )


@pytest.fixture
def deals(rep, other_rep, partner_a, partner_b):
    """Open deals of every stage, owner and partner; deals closed lately and long ago."""
    owners, partners = [rep, other_rep], [None, partner_a, partner_b]
    made = []
    n = 0
    for stage, probability_offset in (
        (Stage.QUALIFICATION, 0),
        (Stage.NEEDS_ANALYSIS, 1),
        (Stage.PROPOSAL, 2),
        (Stage.NEGOTIATION, 3),
    ):
        for _ in range(7):
            made.append(
                OpportunityFactory(
                    owner=owners[n % 2],
                    partner=partners[n % 3],
                    stage=stage,
                    amount=AMOUNTS[n % len(AMOUNTS)],
                    probability=PROBABILITIES[(n + probability_offset) % len(PROBABILITIES)],
                    close_date=timezone.localdate() + datetime.timedelta(days=n - 10),
                )
            )
            n += 1
    reason = LossReason.objects.get(code="price")
    category = {
        Stage.CLOSED_WON: ForecastCategory.CLOSED,
        Stage.CLOSED_LOST: ForecastCategory.OMITTED,
    }
    for days_ago in (3, 40, 200, 400):
        for index, (stage, probability) in enumerate(
            ((Stage.CLOSED_WON, 100), (Stage.CLOSED_LOST, 0))
        ):
            deal = OpportunityFactory(
                owner=owners[index],
                partner=partners[days_ago % 3],
                stage=stage,
                probability=probability,
                amount=Decimal("1234.57") + days_ago,
                forecast_category=category[stage],
                loss_reason=reason if stage == Stage.CLOSED_LOST else None,
            )
            Opportunity.objects.filter(pk=deal.pk).update(
                closed_at=timezone.now() - datetime.timedelta(days=days_ago)
            )
            made.append(deal)
    return made


class FakeRequest:
    def __init__(self, user):
        self.user = user


def list_params(rep, partner_a) -> list[dict]:
    return [
        {},
        {"status": "all"},
        {"status": "won"},
        {"status": "lost"},
        {"stage": ["proposal", "closed_won"]},
        {"owner": str(rep.pk)},
        {"partner": str(partner_a.pk)},
        {"direct": "on"},
        {"amount_min": "500"},
        {"status": "all", "attention": "on"},
    ]


class TestListTotals:
    def test_list_totals_equal_a_plain_aggregate_for_every_filter(
        self, client_for, deals, manager, rep, partner_a
    ):
        client = client_for(manager)
        for params in list_params(rep, partner_a):
            response = client.get(LIST, params)
            _filterset, queryset, _ordering = opportunity_list(
                user=manager, params=response.wsgi_request.GET, request=FakeRequest(manager)
            )
            expected = plain_totals(queryset)
            assert expected["count"], params  # each case adds something up
            assert response.context["totals"] == expected, params

    def test_partner_user_totals_are_their_partners_deals_only(
        self, client_for, deals, partner_a_user, partner_a
    ):
        for params in ({}, {"status": "all"}, {"status": "won"}):
            response = client_for(partner_a_user).get(LIST, params)
            expected = plain_totals(
                Opportunity.objects.filter(partner=partner_a).filter(
                    **{
                        "": {"stage__in": Stage.values[:4]},
                        "all": {},
                        "won": {"stage": Stage.CLOSED_WON},
                    }[params.get("status", "")]
                )
            )
            assert response.context["totals"] == expected, params

    def test_no_deal_gives_zeros(self, client_for, manager):
        totals = client_for(manager).get(LIST).context["totals"]
        assert totals == {"count": 0, "total": Decimal(0), "weighted": Decimal(0)}


def board_params(rep, partner_a) -> list[dict]:
    return [{}, {"owner": str(rep.pk)}, {"partner": str(partner_a.pk)}, {"channel": "on"}]


class TestBoardTotals:
    def check_board(self, client, user, params):
        response = client.get(BOARD, params)
        queryset, _filter = board_queryset(
            user=user, data=response.wsgi_request.GET, request=FakeRequest(user)
        )
        for column in response.context["columns"]:
            in_column = queryset.filter(stage=column.stage)
            if column.stage in CLOSED_STAGES:
                in_column = in_column.filter(closed_at__gte=closed_since())
            expected = plain_totals(in_column)
            shown = {"count": column.count, "total": column.total, "weighted": column.weighted}
            assert shown == expected, (params, column.stage)
        return response

    def test_board_columns_equal_a_plain_aggregate_per_stage(
        self, client_for, deals, manager, rep, partner_a
    ):
        client = client_for(manager)
        for params in board_params(rep, partner_a):
            self.check_board(client, manager, params)

    def test_partner_user_board_columns_equal_a_plain_aggregate(
        self, client_for, deals, partner_a_user
    ):
        self.check_board(client_for(partner_a_user), partner_a_user, {})

    def test_board_and_list_give_the_same_open_totals(self, client_for, deals, manager, rep):
        client = client_for(manager)
        for params in ({}, {"owner": str(rep.pk)}):
            columns = client.get(BOARD, params).context["columns"]
            listed = client.get(LIST, params).context["totals"]
            open_columns = [column for column in columns if not column.is_closed]
            assert listed == {
                "count": sum(column.count for column in open_columns),
                "total": sum(column.total for column in open_columns),
                "weighted": sum(column.weighted for column in open_columns),
            }
