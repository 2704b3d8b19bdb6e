"""A change that goes backward needs a reason, on every path, kept with the history row."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import translation

from opportunities.models import (
    ForecastCategory,
    LossReason,
    OpportunityHistory,
    ReasonCode,
    Stage,
)
from opportunities.reasons import Backward, backward_changes
from opportunities.services import ReasonRequiredError, opportunity_move_stage, opportunity_update
from pipeline_reviews import services as review_services
from pipeline_reviews.models import ReviewKind
from tests import clock
from tests.factories import OpportunityFactory

pytestmark = [pytest.mark.django_db, pytest.mark.dates, pytest.mark.time_machine(clock.NOW)]

HTMX = {"HTTP_HX_REQUEST": "true"}
TODAY = clock.today()
# The last day of this month, and a day of the month after it.
MONTH_END = clock.period_end("month")
NEXT_MONTH = MONTH_END + datetime.timedelta(days=10)


def reason(code="customer_budget_moved") -> ReasonCode:
    return ReasonCode.objects.get(code=code)


def negotiation_deal(owner, **values):
    defaults = {
        "stage": Stage.NEGOTIATION,
        "probability": 75,
        "forecast_category": ForecastCategory.COMMIT,
        "amount": Decimal("10000.00"),
        "close_date": MONTH_END,
    }
    return OpportunityFactory(owner=owner, **(defaults | values))


def rows(deal):
    return OpportunityHistory.objects.filter(opportunity=deal).count()


BACKWARD_CHANGES = {
    "close_date_out_of_its_month": ({"close_date": NEXT_MONTH}, [Backward.SLIPPED]),
    "amount_lowered": ({"amount": Decimal("9999.99")}, [Backward.AMOUNT_DOWN]),
    "amount_removed": ({"amount": None}, [Backward.AMOUNT_DOWN]),
    # The stage's defaults lower the category too: one reason covers both.
    "stage_moved_back": (
        {"stage": Stage.PROPOSAL},
        [Backward.STAGE_BACK, Backward.CATEGORY_DOWN],
    ),
    "category_lowered": (
        {"forecast_category": ForecastCategory.BEST_CASE},
        [Backward.CATEGORY_DOWN],
    ),
}


class TestTheService:
    @pytest.mark.parametrize("changes, kinds", BACKWARD_CHANGES.values(), ids=BACKWARD_CHANGES)
    def test_a_backward_change_without_a_reason_is_refused_and_nothing_is_written(
        self, manager, rep, changes, kinds
    ):
        deal = negotiation_deal(rep)
        with pytest.raises(ReasonRequiredError) as refused:
            opportunity_update(opportunity=deal, by=manager, changes=changes, expected_version=1)
        assert refused.value.kinds == kinds
        assert "reason_code" in refused.value.message_dict
        deal.refresh_from_db()
        assert (deal.version, deal.stage, deal.amount, deal.close_date) == (
            1,
            Stage.NEGOTIATION,
            Decimal("10000.00"),
            MONTH_END,
        )
        assert rows(deal) == 1

    @pytest.mark.parametrize("changes, kinds", BACKWARD_CHANGES.values(), ids=BACKWARD_CHANGES)
    def test_a_backward_change_with_a_reason_is_saved_with_it(self, manager, rep, changes, kinds):
        deal = negotiation_deal(rep)
        result = opportunity_update(
            opportunity=deal,
            by=manager,
            changes=changes,
            expected_version=1,
            reason_code=reason(),
            reason_text="  Le client attend son budget 2027.  ",
        )
        assert result.history.version == 2
        row = OpportunityHistory.objects.get(opportunity=deal, version=2)
        assert (row.reason_code, row.reason_text) == (reason(), "Le client attend son budget 2027.")

    @pytest.mark.parametrize(
        "changes",
        [
            {"close_date": MONTH_END - datetime.timedelta(days=1)},  # within its month
            {"close_date": MONTH_END - datetime.timedelta(days=40)},  # brought forward
            {"amount": Decimal("10000.01")},
            {"forecast_category": ForecastCategory.COMMIT, "next_step": "Relancer"},
        ],
        ids=["close-date-in-its-month", "close-date-earlier", "amount-raised", "no-step-back"],
    )
    def test_a_change_that_does_not_go_backward_needs_no_reason(self, manager, rep, changes):
        deal = negotiation_deal(rep)
        opportunity_update(opportunity=deal, by=manager, changes=changes, expected_version=1)
        row = OpportunityHistory.objects.get(opportunity=deal, version=2)
        assert row.reason_code is None

    def test_lost_has_its_loss_reason_and_needs_no_other(self, rep):
        deal = negotiation_deal(rep)
        opportunity_move_stage(
            opportunity=deal,
            to_stage=Stage.CLOSED_LOST,
            by=rep,
            expected_version=1,
            loss_reason=LossReason.objects.first(),
        )
        deal.refresh_from_db()
        assert deal.stage == Stage.CLOSED_LOST

    @pytest.mark.parametrize("to_stage", [Stage.CLOSED_WON, Stage.CLOSED_LOST])
    def test_closing_after_the_planned_month_is_not_a_slip(self, rep, time_machine, to_stage):
        # Planned for the last day of a quarter, closed the next morning: the close date
        # becomes the day it closed, in the next month, and nobody is asked why.
        closed_at = clock.MOMENTS["quarter-end"]
        time_machine.move_to(closed_at - datetime.timedelta(days=1))
        deal = negotiation_deal(rep, close_date=datetime.date(2027, 3, 31))
        time_machine.move_to(closed_at)
        opportunity_move_stage(
            opportunity=deal,
            to_stage=to_stage,
            by=rep,
            expected_version=1,
            loss_reason=LossReason.objects.first() if to_stage == Stage.CLOSED_LOST else None,
        )
        deal.refresh_from_db()
        assert (deal.stage, deal.close_date) == (to_stage, datetime.date(2027, 4, 1))
        row = OpportunityHistory.objects.get(opportunity=deal, version=2)
        assert row.reason_code is None

    def test_moving_back_a_stage_through_the_stage_move_takes_the_reason(self, rep):
        deal = negotiation_deal(rep)
        with pytest.raises(ReasonRequiredError):
            opportunity_move_stage(
                opportunity=deal, to_stage=Stage.QUALIFICATION, by=rep, expected_version=1
            )
        opportunity_move_stage(
            opportunity=deal,
            to_stage=Stage.QUALIFICATION,
            by=rep,
            expected_version=1,
            reason_code="decision_delayed",
        )
        assert OpportunityHistory.objects.get(opportunity=deal, version=2).reason_code == reason(
            "decision_delayed"
        )

    @pytest.mark.parametrize("code", ["nonsense", "999999", "retired"])
    def test_an_unknown_or_retired_reason_is_refused(self, rep, code):
        ReasonCode.objects.create(
            code="retired", label_en="Old", label_fr="Ancien", is_active=False
        )
        deal = negotiation_deal(rep)
        with pytest.raises(ValidationError) as refused:
            opportunity_update(
                opportunity=deal,
                by=rep,
                changes={"amount": Decimal(1)},
                expected_version=1,
                reason_code=code,
            )
        assert "reason_code" in refused.value.message_dict
        assert rows(deal) == 1

    def test_the_refusal_names_the_change_in_french_and_in_english(self, rep):
        deal = negotiation_deal(rep)
        for language, words in (("fr", "date de clôture"), ("en", "close date moved")):
            with translation.override(language), pytest.raises(ReasonRequiredError) as refused:
                opportunity_update(
                    opportunity=deal,
                    by=rep,
                    changes={"close_date": NEXT_MONTH},
                    expected_version=1,
                )
            assert words in refused.value.message_dict["reason_code"][0]

    def test_reopening_a_won_deal_is_a_step_back(self):
        current = {"stage": Stage.CLOSED_WON, "forecast_category": ForecastCategory.CLOSED}
        new = {"stage": Stage.NEGOTIATION, "forecast_category": ForecastCategory.COMMIT}
        assert backward_changes(current, new) == [Backward.STAGE_BACK, Backward.CATEGORY_DOWN]

    def test_the_seeded_codes_are_there_in_both_languages(self):
        code = reason()
        assert code.label_en == "Customer budget moved to next year"
        with translation.override("fr"):
            assert str(code) == "Budget client reporté à l'année suivante"


def edit_data(client, deal, **changes):
    form = client.get(reverse("opportunities:edit", args=[deal.pk])).context["form"]
    data = {k: v for k, v in form.initial.items() if v is not None}
    data["close_date"] = deal.close_date.isoformat()
    data.update(changes)
    return {k: ("" if v is None else v) for k, v in data.items()}


class TestTheEditForm:
    def test_the_form_asks_and_the_reason_is_stored(self, client_for, rep):
        deal = negotiation_deal(rep)
        client = client_for(rep)
        url = reverse("opportunities:edit", args=[deal.pk])
        data = edit_data(client, deal, close_date=NEXT_MONTH.isoformat())

        refused = client.post(url, data)

        assert refused.status_code == 200
        assert refused.context["form"].errors["reason_code"]
        assert 'name="reason_code"' in refused.text
        deal.refresh_from_db()
        assert deal.version == 1

        accepted = client.post(
            url, {**data, "reason_code": reason().pk, "reason_text": "Budget 2027"}
        )
        assert accepted.status_code == 302
        row = OpportunityHistory.objects.get(opportunity=deal, version=2)
        assert (row.close_date, row.reason_code, row.reason_text) == (
            NEXT_MONTH,
            reason(),
            "Budget 2027",
        )


class TestInlineEdit:
    def url(self, deal):
        return reverse("opportunities:inline", args=[deal.pk, "amount"])

    def test_it_answers_400_with_the_reason_inputs_then_saves_with_the_reason(
        self, client_for, rep
    ):
        deal = negotiation_deal(rep)
        client = client_for(rep)

        refused = client.post(self.url(deal), {"value": "8000", "version": "1"}, **HTMX)

        assert refused.status_code == 400
        assert 'name="reason_code"' in refused.text
        assert 'name="reason_text"' in refused.text
        assert 'value="8000"' in refused.text  # what was typed stays
        deal.refresh_from_db()
        assert deal.amount == Decimal("10000.00")

        accepted = client.post(
            self.url(deal),
            {"value": "8000", "version": "1", "reason_code": reason("scope_reduced").pk},
            **HTMX,
        )
        assert accepted.status_code == 200
        row = OpportunityHistory.objects.get(opportunity=deal, version=2)
        assert (row.amount, row.reason_code) == (Decimal("8000"), reason("scope_reduced"))


class TestBoardMove:
    def url(self, deal):
        return reverse("opportunities:kanban-move", args=[deal.pk])

    def test_a_drop_back_a_stage_is_refused_without_a_reason_then_saved_with_it(
        self, client_for, rep
    ):
        deal = negotiation_deal(rep)
        client = client_for(rep)

        refused = client.post(self.url(deal), {"stage": Stage.PROPOSAL, "version": 1}, **HTMX)

        assert refused.status_code == 400
        assert "motif" in refused.text  # French by default
        deal.refresh_from_db()
        assert deal.stage == Stage.NEGOTIATION

        accepted = client.post(
            self.url(deal),
            {
                "stage": Stage.PROPOSAL,
                "version": 1,
                "reason_code": reason("competitor").pk,
                "reason_text": "Offre concurrente moins chère",
            },
            **HTMX,
        )
        assert accepted.status_code == 200
        row = OpportunityHistory.objects.get(opportunity=deal, version=2)
        assert (row.stage, row.reason_code, row.reason_text) == (
            Stage.PROPOSAL,
            reason("competitor"),
            "Offre concurrente moins chère",
        )

    def test_without_javascript_the_move_page_shows_the_reason_field(self, client_for, rep):
        deal = negotiation_deal(rep)
        client = client_for(rep)
        refused = client.post(self.url(deal), {"stage": Stage.QUALIFICATION, "version": 1})
        assert refused.status_code == 400
        assert refused.context["form"].errors["reason_code"]
        accepted = client.post(
            self.url(deal),
            {"stage": Stage.QUALIFICATION, "version": 1, "reason_code": reason().pk},
        )
        assert accepted.status_code == 302
        assert OpportunityHistory.objects.get(opportunity=deal, version=2).reason_code == reason()

    def test_the_board_holds_the_dialog_that_asks(self, client_for, rep):
        response = client_for(rep).get(reverse("opportunities:kanban"))
        assert 'id="kanban-reason-dialog"' in response.text
        assert response.text.count('name="reason_code"') == 1

    def test_the_card_edit_asks_once_the_service_refused(self, client_for, rep):
        deal = negotiation_deal(rep)
        client = client_for(rep)
        url = reverse("opportunities:kanban-edit", args=[deal.pk])
        values = {
            "version": "1",
            "amount": "10000.00",
            "probability": "75",
            "close_date": NEXT_MONTH.isoformat(),
            "forecast_category": ForecastCategory.COMMIT,
            "next_step": "",
        }
        assert 'name="reason_code"' not in client.get(url, **HTMX).text
        refused = client.post(url, values, **HTMX)
        assert 'name="reason_code"' in refused.text
        client.post(url, {**values, "reason_code": reason().pk}, **HTMX)
        assert OpportunityHistory.objects.get(opportunity=deal, version=2).reason_code == reason()


class TestReviewDealEdit:
    def test_the_review_asks_and_stores_the_reason(self, client_for, channel, partner_a, rep):
        review = review_services.review_create(
            by=channel,
            kind=ReviewKind.MONTHLY_PARTNER,
            partner=partner_a,
            period=TODAY.replace(day=1),
        )
        deal = negotiation_deal(rep, partner=partner_a)
        url = reverse("pipeline_reviews:deal", args=[review.pk, deal.pk])
        data = {
            "version": 1,
            "stage": Stage.NEGOTIATION,
            "amount": "6000",
            "probability": "75",
            "close_date": MONTH_END.isoformat(),
            "forecast_category": ForecastCategory.COMMIT,
            "next_step": "",
            "position": "1",
        }
        client = client_for(channel)

        refused = client.post(url, data, **HTMX)

        assert refused.status_code == 422
        assert refused.context["deal_form"].errors["reason_code"]
        deal.refresh_from_db()
        assert deal.amount == Decimal("10000.00")

        accepted = client.post(url, {**data, "reason_code": reason("scope_reduced").pk}, **HTMX)
        assert accepted.status_code == 200
        row = OpportunityHistory.objects.get(opportunity=deal, version=2)
        assert (row.amount, row.reason_code, row.tag) == (
            Decimal("6000"),
            reason("scope_reduced"),
            review.tag,
        )


def test_the_deal_s_history_shows_the_reason(client_for, rep):
    deal = negotiation_deal(rep)
    opportunity_update(
        opportunity=deal,
        by=rep,
        changes={"amount": Decimal("7000")},
        expected_version=1,
        reason_code=reason("scope_reduced"),
        reason_text="Une seule chaudière",
    )
    response = client_for(rep).get(reverse("opportunities:detail", args=[deal.pk]))
    assert "Motif : Périmètre réduit — Une seule chaudière" in response.text


def test_the_stage_path_sends_a_step_back_to_the_move_page_that_asks(client_for, rep):
    deal = negotiation_deal(rep)
    client = client_for(rep)
    page = client.get(reverse("opportunities:detail", args=[deal.pk])).text
    move = reverse("opportunities:kanban-move", args=[deal.pk])
    assert f'href="{move}?stage=proposal' in page
    form = client.get(f"{move}?stage=proposal")
    assert 'name="reason_code"' in form.text
