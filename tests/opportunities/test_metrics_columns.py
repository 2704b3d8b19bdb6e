"""The stage machine keeps how far a deal went and when each stay began, and the migration
computes both from the history of deals written before them."""

import datetime
import importlib
from decimal import Decimal

import pytest
from django.apps import apps
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from opportunities.models import (
    LossReason,
    Opportunity,
    OpportunityHistory,
    ReasonCode,
    Stage,
    ladder_rank,
)
from opportunities.services import opportunity_create, opportunity_move_stage
from tests import clock
from tests.factories import AccountFactory

pytestmark = [pytest.mark.django_db, pytest.mark.dates, pytest.mark.time_machine(clock.NOW)]

IN_A_MONTH = clock.today() + datetime.timedelta(days=30)
backfill_module = importlib.import_module("opportunities.migrations.0008_metrics_summary_columns")


def create(by, when, **values):
    values = {"name": "Chaudière", "account": AccountFactory(), "close_date": IN_A_MONTH} | values
    values.setdefault("amount", Decimal("20000"))
    return opportunity_create(by=by, at=when, **values)


def move(deal, stage, by, when, **extra):
    return opportunity_move_stage(
        opportunity=deal,
        to_stage=stage,
        by=by,
        at=when,
        **{"reason_code": "other", **extra},
        expected_version=deal.version,
    )


def exits(deal):
    return [
        (row.prev_stage, row.prev_stage_entered_at)
        for row in OpportunityHistory.objects.filter(opportunity=deal).order_by("version")
        if row.prev_stage_entered_at is not None
    ]


class Editor:
    """What the backfill uses of a schema editor (SQLite refuses one inside a test)."""

    connection = connection

    def execute(self, sql):
        with connection.cursor() as cursor:
            cursor.execute(sql)


@pytest.fixture
def start():
    return timezone.now() - datetime.timedelta(days=60)


@pytest.fixture
def price():
    return LossReason.objects.get(code="price")


def test_ranks_follow_the_ladder_lost_aside():
    assert [ladder_rank(stage) for stage in Stage.values] == [1, 2, 3, 4, 5, 0]


def test_creation_sets_the_rank_of_the_first_stage(rep, start, price):
    assert create(rep, start).furthest_rank == 1
    assert create(rep, start, stage=Stage.PROPOSAL).furthest_rank == 3
    lost = create(rep, start, stage=Stage.CLOSED_LOST, loss_reason=price)
    assert lost.furthest_rank == 0
    assert create(rep, start, stage=Stage.CLOSED_WON).furthest_rank == 5


def test_advancing_raises_and_moving_back_keeps_the_furthest_stage(rep, start, price):
    deal = create(rep, start)
    day = datetime.timedelta(days=1)
    move(deal, Stage.PROPOSAL, rep, start + day)
    deal.refresh_from_db()
    assert deal.furthest_rank == 3
    move(deal, Stage.QUALIFICATION, rep, start + 2 * day)
    deal.refresh_from_db()
    assert deal.furthest_rank == 3
    move(deal, Stage.CLOSED_LOST, rep, start + 3 * day, loss_reason=price)
    deal.refresh_from_db()
    assert deal.furthest_rank == 3


def test_reopening_a_lost_deal_and_winning_it(rep, manager, start, price):
    deal = create(rep, start, stage=Stage.CLOSED_LOST, loss_reason=price)
    day = datetime.timedelta(days=1)
    move(deal, Stage.QUALIFICATION, manager, start + day)
    deal.refresh_from_db()
    assert deal.furthest_rank == 1
    move(deal, Stage.CLOSED_WON, manager, start + 2 * day)
    deal.refresh_from_db()
    assert deal.furthest_rank == 5
    # Reopened after the win, it still went that far.
    move(deal, Stage.NEEDS_ANALYSIS, manager, start + 3 * day)
    deal.refresh_from_db()
    assert deal.furthest_rank == 5


def test_each_row_leaving_an_open_stage_carries_when_the_stay_began(rep, manager, start):
    deal = create(rep, start)
    t1, t2, t3, t4, t5 = (start + datetime.timedelta(days=d) for d in (3, 5, 8, 9, 12))
    move(deal, Stage.NEEDS_ANALYSIS, rep, t1)
    deal.refresh_from_db()
    from opportunities.services import opportunity_update

    opportunity_update(
        opportunity=deal,
        by=rep,
        changes={"amount": Decimal("1")},
        at=t2,
        expected_version=deal.version,
        reason_code="other",
    )
    move(deal, Stage.PROPOSAL, rep, t3)
    move(deal, Stage.CLOSED_WON, rep, t4)
    move(deal, Stage.NEGOTIATION, manager, t5)  # leaves a closed stage: not a stay
    assert exits(deal) == [
        (Stage.QUALIFICATION, start),
        (Stage.NEEDS_ANALYSIS, t1),
        (Stage.PROPOSAL, t3),
    ]


def test_board_and_admin_moves_keep_the_columns(client_for, rep, admin_user):
    deal = create(rep, timezone.now() - datetime.timedelta(days=3))
    entered = deal.stage_changed_at
    response = client_for(rep).post(
        reverse("opportunities:kanban-move", args=[deal.pk]),
        {"stage": Stage.NEGOTIATION, "version": deal.version},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    deal.refresh_from_db()
    assert (deal.stage, deal.furthest_rank) == (Stage.NEGOTIATION, 4)
    assert exits(deal) == [(Stage.QUALIFICATION, entered)]

    from tests.opportunities.test_admin import admin_data

    url = reverse("admin:opportunities_opportunity_change", args=[deal.pk])
    response = client_for(admin_user).post(
        url,
        admin_data(
            deal, stage=Stage.NEEDS_ANALYSIS, reason_code=ReasonCode.objects.get(code="other").pk
        ),
    )
    assert response.status_code == 302
    deal.refresh_from_db()
    assert (deal.stage, deal.furthest_rank) == (Stage.NEEDS_ANALYSIS, 4)
    assert [stage for stage, _ in exits(deal)] == [Stage.QUALIFICATION, Stage.NEGOTIATION]


def test_the_migration_computes_both_from_the_history(rep, manager, start, price):
    day = datetime.timedelta(days=1)
    climbed = create(rep, start)
    move(climbed, Stage.NEGOTIATION, rep, start + day)
    move(climbed, Stage.NEEDS_ANALYSIS, rep, start + 4 * day)
    move(climbed, Stage.CLOSED_LOST, rep, start + 6 * day, loss_reason=price)
    won = create(rep, start, stage=Stage.PROPOSAL)
    move(won, Stage.CLOSED_WON, rep, start + 2 * day)
    lost = create(rep, start, stage=Stage.CLOSED_LOST, loss_reason=price)
    deals = [climbed, won, lost]
    expected = {
        deal.pk: (Opportunity.objects.get(pk=deal.pk).furthest_rank, exits(deal)) for deal in deals
    }
    assert [expected[deal.pk][0] for deal in deals] == [4, 5, 0]

    # As the rows stood before the columns existed.
    Opportunity.objects.update(furthest_rank=0)
    OpportunityHistory.objects.update(prev_stage_entered_at=None)
    backfill_module.backfill(apps, Editor())

    assert {
        deal.pk: (Opportunity.objects.get(pk=deal.pk).furthest_rank, exits(deal)) for deal in deals
    } == expected
    assert expected[climbed.pk][1] == [
        (Stage.QUALIFICATION, start),
        (Stage.NEGOTIATION, start + day),
        (Stage.NEEDS_ANALYSIS, start + 4 * day),
    ]
