import datetime
from decimal import Decimal
from urllib.parse import unquote

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from activities.models import Activity
from opportunities.kanban import COLUMN_SIZE
from opportunities.models import (
    ForecastCategory,
    LossReason,
    Opportunity,
    OpportunityHistory,
    ReasonCode,
    Stage,
)
from tests import clock
from tests.factories import AccountFactory, ActivityFactory, OpportunityFactory

pytestmark = [pytest.mark.django_db, pytest.mark.dates, pytest.mark.time_machine(clock.NOW)]

BOARD = reverse("opportunities:kanban")
HTMX = {"HTTP_HX_REQUEST": "true"}


def column(response, stage):
    return next(c for c in response.context["columns"] if c.stage == stage)


def won(**kwargs):
    return OpportunityFactory(
        stage=Stage.CLOSED_WON, probability=100, forecast_category=ForecastCategory.CLOSED, **kwargs
    )


def lost(**kwargs):
    return OpportunityFactory(
        stage=Stage.CLOSED_LOST,
        probability=0,
        forecast_category=ForecastCategory.OMITTED,
        loss_reason=LossReason.objects.get(code="price"),
        **kwargs,
    )


class TestBoard:
    def test_column_totals_match_hand_computed_figures(self, client_for, rep):
        OpportunityFactory(owner=rep, amount=Decimal("10000"), probability=10)
        OpportunityFactory(owner=rep, amount=Decimal("5000.50"), probability=10)
        OpportunityFactory(owner=rep, stage=Stage.PROPOSAL, amount=Decimal("20000"), probability=50)
        OpportunityFactory(owner=rep, stage=Stage.PROPOSAL, amount=None, probability=50)
        OpportunityFactory(
            owner=rep, stage=Stage.NEGOTIATION, amount=Decimal("1000"), probability=80
        )
        won(owner=rep, amount=Decimal("30000"))
        won(
            owner=rep,
            amount=Decimal("99999"),
            closed_at=timezone.now() - datetime.timedelta(days=200),
        )
        lost(owner=rep, amount=Decimal("8000"))

        response = client_for(rep).get(BOARD)

        assert response.status_code == 200
        qualification = column(response, Stage.QUALIFICATION)
        assert (qualification.count, qualification.total, qualification.weighted) == (
            2,
            Decimal("15000.50"),
            Decimal("1500.05"),
        )
        proposal = column(response, Stage.PROPOSAL)
        assert (proposal.count, proposal.total, proposal.weighted) == (2, 20000, 10000)
        negotiation = column(response, Stage.NEGOTIATION)
        assert (negotiation.count, negotiation.total, negotiation.weighted) == (1, 1000, 800)
        needs = column(response, Stage.NEEDS_ANALYSIS)
        assert (needs.count, needs.total, needs.weighted) == (0, 0, 0)
        # Closed columns only hold what closed recently.
        closed_won = column(response, Stage.CLOSED_WON)
        assert (closed_won.count, closed_won.total, closed_won.weighted) == (1, 30000, 30000)
        closed_lost = column(response, Stage.CLOSED_LOST)
        assert (closed_lost.count, closed_lost.total, closed_lost.weighted) == (1, 8000, 0)
        assert "99999" not in response.content.decode().replace("\u2019", "").replace(",", "")

    def test_totals_cover_the_whole_column_not_only_the_first_cards(self, client_for, rep):
        account = AccountFactory()
        Opportunity.objects.bulk_create(
            Opportunity(
                name=f"Deal {i}",
                account=account,
                owner=rep,
                amount=Decimal("100"),
                probability=10,
                close_date=timezone.localdate(),
            )
            for i in range(45)
        )
        response = client_for(rep).get(BOARD)
        qualification = column(response, Stage.QUALIFICATION)
        assert qualification.count == 45
        assert qualification.total == Decimal("4500")
        assert len(qualification.cards) == COLUMN_SIZE < 45
        assert qualification.next_cursor

    def test_todo_bar_counts_deals_by_their_most_urgent_open_todo(self, client_for, rep):
        today = timezone.localdate()
        overdue = OpportunityFactory(owner=rep)
        ActivityFactory(opportunity=overdue, due_date=today - datetime.timedelta(days=2))
        ActivityFactory(opportunity=overdue, due_date=today)
        due_today = OpportunityFactory(owner=rep)
        ActivityFactory(opportunity=due_today, due_date=today)
        planned = OpportunityFactory(owner=rep)
        ActivityFactory(opportunity=planned, due_date=None)
        nothing_open = OpportunityFactory(owner=rep)
        ActivityFactory(
            opportunity=nothing_open, due_date=today - datetime.timedelta(days=9), done=True
        )
        OpportunityFactory(owner=rep)

        response = client_for(rep).get(BOARD)

        todo = column(response, Stage.QUALIFICATION).todo
        assert todo == {"overdue": 1, "today": 1, "planned": 1, "none": 2}

    def test_card_shows_next_open_todo_and_counts(self, client_for, rep):
        today = timezone.localdate()
        deal = OpportunityFactory(owner=rep, next_step="Envoyer l'offre révisée")
        ActivityFactory(
            opportunity=deal,
            subject="Appeler M. Rochat",
            due_date=today + datetime.timedelta(days=1),
        )
        ActivityFactory(
            opportunity=deal, subject="Visite du site", due_date=today + datetime.timedelta(days=5)
        )
        ActivityFactory(opportunity=deal, subject="Ancienne note", due_date=today, done=True)

        response = client_for(rep).get(BOARD)

        card = column(response, Stage.QUALIFICATION).cards[0]
        assert card.open_todos == 2
        assert card.next_todo_subject == "Appeler M. Rochat"
        html = response.content.decode()
        assert "Appeler M. Rochat" in html
        assert "Envoyer l&#x27;offre révisée" in html

    def test_each_card_of_each_column_gets_its_own_todos_and_last_activity(
        self, client_for, rep, settings
    ):
        settings.CRM_STALE_DAYS = 30
        today = timezone.localdate()
        long_ago = timezone.now() - datetime.timedelta(days=60)
        first = OpportunityFactory(owner=rep)
        ActivityFactory(opportunity=first, subject="Sans date", due_date=None)
        ActivityFactory(opportunity=first, subject="Relance", due_date=today)
        second = OpportunityFactory(owner=rep, stage=Stage.PROPOSAL, probability=50)
        ActivityFactory(opportunity=second, subject="Offre", due_date=None)
        touched = OpportunityFactory(owner=rep, stage=Stage.PROPOSAL, probability=50)
        ActivityFactory(opportunity=touched, done=True)
        untouched = won(owner=rep, amount=Decimal("1000"))
        Opportunity.objects.filter(pk__in=[touched.pk, untouched.pk]).update(updated_at=long_ago)

        response = client_for(rep).get(BOARD)

        cards = {
            card.pk: card
            for stage in (Stage.QUALIFICATION, Stage.PROPOSAL, Stage.CLOSED_WON)
            for card in column(response, stage).cards
        }
        facts = {
            pk: (c.open_todos, c.next_todo_subject, c.next_todo_due, c.todo_state, c.is_stale)
            for pk, c in cards.items()
        }
        assert facts == {
            first.pk: (2, "Relance", today, "today", False),
            second.pk: (1, "Offre", None, "planned", False),
            touched.pk: (0, None, None, "none", False),
            untouched.pk: (0, None, None, "none", False),
        }

    def test_overdue_close_date_is_highlighted_and_untouched_deal_is_stale(
        self, client_for, rep, settings
    ):
        settings.CRM_STALE_DAYS = 30
        old = timezone.now() - datetime.timedelta(days=60)
        deal = OpportunityFactory(
            owner=rep, close_date=timezone.localdate() - datetime.timedelta(days=3)
        )
        Opportunity.objects.filter(pk=deal.pk).update(updated_at=old)
        fresh = OpportunityFactory(owner=rep)

        response = client_for(rep).get(BOARD)

        cards = {c.pk: c for c in column(response, Stage.QUALIFICATION).cards}
        assert cards[deal.pk].is_stale is True
        assert cards[fresh.pk].is_stale is False
        html = response.content.decode()
        assert 'class="overdue"' in html
        assert "badge-stale" in html

    def test_recent_activity_keeps_a_deal_from_being_stale(self, client_for, rep):
        deal = OpportunityFactory(owner=rep)
        Opportunity.objects.filter(pk=deal.pk).update(
            updated_at=timezone.now() - datetime.timedelta(days=90)
        )
        ActivityFactory(opportunity=deal, done=True)

        response = client_for(rep).get(BOARD)

        assert column(response, Stage.QUALIFICATION).cards[0].is_stale is False

    def test_filters_apply_to_cards_and_totals_and_stay_in_the_links(
        self, client_for, rep, other_rep
    ):
        OpportunityFactory(owner=rep, amount=Decimal("1000"))
        OpportunityFactory(owner=other_rep, amount=Decimal("7000"))

        response = client_for(rep).get(BOARD, {"mine": "on"})

        qualification = column(response, Stage.QUALIFICATION)
        assert qualification.count == 1
        assert qualification.total == Decimal("1000")
        assert response.context["board_query"] == "mine=on"
        assert "?mine=on" in response.content.decode()

    def test_partner_user_sees_only_their_partners_deals(
        self, client_for, partner_a_user, partner_a, partner_b
    ):
        mine = OpportunityFactory(partner=partner_a, name="Chez Alpha")
        OpportunityFactory(partner=partner_b, name="Chez Beta")
        OpportunityFactory(name="Affaire directe")

        response = client_for(partner_a_user).get(BOARD)

        cards = column(response, Stage.QUALIFICATION).cards
        assert [c.pk for c in cards] == [mine.pk]
        assert column(response, Stage.QUALIFICATION).count == 1
        html = response.content.decode()
        assert "Chez Beta" not in html and "Affaire directe" not in html
        assert 'name="owner"' not in html

    def test_filtered_todo_bar_counts_only_the_filtered_deals(self, client_for, rep, other_rep):
        today = timezone.localdate()
        mine = OpportunityFactory(owner=rep)
        ActivityFactory(opportunity=mine, due_date=today - datetime.timedelta(days=1))
        OpportunityFactory(owner=rep)
        theirs = OpportunityFactory(owner=other_rep)
        ActivityFactory(opportunity=theirs, due_date=today)

        response = client_for(rep).get(BOARD, {"owner": rep.pk})

        qualification = column(response, Stage.QUALIFICATION)
        assert qualification.count == 2
        assert qualification.todo == {"overdue": 1, "today": 0, "planned": 0, "none": 1}

    def test_closed_column_todo_bar_counts_only_its_recently_closed_deals(self, client_for, rep):
        today = timezone.localdate()
        overdue = won(owner=rep, amount=Decimal("100"))
        ActivityFactory(opportunity=overdue, due_date=today - datetime.timedelta(days=1))
        won(owner=rep, amount=Decimal("200"))
        long_ago = won(
            owner=rep,
            amount=Decimal("400"),
            closed_at=timezone.now() - datetime.timedelta(days=200),
        )
        ActivityFactory(opportunity=long_ago, due_date=today)

        response = client_for(rep).get(BOARD)

        closed_won = column(response, Stage.CLOSED_WON)
        assert (closed_won.count, closed_won.total) == (2, Decimal("300"))
        assert closed_won.todo == {"overdue": 1, "today": 0, "planned": 0, "none": 1}

    def test_each_card_links_to_its_own_deal_and_offers_its_stage(self, client_for, rep):
        first = OpportunityFactory(owner=rep)
        second = OpportunityFactory(owner=rep, stage=Stage.PROPOSAL, probability=50)

        response = client_for(rep).get(BOARD, {"mine": "on"})

        html = response.content.decode()
        for deal in (first, second):
            card = html[html.index(f'id="deal-{deal.pk}"') :]
            card = card[: card.index("</li>")]
            move = reverse("opportunities:kanban-move", args=[deal.pk])
            assert f'data-move-url="{move}"' in card
            assert f'action="{move}?mine=on"' in card
            assert f'href="{reverse("opportunities:detail", args=[deal.pk])}"' in card
            assert f'name="next" value="{BOARD}?mine=on"' in card
            assert f'<option value="{deal.stage}" selected>' in card
            assert card.count(" selected>") == 1

    def test_htmx_filter_request_returns_only_the_board(self, client_for, rep):
        OpportunityFactory(owner=rep, name="Seule affaire")
        response = client_for(rep).get(BOARD, HTTP_HX_TARGET="kanban-board", **HTMX)
        html = response.content.decode()
        assert html.lstrip().startswith('<div id="kanban-board"')
        assert "Seule affaire" in html
        assert "<html" not in html


