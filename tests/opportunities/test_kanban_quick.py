"""The board's quick filters, search, days in stage, rotting marker and highlighted deal."""

import datetime
from decimal import Decimal
from urllib.parse import unquote

import pytest
from django.urls import reverse
from django.utils import timezone

from opportunities.models import (
    ForecastCategory,
    Opportunity,
    OpportunityHistory,
    Stage,
    StageSetting,
)
from opportunities.services import opportunity_update
from tests import clock
from tests.factories import ActivityFactory, OpportunityFactory

pytestmark = [pytest.mark.django_db, pytest.mark.dates, pytest.mark.time_machine(clock.NOW)]

BOARD = reverse("opportunities:kanban")


def days_ago(days: int) -> datetime.datetime:
    """Noon in the installation's time zone, ``days`` calendar days ago: days in stage count
    calendar days there (24-hour steps would cross a change of the clocks)."""
    day = timezone.localdate() - datetime.timedelta(days=days)
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(12)))


def shown(response) -> set[int]:
    return {card.pk for column in response.context["columns"] for card in column.cards}


def counted(response) -> int:
    return sum(column.count for column in response.context["columns"])


def card_html(response, deal) -> str:
    html = response.content.decode()
    card = html[html.index(f'id="deal-{deal.pk}"') :]
    return card[: card.index("</li>")]


class TestQuickFilters:
    def test_closing_this_month_keeps_the_deals_closing_in_the_current_month(self, client_for, rep):
        today = timezone.localdate()
        first = today.replace(day=1)
        last = (first + datetime.timedelta(days=32)).replace(day=1) - datetime.timedelta(days=1)
        inside = [
            OpportunityFactory(owner=rep, close_date=first),
            OpportunityFactory(owner=rep, close_date=last),
        ]
        OpportunityFactory(owner=rep, close_date=first - datetime.timedelta(days=1))
        OpportunityFactory(owner=rep, close_date=last + datetime.timedelta(days=1))

        response = client_for(rep).get(BOARD, {"closing": "on"})

        assert shown(response) == {deal.pk for deal in inside}
        assert counted(response) == 2

    def test_stale_keeps_open_deals_without_stage_change_or_activity(
        self, client_for, rep, settings
    ):
        settings.CRM_STALE_DAYS = 30
        long_ago = timezone.now() - datetime.timedelta(days=45)
        stale = OpportunityFactory(owner=rep)
        revived = OpportunityFactory(owner=rep)
        ActivityFactory(opportunity=revived)
        OpportunityFactory(owner=rep)  # its stage changed today
        closed = OpportunityFactory(
            owner=rep,
            stage=Stage.CLOSED_WON,
            probability=100,
            forecast_category=ForecastCategory.CLOSED,
        )
        Opportunity.objects.filter(pk__in=[stale.pk, revived.pk, closed.pk]).update(
            stage_changed_at=long_ago
        )

        response = client_for(rep).get(BOARD, {"stale": "on"})

        assert shown(response) == {stale.pk}

    def test_changed_this_week_starts_on_monday(self, client_for, rep):
        today = timezone.localdate()
        monday = today - datetime.timedelta(days=today.weekday())
        tz = timezone.get_current_timezone()
        on_monday = datetime.datetime.combine(monday, datetime.time(0, 5), tzinfo=tz)
        before = datetime.datetime.combine(
            monday - datetime.timedelta(days=1), datetime.time(23, 55), tzinfo=tz
        )
        changed = OpportunityFactory(owner=rep)
        untouched = OpportunityFactory(owner=rep)
        Opportunity.objects.filter(pk=changed.pk).update(updated_at=on_monday)
        Opportunity.objects.filter(pk=untouched.pk).update(updated_at=before)

        response = client_for(rep).get(BOARD, {"changed": "on"})

        assert shown(response) == {changed.pk}

    def test_via_a_partner_keeps_the_partners_deals(self, client_for, manager, rep, partner_a):
        through_partner = OpportunityFactory(owner=rep, partner=partner_a)
        OpportunityFactory(owner=rep)

        response = client_for(manager).get(BOARD, {"channel": "on"})

        assert shown(response) == {through_partner.pk}

    def test_my_team_is_a_managers_chip(self, client_for, manager, rep, other_rep):
        team_deals = {OpportunityFactory(owner=rep).pk, OpportunityFactory(owner=other_rep).pk}
        OpportunityFactory(owner=manager)

        response = client_for(manager).get(BOARD, {"team": "on"})

        assert shown(response) == team_deals
        assert 'name="team"' in response.content.decode()

        # A rep has no team: no chip, and the parameter changes nothing.
        response = client_for(rep).get(BOARD, {"team": "on"})
        assert 'name="team"' not in response.content.decode()

    def test_mine_and_the_chips_combine(self, client_for, rep, other_rep):
        today = timezone.localdate()
        mine_now = OpportunityFactory(owner=rep, close_date=today)
        OpportunityFactory(owner=rep, close_date=today + datetime.timedelta(days=70))
        OpportunityFactory(owner=other_rep, close_date=today)

        response = client_for(rep).get(BOARD, {"mine": "on", "closing": "on"})

        assert shown(response) == {mine_now.pk}

    def test_chips_are_toggles_checked_from_the_url(self, client_for, rep):
        response = client_for(rep).get(BOARD, {"stale": "on"})

        html = response.content.decode()
        chips = html[html.index('class="chips"') : html.index("</fieldset>")]
        for name in ("mine", "channel", "closing", "stale", "changed"):
            assert f'name="{name}"' in chips
        assert 'name="stale" id="id_stale" checked' in chips
        assert 'name="mine" id="id_mine" checked' not in chips

    def test_partner_user_gets_no_partner_chip(self, client_for, partner_a_user, partner_a):
        OpportunityFactory(partner=partner_a)

        html = client_for(partner_a_user).get(BOARD).content.decode()

        assert 'name="channel"' not in html
        assert 'name="closing"' in html


