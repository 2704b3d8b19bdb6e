"""The stage machine, one rule per row (SPEC.md, Opportunity)."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from opportunities.models import (
    ForecastCategory,
    LossReason,
    Opportunity,
    OpportunityHistory,
    Stage,
    StageSetting,
)
from opportunities.services import (
    opportunity_create,
    opportunity_move_stage,
    opportunity_update,
)
from tests import clock
from tests.factories import AccountFactory

pytestmark = [pytest.mark.django_db, pytest.mark.dates, pytest.mark.time_machine(clock.NOW)]

IN_A_MONTH = clock.today() + datetime.timedelta(days=30)


@pytest.fixture
def deal(rep):
    return opportunity_create(
        by=rep,
        name="Pompe à chaleur",
        account=AccountFactory(),
        amount=Decimal("50000"),
        close_date=IN_A_MONTH,
    )


@pytest.fixture
def price():
    return LossReason.objects.get(code="price")


# (starting stage, target stage, expected probability, expected category)
STAGE_DEFAULTS = [
    (Stage.QUALIFICATION, Stage.NEEDS_ANALYSIS, 25, ForecastCategory.PIPELINE),
    (Stage.QUALIFICATION, Stage.PROPOSAL, 50, ForecastCategory.BEST_CASE),
    (Stage.QUALIFICATION, Stage.NEGOTIATION, 75, ForecastCategory.COMMIT),
    (Stage.NEGOTIATION, Stage.NEEDS_ANALYSIS, 25, ForecastCategory.PIPELINE),
    (Stage.PROPOSAL, Stage.QUALIFICATION, 10, ForecastCategory.PIPELINE),
    (Stage.QUALIFICATION, Stage.CLOSED_WON, 100, ForecastCategory.CLOSED),
]


@pytest.mark.parametrize(("start", "target", "probability", "category"), STAGE_DEFAULTS)
def test_stage_change_applies_the_stage_default(rep, deal, start, target, probability, category):
    if start != deal.stage:
        opportunity_move_stage(
            opportunity=deal, to_stage=start, by=rep, expected_version=deal.version
        )
    result = opportunity_move_stage(
        opportunity=deal,
        to_stage=target,
        by=rep,
        expected_version=deal.version,
        reason_code="other",
    )
    assert (result.opportunity.probability, result.opportunity.forecast_category) == (
        probability,
        category,
    )


def test_the_stage_default_comes_from_the_admin_setting(rep, deal):
    StageSetting.objects.filter(stage=Stage.PROPOSAL).update(default_probability=40)
    result = opportunity_move_stage(
        opportunity=deal, to_stage=Stage.PROPOSAL, by=rep, expected_version=deal.version
    )
    assert result.opportunity.probability == 40


def test_probability_set_in_the_same_edit_wins_over_the_default(rep, deal):
    result = opportunity_update(
        opportunity=deal,
        by=rep,
        changes={"stage": Stage.PROPOSAL, "probability": 60},
        expected_version=deal.version,
    )
    assert result.opportunity.probability == 60


def test_probability_alone_changes_without_stage_change(rep, deal):
    result = opportunity_update(
        opportunity=deal, by=rep, changes={"probability": 15}, expected_version=deal.version
    )
    assert (result.opportunity.stage, result.opportunity.probability) == (Stage.QUALIFICATION, 15)


# (changes, field with the error)
REFUSED = [
    ({"probability": 101}, "probability"),
    ({"probability": -1}, "probability"),
    ({"amount": Decimal("-1")}, "amount"),
    ({"stage": Stage.CLOSED_WON, "amount": None}, "amount"),
    ({"stage": Stage.CLOSED_WON, "amount": Decimal("0")}, "amount"),
    ({"stage": Stage.CLOSED_LOST}, "loss_reason"),
    ({"close_date": None}, "close_date"),
    ({"stage": "stage_7"}, "stage"),
]


@pytest.mark.parametrize(("changes", "field"), REFUSED)
def test_broken_rule_is_refused_and_nothing_written(rep, deal, changes, field):
    with pytest.raises(ValidationError) as caught:
        opportunity_update(opportunity=deal, by=rep, changes=changes, expected_version=deal.version)
    assert field in caught.value.message_dict
    deal.refresh_from_db()
    assert (deal.version, deal.stage, deal.amount) == (1, Stage.QUALIFICATION, Decimal("50000"))
    assert OpportunityHistory.objects.filter(opportunity=deal).count() == 1


def test_won_is_100_and_closed_whatever_is_asked(rep, deal):
    result = opportunity_update(
        opportunity=deal,
        by=rep,
        changes={"stage": Stage.CLOSED_WON, "probability": 80, "forecast_category": "commit"},
        expected_version=deal.version,
    )
    deal = result.opportunity
    assert (deal.probability, deal.forecast_category) == (100, ForecastCategory.CLOSED)
    assert deal.closed_at is not None
    assert deal.close_date == timezone.localdate()


def test_lost_is_0_and_omitted_with_its_reason(rep, deal, price):
    result = opportunity_move_stage(
        opportunity=deal,
        to_stage=Stage.CLOSED_LOST,
        by=rep,
        loss_reason=price,
        loss_reason_text="Trop cher",
        expected_version=deal.version,
    )
    deal = result.opportunity
    assert (deal.probability, deal.forecast_category) == (0, ForecastCategory.OMITTED)
    assert (deal.loss_reason, deal.loss_reason_text) == (price, "Trop cher")


# (who reopens, allowed)
REOPENERS = [("rep", False), ("manager", True), ("admin_user", True), ("channel", False)]


@pytest.mark.parametrize(("who", "allowed"), REOPENERS)
def test_only_a_manager_reopens_a_closed_deal(request, rep, deal, price, who, allowed):
    opportunity_move_stage(
        opportunity=deal,
        to_stage=Stage.CLOSED_LOST,
        by=rep,
        loss_reason=price,
        expected_version=deal.version,
    )
    user = request.getfixturevalue(who)
    if allowed:
        result = opportunity_move_stage(
            opportunity=deal,
            to_stage=Stage.NEEDS_ANALYSIS,
            by=user,
            close_date=IN_A_MONTH,
            expected_version=deal.version,
            reason_code="other",
        )
        reopened = result.opportunity
        assert (reopened.stage, reopened.probability) == (Stage.NEEDS_ANALYSIS, 25)
        assert reopened.closed_at is None and reopened.loss_reason is None
        assert reopened.forecast_category == ForecastCategory.PIPELINE
    else:
        with pytest.raises(PermissionError):
            opportunity_move_stage(
                opportunity=deal,
                to_stage=Stage.NEEDS_ANALYSIS,
                by=user,
                close_date=IN_A_MONTH,
                expected_version=deal.version,
            )
        deal.refresh_from_db()
        assert deal.stage == Stage.CLOSED_LOST


def test_manual_forecast_category_sticks_through_stage_changes_until_close(rep, deal):
    opportunity_update(
        opportunity=deal,
        by=rep,
        changes={"forecast_category": "commit"},
        expected_version=deal.version,
    )
    for stage in (Stage.NEEDS_ANALYSIS, Stage.PROPOSAL, Stage.QUALIFICATION):
        result = opportunity_move_stage(
            opportunity=deal,
            to_stage=stage,
            by=rep,
            expected_version=deal.version,
            reason_code="other",
        )
        assert result.opportunity.forecast_category == ForecastCategory.COMMIT
    result = opportunity_move_stage(
        opportunity=deal, to_stage=Stage.CLOSED_WON, by=rep, expected_version=deal.version
    )
    assert result.opportunity.forecast_category == ForecastCategory.CLOSED
    assert result.opportunity.forecast_category_is_manual is False


def test_closed_and_omitted_cannot_be_chosen_by_hand_on_an_open_deal(rep, deal):
    with pytest.raises(ValidationError) as caught:
        opportunity_update(
            opportunity=deal,
            by=rep,
            changes={"forecast_category": "closed"},
            expected_version=deal.version,
        )
    assert "forecast_category" in caught.value.message_dict


def test_partner_user_cannot_change_the_forecast_category(rep, partner_a, partner_a_user):
    deal = opportunity_create(
        by=rep, name="D", account=AccountFactory(), partner=partner_a, close_date=IN_A_MONTH
    )
    with pytest.raises(PermissionError):
        opportunity_update(
            opportunity=deal,
            by=partner_a_user,
            changes={"forecast_category": "commit"},
            expected_version=deal.version,
        )


def test_partner_user_changes_only_partner_fields(rep, partner_a, partner_a_user, other_rep):
    deal = opportunity_create(
        by=rep, name="D", account=AccountFactory(), partner=partner_a, close_date=IN_A_MONTH
    )
    result = opportunity_update(
        opportunity=deal,
        by=partner_a_user,
        changes={"stage": Stage.PROPOSAL, "amount": 900},
        expected_version=deal.version,
    )
    assert result.opportunity.stage == Stage.PROPOSAL
    with pytest.raises(PermissionError):
        opportunity_update(
            opportunity=deal,
            by=partner_a_user,
            changes={"owner": other_rep},
            expected_version=deal.version,
        )


def test_rep_cannot_change_another_reps_deal(other_rep, deal):
    with pytest.raises(PermissionError):
        opportunity_update(
            opportunity=deal, by=other_rep, changes={"amount": 1}, expected_version=deal.version
        )


def test_every_tracked_change_writes_one_history_row_with_old_and_new(
    rep, other_rep, manager, deal
):
    opportunity_update(
        opportunity=deal,
        by=manager,
        changes={"stage": Stage.PROPOSAL, "amount": Decimal("55000"), "owner": other_rep},
        tag="review-7",
        expected_version=deal.version,
    )
    rows = list(OpportunityHistory.objects.filter(opportunity=deal).order_by("version"))
    assert len(rows) == 2
    creation, change = rows
    assert creation.is_creation and creation.prev_stage == "" and creation.valid_until is not None
    assert (change.prev_stage, change.stage) == (Stage.QUALIFICATION, Stage.PROPOSAL)
    assert (change.prev_amount, change.amount) == (Decimal("50000"), Decimal("55000"))
    assert (change.prev_probability, change.probability) == (10, 50)
    assert (change.prev_forecast_category, change.forecast_category) == ("pipeline", "best_case")
    assert (change.prev_owner, change.owner) == (rep, other_rep)
    assert change.changed_by == manager
    assert change.tag == "review-7"
    assert change.valid_until is None
    assert set(change.changed_fields) >= {"stage", "amount", "probability", "owner"}
    assert change.version == Opportunity.objects.get(pk=deal.pk).version == 2


def test_an_edit_that_changes_nothing_writes_no_history(rep, deal):
    result = opportunity_update(
        opportunity=deal,
        by=rep,
        changes={"amount": Decimal("50000")},
        expected_version=deal.version,
    )
    assert result.history is None
    assert OpportunityHistory.objects.filter(opportunity=deal).count() == 1


def test_backdated_changes_keep_their_moment(rep):
    start = timezone.now() - datetime.timedelta(days=100)
    deal = opportunity_create(
        by=rep, name="D", account=AccountFactory(), close_date=IN_A_MONTH, at=start
    )
    later = start + datetime.timedelta(days=10)
    opportunity_update(
        opportunity=deal,
        by=rep,
        changes={"stage": Stage.PROPOSAL},
        at=later,
        expected_version=deal.version,
    )
    creation, change = OpportunityHistory.objects.filter(opportunity=deal).order_by("version")
    assert (creation.changed_at, creation.valid_until, change.changed_at) == (start, later, later)
    deal.refresh_from_db()
    assert (deal.created_at, deal.stage_changed_at) == (start, later)


def test_type_is_suggested_from_the_account(rep):
    account = AccountFactory()
    first = opportunity_create(
        by=rep, name="A", account=account, amount=Decimal("10"), close_date=IN_A_MONTH
    )
    assert first.type == "new_business"
    opportunity_move_stage(
        opportunity=first, to_stage=Stage.CLOSED_WON, by=rep, expected_version=first.version
    )
    second = opportunity_create(by=rep, name="B", account=account, close_date=IN_A_MONTH)
    assert second.type == "existing_business"


def test_partner_user_creating_a_deal_gets_their_partner(rep, partner_a, partner_a_user, partner_b):
    deal = opportunity_create(
        by=partner_a_user,
        owner=rep,
        name="Registered",
        account=AccountFactory(),
        partner=partner_b,
        close_date=IN_A_MONTH,
    )
    assert deal.partner == partner_a


def test_channel_manager_assigns_a_direct_deal_they_do_not_own(channel, rep, partner_a):
    from opportunities.services import opportunity_create, opportunity_update
    from tests.factories import AccountFactory

    deal = opportunity_create(
        by=rep,
        name="Direct",
        account=AccountFactory(),
        close_date=datetime.date(2030, 1, 1),
        amount=Decimal("1000"),
    )
    with pytest.raises(PermissionError):
        opportunity_update(
            opportunity=deal,
            by=channel,
            changes={"amount": Decimal("5")},
            expected_version=deal.version,
        )
    result = opportunity_update(
        opportunity=deal, by=channel, changes={"partner": partner_a}, expected_version=deal.version
    )
    assert result.opportunity.partner == partner_a
    assert result.history.prev_partner is None and result.history.partner == partner_a
