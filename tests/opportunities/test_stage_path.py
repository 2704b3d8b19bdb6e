"""The stage path on the opportunity page: every stage, the current one marked, and a move
that goes through the board's move view (same service, same questions, same refusals)."""

import re
from decimal import Decimal

import pytest
from django.urls import reverse

from opportunities.models import LossReason, OpportunityHistory, Stage
from tests import versions
from tests.factories import OpportunityFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fixed_clock(time_machine):
    time_machine.move_to(versions.NOW)


def detail(deal):
    return reverse("opportunities:detail", args=[deal.pk])


def move(deal):
    return reverse("opportunities:kanban-move", args=[deal.pk])


def path_html(client, deal) -> str:
    html = client.get(detail(deal)).content.decode()
    start = html.index('id="stage-path"')
    return html[start : html.index("</nav>", start)]


class TestThePath:
    def test_it_shows_every_stage_with_the_current_one_marked(self, client_for, rep):
        deal = OpportunityFactory(owner=rep, stage=Stage.PROPOSAL, probability=50)
        html = path_html(client_for(rep), deal)
        labels = re.findall(r'class="stage-step is-(\w+) stage-(\w+)"', html)
        assert labels == [
            ("done", "qualification"),
            ("done", "needs_analysis"),
            ("current", "proposal"),
            ("todo", "negotiation"),
            ("todo", "closed_won"),
            ("todo", "closed_lost"),
        ]
        assert html.count('aria-current="step"') == 1

    def test_each_other_stage_posts_the_move_with_the_version_read(self, client_for, rep):
        deal = OpportunityFactory(owner=rep)
        html = path_html(client_for(rep), deal)
        assert html.count(f'action="{move(deal)}"') == 4  # three open stages and Closed Won
        assert html.count('name="version" value="1"') == 4
        assert f'name="next" value="{detail(deal)}"' in html
        # Closed Lost asks for the reason first, like a drop on the board.
        assert 'data-dialog-open="stage-lost-dialog"' in html

    def test_closed_won_asks_for_the_amount_only_when_there_is_none(self, client_for, rep):
        client = client_for(rep)
        with_amount = OpportunityFactory(owner=rep, amount=Decimal("500"))
        without = OpportunityFactory(owner=rep, amount=None)
        assert 'data-dialog-open="stage-won-dialog"' not in path_html(client, with_amount)
        assert 'data-dialog-open="stage-won-dialog"' in path_html(client, without)
        assert 'id="stage-won-dialog"' in client.get(detail(without)).content.decode()

    def test_a_user_who_may_not_edit_sees_the_path_without_buttons(
        self, client_for, rep, other_rep
    ):
        deal = OpportunityFactory(owner=other_rep)
        html = path_html(client_for(rep), deal)
        assert "<form" not in html and "<button" not in html and "data-dialog-open" not in html
        assert 'aria-current="step"' in html

    def test_a_closed_deal_reopens_from_the_path_for_a_manager_only(self, client_for, rep, manager):
        deal = OpportunityFactory(
            owner=rep, stage=Stage.CLOSED_WON, probability=100, forecast_category="closed"
        )
        assert "<form" not in path_html(client_for(rep), deal)
        assert move(deal) not in path_html(client_for(rep), deal)
        # Reopening is a step back: the path leads to the move page, which asks the reason.
        assert f'href="{move(deal)}?stage=negotiation' in path_html(client_for(manager), deal)

    def test_a_partner_user_moves_their_partners_deal(self, client_for, partner_a_user, partner_a):
        deal = OpportunityFactory(partner=partner_a)
        client = client_for(partner_a_user)
        assert "<form" in path_html(client, deal)
        response = client.post(
            move(deal), {"stage": Stage.NEEDS_ANALYSIS, "version": "1", "next": detail(deal)}
        )
        assert response.status_code == 302
        deal.refresh_from_db()
        assert deal.stage == Stage.NEEDS_ANALYSIS

    def test_partner_gets_404_for_another_partners_deal(
        self, client_for, partner_a_user, partner_b
    ):
        deal = OpportunityFactory(partner=partner_b)
        client = client_for(partner_a_user)
        assert client.get(detail(deal)).status_code == 404
        response = client.post(move(deal), {"stage": Stage.PROPOSAL, "version": "1"})
        assert response.status_code == 404


class TestMovingFromThePath:
    def test_a_click_moves_the_deal_and_comes_back_to_its_page(self, client_for, rep):
        deal = OpportunityFactory(owner=rep)
        client = client_for(rep)
        response = client.post(
            move(deal), {"stage": Stage.NEGOTIATION, "version": "1", "next": detail(deal)}
        )
        assert response.status_code == 302 and response["Location"] == detail(deal)
        deal.refresh_from_db()
        assert (deal.stage, deal.probability, deal.version) == (Stage.NEGOTIATION, 75, 2)
        assert OpportunityHistory.objects.get(opportunity=deal, version=2).tag == "kanban"
        # The page now marks the new stage and carries the new version.
        html = path_html(client, deal)
        assert 'class="stage-step is-current stage-negotiation"' in html
        assert 'name="version" value="2"' in html

    def test_closing_lost_needs_the_reason_from_the_dialog(self, client_for, rep):
        deal = OpportunityFactory(owner=rep)
        reason = LossReason.objects.filter(is_active=True).first() or LossReason.objects.create(
            code="price", label_en="Price", label_fr="Prix"
        )
        client = client_for(rep)
        html = client.get(detail(deal)).content.decode()
        assert 'id="stage-lost-dialog"' in html and f'value="{reason.pk}"' in html
        refused = client.post(
            move(deal), {"stage": Stage.CLOSED_LOST, "version": "1", "next": detail(deal)}
        )
        assert refused.status_code == 400
        deal.refresh_from_db()
        assert deal.stage == Stage.QUALIFICATION
        done = client.post(
            move(deal),
            {
                "stage": Stage.CLOSED_LOST,
                "version": "1",
                "loss_reason": reason.pk,
                "loss_reason_text": "Concurrent moins cher",
                "next": detail(deal),
            },
        )
        assert done.status_code == 302
        deal.refresh_from_db()
        assert (deal.stage, deal.loss_reason_id) == (Stage.CLOSED_LOST, reason.pk)

    @pytest.mark.parametrize("case", versions.REFUSED)
    def test_a_move_without_the_current_version_is_refused(self, client_for, rep, manager, case):
        deal = versions.changed_by_someone_else(OpportunityFactory(owner=rep), manager)
        data = versions.with_version({"stage": Stage.PROPOSAL, "next": detail(deal)}, case)
        response = client_for(rep).post(move(deal), data)
        assert response.status_code == 409
        assert versions.says_someone_else_changed_it(
            " ".join(response.context["form"].non_field_errors())
        )
        versions.assert_untouched(deal, stage=Stage.QUALIFICATION)

    def test_the_current_version_goes_through(self, client_for, rep, manager):
        deal = versions.changed_by_someone_else(OpportunityFactory(owner=rep), manager)
        data = versions.with_version({"stage": Stage.PROPOSAL, "next": detail(deal)}, "current")
        assert client_for(rep).post(move(deal), data).status_code == 302
        deal.refresh_from_db()
        assert (deal.stage, deal.version) == (Stage.PROPOSAL, 3)