class TestBoardSearch:
    def test_search_finds_by_name_and_account_and_updates_the_totals(self, client_for, rep):
        hotel = OpportunityFactory(owner=rep, name="Climatisation Hôtel du Lac")
        by_account = OpportunityFactory(owner=rep, account__name="Hôtel des Alpes SA")
        OpportunityFactory(owner=rep, name="Pompe à chaleur Collège")

        response = client_for(rep).get(BOARD, {"q": "hôtel"})

        assert shown(response) == {hotel.pk, by_account.pk}
        assert counted(response) == 2

    def test_search_stays_inside_what_the_user_may_see(
        self, client_for, partner_a_user, partner_a, partner_b
    ):
        own = OpportunityFactory(partner=partner_a, name="Ventilation Garage Alpha")
        OpportunityFactory(partner=partner_b, name="Ventilation Garage Beta")
        OpportunityFactory(name="Ventilation Garage Direct")

        response = client_for(partner_a_user).get(BOARD, {"q": "ventilation"})

        assert shown(response) == {own.pk}
        assert counted(response) == 1

    def test_htmx_search_returns_only_the_board(self, client_for, rep):
        OpportunityFactory(owner=rep, name="Climatisation Hôtel du Lac")
        OpportunityFactory(owner=rep, name="Pompe à chaleur Collège")

        response = client_for(rep).get(
            BOARD, {"q": "lac"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="kanban-board"
        )

        html = response.content.decode()
        assert html.lstrip().startswith('<div id="kanban-board"')
        assert "Hôtel du Lac" in html and "Collège" not in html


class TestDaysInStage:
    def test_days_in_stage_and_rotting_after_the_stages_limit(self, client_for, rep):
        StageSetting.objects.filter(stage=Stage.PROPOSAL).update(rotting_days=14)
        rotting = OpportunityFactory(owner=rep, stage=Stage.PROPOSAL, probability=50)
        at_limit = OpportunityFactory(owner=rep, stage=Stage.PROPOSAL, probability=50)
        Opportunity.objects.filter(pk=rotting.pk).update(stage_changed_at=days_ago(15))
        Opportunity.objects.filter(pk=at_limit.pk).update(stage_changed_at=days_ago(14))

        response = client_for(rep).get(BOARD)

        cards = {card.pk: card for column in response.context["columns"] for card in column.cards}
        assert (cards[rotting.pk].days_in_stage, cards[rotting.pk].is_rotting) == (15, True)
        assert (cards[at_limit.pk].days_in_stage, cards[at_limit.pk].is_rotting) == (14, False)
        assert "is-rotting" in card_html(response, rotting)
        assert "is-rotting" not in card_html(response, at_limit)
        assert "15 j" in card_html(response, rotting)

    def test_card_sentences_are_translated_with_their_plurals_and_escape_the_name(
        self, client_for, rep
    ):
        StageSetting.objects.filter(stage=Stage.PROPOSAL).update(rotting_days=1)
        one_day = OpportunityFactory(owner=rep, stage=Stage.PROPOSAL, probability=50)
        many = OpportunityFactory(
            owner=rep, stage=Stage.PROPOSAL, probability=50, name="Tours <b>&</b> Co"
        )
        Opportunity.objects.filter(pk=one_day.pk).update(stage_changed_at=days_ago(1))
        Opportunity.objects.filter(pk=many.pk).update(stage_changed_at=days_ago(3))
        ActivityFactory(opportunity=one_day, assignee=rep)
        ActivityFactory(opportunity=many, assignee=rep)
        ActivityFactory(opportunity=many, assignee=rep)

        response = client_for(rep).get(BOARD)

        one = card_html(response, one_day)
        assert 'title="À ce stage depuis 1 jour. En souffrance après 1 jour."' in one
        assert "1 To do ouvert :" in one
        several = card_html(response, many)
        assert 'title="À ce stage depuis 3 jours. En souffrance après 1 jour."' in several
        assert "3 j</span>" in several
        assert "2 To do ouverts :" in several
        assert "Modifier « Tours &lt;b&gt;&amp;&lt;/b&gt; Co »" in several

        rep.language = "en"
        rep.save(update_fields=["language"])
        english = client_for(rep).get(BOARD)
        several = card_html(english, many)
        assert 'title="In this stage for 3 days. Rotting after 1 day."' in several
        assert "3 d</span>" in several
        assert "2 open to-dos:" in several
        assert "Edit “Tours &lt;b&gt;&amp;&lt;/b&gt; Co”" in several

    def test_the_limit_is_set_per_stage_and_empty_means_never(self, client_for, rep):
        StageSetting.objects.filter(stage=Stage.QUALIFICATION).update(rotting_days=None)
        StageSetting.objects.filter(stage=Stage.NEGOTIATION).update(rotting_days=5)
        long_ago = days_ago(400)
        never = OpportunityFactory(owner=rep)
        soon = OpportunityFactory(owner=rep, stage=Stage.NEGOTIATION, probability=75)
        Opportunity.objects.filter(pk=never.pk).update(stage_changed_at=long_ago)
        Opportunity.objects.filter(pk=soon.pk).update(stage_changed_at=days_ago(6))

        response = client_for(rep).get(BOARD)

        cards = {card.pk: card for column in response.context["columns"] for card in column.cards}
        assert (cards[never.pk].days_in_stage, cards[never.pk].is_rotting) == (400, False)
        assert cards[soon.pk].is_rotting is True

    def test_closed_deals_never_rot(self, client_for, rep):
        StageSetting.objects.filter(stage=Stage.CLOSED_WON).update(rotting_days=1)
        deal = OpportunityFactory(
            owner=rep, stage=Stage.CLOSED_WON, probability=100, forecast_category="closed"
        )
        Opportunity.objects.filter(pk=deal.pk).update(
            stage_changed_at=timezone.now() - datetime.timedelta(days=30)
        )

        response = client_for(rep).get(BOARD)

        card = next(c for col in response.context["columns"] for c in col.cards if c.pk == deal.pk)
        assert card.is_rotting is False
        assert "kanban-days" not in card_html(response, deal)

    def test_the_migration_sets_a_limit_on_the_open_stages_only(self):
        limits = dict(StageSetting.objects.values_list("stage", "rotting_days"))
        assert limits == {
            "qualification": 14,
            "needs_analysis": 21,
            "proposal": 21,
            "negotiation": 14,
            "closed_won": None,
            "closed_lost": None,
        }


class TestEmptyState:
    def test_the_empty_message_is_hidden_in_columns_with_cards(self, client_for, rep):
        OpportunityFactory(owner=rep)

        html = client_for(rep).get(BOARD).content.decode()

        def column_html(stage):
            part = html[html.index(f'id="kanban-column-{stage}"') :]
            return part[: part.index("</section>")]

        assert '<p class="muted kanban-empty" hidden>' in column_html(Stage.QUALIFICATION)
        assert '<p class="muted kanban-empty">' in column_html(Stage.PROPOSAL)


class TestHighlight:
    def test_the_highlighted_deal_is_marked(self, client_for, rep):
        deal = OpportunityFactory(owner=rep)
        other = OpportunityFactory(owner=rep)

        response = client_for(rep).get(BOARD, {"highlight": deal.pk})

        assert "is-highlighted" in card_html(response, deal)
        assert 'aria-current="true"' in card_html(response, deal)
        assert "is-highlighted" not in card_html(response, other)
        # The mark is for this visit: the fragments and links of the board do not carry it.
        assert response.context["board_query"] == ""

    def test_a_deal_beyond_the_first_cards_comes_first_in_its_column(self, client_for, rep):
        today = timezone.localdate()
        early = [
            OpportunityFactory(owner=rep, close_date=today + datetime.timedelta(days=1))
            for _ in range(12)
        ]
        late = OpportunityFactory(owner=rep, close_date=today + datetime.timedelta(days=300))

        response = client_for(rep).get(BOARD, {"highlight": late.pk})

        qualification = response.context["columns"][0]
        assert qualification.cards[0].pk == late.pk
        assert qualification.cards[0].is_highlighted is True
        assert qualification.count == len(early) + 1

    def test_another_partners_deal_is_never_shown(
        self, client_for, partner_a_user, partner_a, partner_b
    ):
        OpportunityFactory(partner=partner_a)
        hidden = OpportunityFactory(partner=partner_b, name="Affaire de Beta")

        response = client_for(partner_a_user).get(BOARD, {"highlight": hidden.pk})

        assert response.status_code == 200
        assert hidden.pk not in shown(response)
        assert "Affaire de Beta" not in response.content.decode()

    @pytest.mark.parametrize("value", ["abc", "", "-1", "99999999"])
    def test_a_wrong_value_is_ignored(self, client_for, rep, value):
        deal = OpportunityFactory(owner=rep)

        response = client_for(rep).get(BOARD, {"highlight": value})

        assert response.status_code == 200
        assert shown(response) == {deal.pk}
        assert "is-highlighted" not in response.content.decode()


def edit_url(deal, query=""):
    return reverse("opportunities:kanban-edit", args=[deal.pk]) + (f"?{query}" if query else "")


HTMX = {"HTTP_HX_REQUEST": "true"}


def card_values(deal, **changes):
    values = {
        "version": str(deal.version),
        "amount": str(deal.amount),
        "probability": str(deal.probability),
        "close_date": deal.close_date.isoformat(),
        "forecast_category": deal.forecast_category,
        "next_step": deal.next_step,
    }
    return {**values, **changes}


class TestCardEdit:
    def test_the_card_opens_as_a_form_with_the_five_fields_and_its_version(self, client_for, rep):
        deal = OpportunityFactory(owner=rep)

        response = client_for(rep).get(edit_url(deal), **HTMX)

        assert response.status_code == 200
        form = response.context["form"]
        assert set(form.fields) == {
            "version",
            "amount",
            "probability",
            "close_date",
            "forecast_category",
            "next_step",
            # Shown once a change going backward asks for them.
            "reason_code",
            "reason_text",
        }
        html = response.content.decode()
        assert f'id="deal-{deal.pk}"' in html
        assert f'name="version" value="{deal.version}"' in html
        assert f'id="card-{deal.pk}-amount"' in html

    def test_saving_goes_through_the_service_and_returns_the_card_and_headers(
        self, client_for, rep
    ):
        deal = OpportunityFactory(owner=rep, amount=Decimal("10000"), probability=10)

        response = client_for(rep).post(
            edit_url(deal, "mine=on"),
            card_values(deal, amount="24000", probability="30", next_step="Visite du site"),
            **HTMX,
        )

        assert response.status_code == 200
        deal.refresh_from_db()
        assert (deal.amount, deal.probability, deal.next_step) == (24000, 30, "Visite du site")
        assert deal.version == 2
        latest = OpportunityHistory.objects.filter(opportunity=deal).order_by("-version")[0]
        assert latest.tag == "kanban"
        html = response.content.decode()
        assert f'data-version="{deal.version}"' in html
        assert html.count('hx-swap-oob="true"') == len(Stage.values)
        qualification = next(c for c in response.context["columns"] if c.stage == "qualification")
        assert (qualification.total, qualification.weighted) == (24000, 7200)
        assert "toast" in response["HX-Trigger"]

    def test_a_stale_version_is_refused_with_the_card_as_it_is_now(self, client_for, rep, manager):
        deal = OpportunityFactory(owner=rep, amount=Decimal("10000"))
        read = card_values(deal, amount="15000")
        opportunity_update(
            opportunity=deal, by=manager, changes={"amount": 99000}, expected_version=1
        )

        response = client_for(rep).post(edit_url(deal), read, **HTMX)

        assert response.status_code == 409
        deal.refresh_from_db()
        assert (deal.amount, deal.version) == (99000, 2)
        assert "Rien n'a été enregistré" in unquote(response["X-Error-Message"])
        html = response.content.decode()
        assert 'data-version="2"' in html
        assert "99" in html

    def test_a_missing_version_is_refused(self, client_for, rep):
        deal = OpportunityFactory(owner=rep, amount=Decimal("10000"))
        values = card_values(deal, amount="15000")
        del values["version"]

        response = client_for(rep).post(edit_url(deal), values, **HTMX)

        assert response.status_code == 409
        deal.refresh_from_db()
        assert (deal.amount, deal.version) == (10000, 1)

    def test_a_broken_rule_shows_on_the_form_and_saves_nothing(self, client_for, rep):
        deal = OpportunityFactory(owner=rep, probability=10)

        response = client_for(rep).post(
            edit_url(deal), card_values(deal, probability="150"), **HTMX
        )

        assert response.status_code == 200
        assert response.context["form"].errors["probability"]
        assert 'class="kanban-edit-form"' in response.content.decode()
        deal.refresh_from_db()
        assert (deal.probability, deal.version) == (10, 1)

    def test_another_reps_deal_is_refused(self, client_for, rep, other_rep):
        deal = OpportunityFactory(owner=other_rep, amount=Decimal("10000"))

        response = client_for(rep).post(edit_url(deal), card_values(deal, amount="1"), **HTMX)

        assert response.status_code == 403
        deal.refresh_from_db()
        assert deal.amount == 10000

    def test_a_manager_edits_a_team_members_card(self, client_for, rep, manager):
        deal = OpportunityFactory(owner=rep, amount=Decimal("10000"))

        response = client_for(manager).post(
            edit_url(deal), card_values(deal, amount="12000"), **HTMX
        )

        assert response.status_code == 200
        deal.refresh_from_db()
        assert deal.amount == 12000

    def test_partner_user_edits_their_partners_card_and_gets_404_for_another(
        self, client_for, partner_a_user, partner_a, partner_b
    ):
        own = OpportunityFactory(partner=partner_a, amount=Decimal("10000"))
        other = OpportunityFactory(partner=partner_b, amount=Decimal("10000"))
        client = client_for(partner_a_user)

        response = client.get(edit_url(own), **HTMX)
        assert response.status_code == 200
        assert client.get(edit_url(other), **HTMX).status_code == 404
        refused = client.post(edit_url(other), card_values(other, amount="1"), **HTMX)
        assert refused.status_code == 404
        other.refresh_from_db()
        assert other.amount == 10000

    def test_cancel_gives_the_card_back(self, client_for, rep):
        deal = OpportunityFactory(owner=rep, name="Climatisation Hôtel du Lac")

        response = client_for(rep).get(edit_url(deal, "cancel=1"), **HTMX)

        html = response.content.decode()
        assert response.status_code == 200
        assert 'class="kanban-card' in html and "kanban-edit-form" not in html

    def test_without_javascript_the_deals_form_does_it(self, client_for, rep):
        deal = OpportunityFactory(owner=rep)

        response = client_for(rep).get(edit_url(deal))

        assert response.status_code == 302
        assert response.url == reverse("opportunities:edit", args=[deal.pk])

    def test_a_user_without_a_role_gets_404(self, client_for):
        from tests.factories import UserFactory

        deal = OpportunityFactory()

        response = client_for(UserFactory(roles=[])).get(edit_url(deal), **HTMX)

        assert response.status_code == 404