class TestColumn:
    def make_deals(self, owner, count):
        account = AccountFactory()
        today = timezone.localdate()
        Opportunity.objects.bulk_create(
            Opportunity(
                name=f"Deal {i:03d}",
                account=account,
                owner=owner,
                close_date=today + datetime.timedelta(days=i // 3),
            )
            for i in range(count)
        )

    def test_show_more_returns_the_next_cards_in_order(self, client_for, rep):
        total = 2 * COLUMN_SIZE + 5
        self.make_deals(rep, total)
        client = client_for(rep)
        board = client.get(BOARD)
        first = column(board, Stage.QUALIFICATION)
        url = reverse("opportunities:kanban-column", args=[Stage.QUALIFICATION])

        second = client.get(url, {"after": first.next_cursor}, **HTMX)
        third = client.get(url, {"after": second.context["column"].next_cursor}, **HTMX)

        names = [c.name for c in first.cards]
        names += [c.name for c in second.context["column"].cards]
        names += [c.name for c in third.context["column"].cards]
        assert names == [f"Deal {i:03d}" for i in range(total)]
        assert third.context["column"].next_cursor == ""
        assert "<html" not in second.content.decode()
        assert "kanban-more" in second.content.decode()
        assert "kanban-more" not in third.content.decode()

    def test_closed_column_pages_go_from_the_latest_closed_down(self, client_for, rep):
        account = AccountFactory()
        today = timezone.localdate()
        now = timezone.now()
        deals = Opportunity.objects.bulk_create(
            Opportunity(
                name=f"Won {i:03d}",
                account=account,
                owner=rep,
                stage=Stage.CLOSED_WON,
                probability=100,
                amount=Decimal("10"),
                forecast_category=ForecastCategory.CLOSED,
                close_date=today - datetime.timedelta(days=i // 10),
                closed_at=now - datetime.timedelta(days=i // 10),
            )
            for i in range(COLUMN_SIZE + 5)
        )
        expected = sorted(deals, key=lambda d: (d.close_date, d.pk), reverse=True)
        client = client_for(rep)
        first = column(client.get(BOARD), Stage.CLOSED_WON)
        url = reverse("opportunities:kanban-column", args=[Stage.CLOSED_WON])

        second = client.get(url, {"after": first.next_cursor}, **HTMX).context["column"]

        assert [c.pk for c in first.cards + second.cards] == [d.pk for d in expected]
        assert second.next_cursor == ""

    def test_show_more_without_javascript_is_a_page(self, client_for, rep):
        self.make_deals(rep, COLUMN_SIZE + 5)
        client = client_for(rep)
        cursor = column(client.get(BOARD), Stage.QUALIFICATION).next_cursor
        url = reverse("opportunities:kanban-column", args=[Stage.QUALIFICATION])

        response = client.get(url, {"after": cursor})

        assert response.status_code == 200
        assert "<html" in response.content.decode()
        assert len(response.context["column"].cards) == 5

    def test_unknown_stage_is_404(self, client_for, rep):
        url = reverse("opportunities:kanban-column", args=["nowhere"])
        assert client_for(rep).get(url).status_code == 404

    def test_column_keeps_the_partner_scope(self, client_for, partner_a_user, partner_b):
        OpportunityFactory(partner=partner_b)
        url = reverse("opportunities:kanban-column", args=[Stage.QUALIFICATION])
        response = client_for(partner_a_user).get(url, **HTMX)
        assert response.context["column"].cards == []


def _bulk_board(owner, count):
    """``count`` deals over every stage, a third with to-dos; no history (speed)."""
    account = AccountFactory()
    today = timezone.localdate()
    now = timezone.now()
    reason = LossReason.objects.get(code="price")
    deals = []
    for i in range(count):
        stage = Stage.values[i % 6]
        deals.append(
            Opportunity(
                name=f"Deal {i}",
                account=account,
                owner=owner,
                stage=stage,
                amount=Decimal(1000 + i),
                probability={Stage.CLOSED_WON: 100, Stage.CLOSED_LOST: 0}.get(stage, 25),
                close_date=today + datetime.timedelta(days=i % 40),
                closed_at=now if stage in (Stage.CLOSED_WON, Stage.CLOSED_LOST) else None,
                loss_reason=reason if stage == Stage.CLOSED_LOST else None,
            )
        )
    deals = Opportunity.objects.bulk_create(deals)
    Activity.objects.bulk_create(
        Activity(subject=f"To-do {d.pk}", opportunity=d, due_date=today, assignee=owner)
        for d in deals[::3]
    )


class TestBoardQueryBudget:
    def count_queries(self, client, url, **extra):
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url, **extra)
        assert response.status_code == 200
        return len(queries)

    def test_board_query_count_is_the_same_at_10_and_1000_deals(
        self, client_for, rep, django_assert_max_num_queries
    ):
        client = client_for(rep)
        _bulk_board(rep, 10)
        small = self.count_queries(client, BOARD)
        _bulk_board(rep, 990)
        with django_assert_max_num_queries(small):
            response = client.get(BOARD)
        assert sum(c.count for c in response.context["columns"]) == 1000
        # 17: the reason codes of the "move back" dialog are one query of the page.
        assert small <= 17

    def test_partner_board_query_count_is_the_same_at_10_and_1000_deals(
        self, client_for, partner_a_user, partner_a, rep, django_assert_max_num_queries
    ):
        client = client_for(partner_a_user)
        _bulk_board(rep, 10)
        Opportunity.objects.update(partner=partner_a)
        small = self.count_queries(client, BOARD)
        _bulk_board(rep, 990)
        Opportunity.objects.update(partner=partner_a)
        with django_assert_max_num_queries(small):
            client.get(BOARD)

    def test_column_page_query_count_is_the_same_at_10_and_1000_deals(
        self, client_for, rep, django_assert_max_num_queries
    ):
        client = client_for(rep)
        url = reverse("opportunities:kanban-column", args=[Stage.QUALIFICATION])
        _bulk_board(rep, 10)
        small = self.count_queries(client, url, **HTMX)
        _bulk_board(rep, 990)
        with django_assert_max_num_queries(small):
            client.get(url, **HTMX)


def move_url(deal, query=""):
    return reverse("opportunities:kanban-move", args=[deal.pk]) + (f"?{query}" if query else "")


class TestMove:
    def test_drop_moves_the_deal_writes_history_and_applies_stage_defaults(self, client_for, rep):
        deal = OpportunityFactory(owner=rep, amount=Decimal("12000"))

        response = client_for(rep).post(
            move_url(deal), {"stage": Stage.PROPOSAL, "version": deal.version}, **HTMX
        )

        assert response.status_code == 200
        deal.refresh_from_db()
        assert deal.stage == Stage.PROPOSAL
        assert deal.probability == 50
        assert deal.forecast_category == ForecastCategory.BEST_CASE
        assert deal.version == 2
        row = OpportunityHistory.objects.get(opportunity=deal, version=2)
        assert (row.prev_stage, row.stage, row.changed_by, row.tag) == (
            Stage.QUALIFICATION,
            Stage.PROPOSAL,
            rep,
            "kanban",
        )
        assert "stage" in row.changed_fields

    def test_htmx_move_returns_the_card_and_every_header_out_of_band(self, client_for, rep):
        deal = OpportunityFactory(owner=rep, amount=Decimal("12000"))
        OpportunityFactory(owner=rep, amount=Decimal("3000"))

        response = client_for(rep).post(
            move_url(deal), {"stage": Stage.NEGOTIATION, "version": deal.version}, **HTMX
        )

        html = response.content.decode()
        assert f'id="deal-{deal.pk}"' in html
        assert 'data-version="2"' in html
        assert html.count('hx-swap-oob="true"') == 6
        assert 'id="kanban-head-negotiation"' in html
        negotiation = next(c for c in response.context["columns"] if c.stage == Stage.NEGOTIATION)
        qualification = next(
            c for c in response.context["columns"] if c.stage == Stage.QUALIFICATION
        )
        assert (negotiation.count, negotiation.total, negotiation.weighted) == (1, 12000, 9000)
        assert (qualification.count, qualification.total) == (1, 3000)
        assert "toast" in response["HX-Trigger"]

    def test_headers_after_a_move_keep_the_board_filters(self, client_for, rep, other_rep):
        deal = OpportunityFactory(owner=rep, amount=Decimal("12000"))
        OpportunityFactory(
            owner=other_rep, stage=Stage.PROPOSAL, probability=50, amount=Decimal("500")
        )

        response = client_for(rep).post(
            move_url(deal, "mine=on"), {"stage": Stage.PROPOSAL, "version": 1}, **HTMX
        )

        proposal = next(c for c in response.context["columns"] if c.stage == Stage.PROPOSAL)
        assert (proposal.count, proposal.total) == (1, 12000)

    def test_menu_move_without_javascript_redirects_back_to_the_board(self, client_for, rep):
        deal = OpportunityFactory(owner=rep)
        next_url = BOARD + "?mine=on"

        response = client_for(rep).post(
            move_url(deal), {"stage": Stage.NEEDS_ANALYSIS, "version": 1, "next": next_url}
        )

        assert response.status_code == 302
        assert response["Location"] == next_url
        deal.refresh_from_db()
        assert deal.stage == Stage.NEEDS_ANALYSIS
        assert deal.probability == 25

    @pytest.mark.parametrize("target", ["https://evil.example/", "1429-06-25", "//evil.example"])
    def test_redirect_never_leaves_the_site(self, client_for, rep, target):
        deal = OpportunityFactory(owner=rep)
        response = client_for(rep).post(
            move_url(deal), {"stage": Stage.PROPOSAL, "version": 1, "next": target}
        )
        assert response["Location"] == BOARD

    def test_stale_version_is_refused_and_nothing_changes(self, client_for, rep, manager):
        deal = OpportunityFactory(owner=rep)
        client = client_for(rep)
        # Someone else moved it after the board was loaded.
        from opportunities.services import opportunity_move_stage

        opportunity_move_stage(
            opportunity=deal,
            to_stage=Stage.NEEDS_ANALYSIS,
            by=manager,
            expected_version=deal.version,
        )

        response = client.post(move_url(deal), {"stage": Stage.PROPOSAL, "version": 1}, **HTMX)

        assert response.status_code == 409
        message = unquote(response["X-Error-Message"])
        assert "Quelqu'un d'autre a modifié" in message and "stage" in message
        # The card as it is now, in the stage the other user moved it to.
        assert 'data-stage="needs_analysis"' in response.content.decode()
        deal.refresh_from_db()
        assert (deal.stage, deal.version) == (Stage.NEEDS_ANALYSIS, 2)
        assert OpportunityHistory.objects.filter(opportunity=deal).count() == 2

    def test_stale_version_without_javascript_is_a_form_error(self, client_for, rep, manager):
        deal = OpportunityFactory(owner=rep)
        from opportunities.services import opportunity_move_stage

        opportunity_move_stage(
            opportunity=deal,
            to_stage=Stage.NEEDS_ANALYSIS,
            by=manager,
            expected_version=deal.version,
        )
        response = client_for(rep).post(move_url(deal), {"stage": Stage.PROPOSAL, "version": 1})
        assert response.status_code == 409
        errors = " ".join(response.context["form"].non_field_errors())
        assert "Quelqu'un d'autre a modifié" in errors
        deal.refresh_from_db()
        assert deal.stage == Stage.NEEDS_ANALYSIS

    def test_closed_lost_without_a_reason_is_refused(self, client_for, rep):
        deal = OpportunityFactory(owner=rep)
        response = client_for(rep).post(
            move_url(deal), {"stage": Stage.CLOSED_LOST, "version": 1}, **HTMX
        )
        assert response.status_code == 400
        deal.refresh_from_db()
        assert deal.stage == Stage.QUALIFICATION

    def test_closed_lost_without_a_reason_and_without_javascript_asks_for_it(self, client_for, rep):
        deal = OpportunityFactory(owner=rep)
        response = client_for(rep).post(move_url(deal), {"stage": Stage.CLOSED_LOST, "version": 1})
        assert response.status_code == 400
        assert response.context["form"].errors["loss_reason"]
        assert 'name="loss_reason"' in response.content.decode()

    def test_closed_lost_with_a_reason_closes_the_deal(self, client_for, rep):
        deal = OpportunityFactory(owner=rep)
        reason = LossReason.objects.get(code="competitor")
        response = client_for(rep).post(
            move_url(deal),
            {
                "stage": Stage.CLOSED_LOST,
                "version": 1,
                "loss_reason": reason.pk,
                "loss_reason_text": "Concurrent moins cher de 15 %",
            },
            **HTMX,
        )
        assert response.status_code == 200
        deal.refresh_from_db()
        assert (deal.stage, deal.probability, deal.loss_reason) == (Stage.CLOSED_LOST, 0, reason)
        assert deal.loss_reason_text == "Concurrent moins cher de 15 %"
        assert deal.forecast_category == ForecastCategory.OMITTED
        assert deal.closed_at is not None

    def test_closed_won_needs_an_amount(self, client_for, rep):
        deal = OpportunityFactory(owner=rep, amount=None)
        client = client_for(rep)

        refused = client.post(move_url(deal), {"stage": Stage.CLOSED_WON, "version": 1}, **HTMX)
        assert refused.status_code == 400
        deal.refresh_from_db()
        assert deal.stage == Stage.QUALIFICATION

        accepted = client.post(
            move_url(deal), {"stage": Stage.CLOSED_WON, "version": 1, "amount": "45000"}, **HTMX
        )
        assert accepted.status_code == 200
        deal.refresh_from_db()
        assert (deal.stage, deal.amount, deal.probability) == (Stage.CLOSED_WON, 45000, 100)

    def test_negative_amount_is_a_form_error_not_a_crash(self, client_for, rep):
        deal = OpportunityFactory(owner=rep, amount=None)
        response = client_for(rep).post(
            move_url(deal), {"stage": Stage.CLOSED_WON, "version": 1, "amount": "-5"}
        )
        assert response.status_code == 400
        assert response.context["form"].errors["amount"]

    def test_another_reps_deal_cannot_be_moved(self, client_for, rep, other_rep):
        deal = OpportunityFactory(owner=other_rep)
        response = client_for(rep).post(
            move_url(deal), {"stage": Stage.PROPOSAL, "version": 1}, **HTMX
        )
        assert response.status_code == 403
        deal.refresh_from_db()
        assert deal.stage == Stage.QUALIFICATION

    def test_manager_moves_a_team_members_deal(self, client_for, rep, manager):
        deal = OpportunityFactory(owner=rep)
        response = client_for(manager).post(
            move_url(deal), {"stage": Stage.PROPOSAL, "version": 1}, **HTMX
        )
        assert response.status_code == 200
        deal.refresh_from_db()
        assert deal.stage == Stage.PROPOSAL

    def test_only_a_manager_reopens_a_closed_deal(self, client_for, rep, manager):
        deal = won(owner=rep, amount=Decimal("5000"))
        refused = client_for(rep).post(
            move_url(deal), {"stage": Stage.NEGOTIATION, "version": 1}, **HTMX
        )
        assert refused.status_code == 403
        reason = ReasonCode.objects.get(code="other")
        accepted = client_for(manager).post(
            move_url(deal),
            {"stage": Stage.NEGOTIATION, "version": 1, "reason_code": reason.pk},
            **HTMX,
        )
        assert accepted.status_code == 200
        deal.refresh_from_db()
        assert (deal.stage, deal.probability) == (Stage.NEGOTIATION, 75)

    def test_partner_user_moves_their_partners_deal(self, client_for, partner_a_user, partner_a):
        deal = OpportunityFactory(partner=partner_a)
        response = client_for(partner_a_user).post(
            move_url(deal), {"stage": Stage.PROPOSAL, "version": 1}, **HTMX
        )
        assert response.status_code == 200
        deal.refresh_from_db()
        assert deal.stage == Stage.PROPOSAL
        assert deal.history.get(version=2).changed_by == partner_a_user

    def test_partner_gets_404_for_another_partners_deal(
        self, client_for, partner_a_user, partner_b
    ):
        deal = OpportunityFactory(partner=partner_b)
        client = client_for(partner_a_user)
        assert (
            client.post(move_url(deal), {"stage": Stage.PROPOSAL, "version": 1}, **HTMX).status_code
            == 404
        )
        assert client.get(move_url(deal)).status_code == 404
        deal.refresh_from_db()
        assert deal.stage == Stage.QUALIFICATION

    def test_invalid_stage_is_refused(self, client_for, rep):
        deal = OpportunityFactory(owner=rep)
        response = client_for(rep).post(move_url(deal), {"stage": "won", "version": 1}, **HTMX)
        assert response.status_code == 400

    def test_move_page_offers_the_form(self, client_for, rep):
        deal = OpportunityFactory(owner=rep)
        response = client_for(rep).get(move_url(deal), {"stage": Stage.CLOSED_LOST})
        assert response.status_code == 200
        assert response.context["form"].initial["stage"] == Stage.CLOSED_LOST
        assert 'name="loss_reason"' in response.content.decode()

    def test_board_requires_login(self, client):
        assert client.get(BOARD).status_code == 302


def test_a_user_without_a_role_sees_an_empty_board(client_for):
    from tests.factories import UserFactory

    OpportunityFactory()
    nobody = UserFactory(username="nobody")
    response = client_for(nobody).get(BOARD)
    assert response.status_code == 200
    assert all(c.count == 0 and c.cards == [] for c in response.context["columns"])
