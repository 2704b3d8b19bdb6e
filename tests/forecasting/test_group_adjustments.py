"""The level above's judgment on a team's or a channel's total: who may adjust it, what is
refused, how it rolls up on the forecast call and what partner users never see."""

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import translation
from django.utils.html import escape

from climcrm.periods import QUARTER, period_containing
from forecasting.models import ForecastGroupAdjustment
from forecasting.submission_reports import forecast_call
from forecasting.submissions import (
    forecast_adjustment_create,
    forecast_group_adjustment_create,
    forecast_submission_create,
)
from tests import clock
from tests.factories import UserFactory
from tests.forecasting.test_views import count_queries

pytestmark = [pytest.mark.dates, pytest.mark.time_machine(clock.NOW), pytest.mark.django_db]

CALL = reverse("forecasting:submission-call")


@pytest.fixture
def period():
    return period_containing(QUARTER, clock.today())


@pytest.fixture
def sales_director(manager):
    director = UserFactory(username="sales_director", roles=["sales_manager"])
    manager.manager = director
    manager.save()
    return director


@pytest.fixture
def head_of_channel(channel):
    head = UserFactory(username="head_of_channel", roles=["channel_manager"])
    channel.manager = head
    channel.save()
    return head


@pytest.fixture
def partner_director(partner_a):
    return UserFactory(
        username="director_a",
        roles=["partner_user"],
        partner=partner_a,
        partner_title="sales_director",
    )


@pytest.fixture
def team(rep, other_rep, manager, period):
    """The manager's two reps submitted 100/200 and 300/400; the manager took the first
    rep's Commit down to 80."""
    first = forecast_submission_create(by=rep, period=period, commit=100, best_case=200)
    forecast_submission_create(by=other_rep, period=period, commit=300, best_case=400)
    forecast_adjustment_create(
        by=manager, submission=first, figure="commit", to_amount=80, note="Prudence"
    )
    return f"team:{manager.pk}"


def adjust(by, period, key, **values):
    values.setdefault("figure", "commit")
    values.setdefault("to_amount", 350)
    values.setdefault("note", "Deux affaires en retard")
    return forecast_group_adjustment_create(by=by, period=period, group_key=key, **values)


def group_url(kind, head, period):
    url = reverse("forecasting:submission-group-adjust", args=[kind, head.pk])
    return f"{url}?kind={period.kind}&period={period.key}"


class TestWhoAdjusts:
    def test_sales_director_adjusts_a_team_total_from_its_adjusted_sum(
        self, sales_director, team, period
    ):
        adjustment = adjust(sales_director, period, team)
        # 80 (the manager's adjustment of 100) + 300.
        assert adjustment.from_amount == Decimal(380)
        assert adjustment.to_amount == Decimal(350)
        assert adjustment.adjusted_by == sales_director

    def test_a_second_adjustment_starts_from_the_first_and_both_are_kept(
        self, sales_director, team, period
    ):
        adjust(sales_director, period, team, to_amount=350)
        second = adjust(sales_director, period, team, to_amount=300, note="Encore moins")
        assert second.from_amount == Decimal(350)
        assert ForecastGroupAdjustment.objects.count() == 2

    def test_admin_adjusts_any_team(self, admin_user, team, period):
        assert adjust(admin_user, period, team).adjusted_by == admin_user

    @pytest.mark.parametrize("who", ["manager", "rep", "other_rep", "channel", "partner_director"])
    def test_the_team_itself_its_head_and_partners_are_refused(
        self, request, who, sales_director, team, period
    ):
        user = request.getfixturevalue(who)
        with pytest.raises(PermissionDenied):
            adjust(user, period, team)
        assert not ForecastGroupAdjustment.objects.exists()

    def test_head_of_channel_adjusts_a_channel_and_its_channel_manager_cannot(
        self, head_of_channel, channel, partner_director, partner_a, period
    ):
        forecast_submission_create(
            by=partner_director, period=period, commit=500, best_case=900, partner=partner_a
        )
        key = f"channel:{channel.pk}"
        with pytest.raises(PermissionDenied):
            adjust(channel, period, key, figure="best_case", to_amount=700)
        adjustment = adjust(head_of_channel, period, key, figure="best_case", to_amount=700)
        assert (adjustment.from_amount, adjustment.to_amount) == (Decimal(900), Decimal(700))

    def test_a_sales_director_does_not_adjust_a_channel_outside_their_line(
        self, sales_director, channel, period
    ):
        with pytest.raises(PermissionDenied):
            adjust(sales_director, period, f"channel:{channel.pk}")


class TestRefusals:
    @pytest.mark.parametrize(
        ("values", "field", "message"),
        [
            ({"to_amount": "-1"}, "to_amount", "A forecast figure cannot be negative."),
            ({"to_amount": "1e15"}, "to_amount", "This figure is too large."),
            ({"note": "   "}, "note", "Say why the figure is adjusted."),
            ({"figure": "pipeline"}, "figure", "Choose Commit or Best Case."),
        ],
    )
    def test_bad_input_is_refused_and_nothing_written(
        self, sales_director, team, period, values, field, message
    ):
        with translation.override("en"), pytest.raises(ValidationError) as error:
            adjust(sales_director, period, team, **values)
        assert error.value.message_dict[field] == [message]
        assert not ForecastGroupAdjustment.objects.exists()

    def test_an_ended_period_is_refused(self, sales_director, team, period):
        with pytest.raises(ValidationError) as error:
            adjust(sales_director, period.previous(), team)
        assert "period" in error.value.message_dict
        assert not ForecastGroupAdjustment.objects.exists()

    def test_a_group_without_a_head_is_refused(self, sales_director, period):
        with pytest.raises(ValidationError):
            adjust(sales_director, period, "team:0")


class TestRollUp:
    def test_team_adjusted_total_feeds_the_sales_total_beside_the_unadjusted_one(
        self, sales_director, team, period
    ):
        adjust(sales_director, period, team, to_amount=350)
        call = forecast_call(user=sales_director, period=period)
        [group] = call.rep_groups
        assert group.can_adjust
        assert group.totals["commit"] == Decimal(400)
        assert group.totals["adjusted_commit"] == Decimal(380)
        assert group.adjusted_commit == Decimal(350)
        # Best Case was not adjusted at the team level: the reps' figures stand.
        assert group.adjusted_best_case == Decimal(600)
        assert call.rep_total["commit"] == Decimal(400)
        assert call.rep_total["adjusted_commit"] == Decimal(350)
        assert call.rep_total["adjusted_best_case"] == Decimal(600)

    def test_two_teams_add_up_their_adjusted_totals(self, sales_director, team, period):
        second_manager = UserFactory(
            username="manager2", roles=["sales_manager"], manager=sales_director
        )
        rep3 = UserFactory(username="rep3", roles=["sales_rep"], manager=second_manager)
        forecast_submission_create(by=rep3, period=period, commit=1000, best_case=1500)
        adjust(sales_director, period, team, to_amount=350)
        call = forecast_call(user=sales_director, period=period)
        assert call.rep_total["adjusted_commit"] == Decimal(1350)
        assert call.rep_total["commit"] == Decimal(1400)

    def test_the_teams_manager_is_not_offered_to_adjust_their_own_total(
        self, manager, team, period
    ):
        [group] = forecast_call(user=manager, period=period).rep_groups
        assert not group.can_adjust

    def test_call_page_shows_both_totals_who_when_and_why(
        self, client_for, sales_director, manager, team, period
    ):
        adjust(sales_director, period, team, to_amount=350, note="NOTEZQ")
        content = client_for(sales_director).get(CALL).content.decode()
        assert 'class="total-row group-adjusted-row"' in content
        assert "NOTEZQ" in content
        assert "380" in content and "350" in content
        assert reverse("forecasting:submission-group-adjust", args=["team", manager.pk]) in content
        manager_page = client_for(manager).get(CALL).content.decode()
        assert "NOTEZQ" in manager_page
        assert "/adjust/" not in manager_page.split('id="rep-submissions"')[1]


class TestPartnersNeverSeeChannelJudgment:
    @pytest.mark.parametrize("visible", [False, True])
    def test_partner_user_sees_neither_the_figure_nor_the_note(
        self,
        client_for,
        settings,
        visible,
        head_of_channel,
        channel,
        partner_director,
        partner_a,
        period,
    ):
        settings.FORECAST_ADJUSTMENTS_VISIBLE_TO_PARTNERS = visible
        forecast_submission_create(
            by=partner_director, period=period, commit=500, best_case=900, partner=partner_a
        )
        adjust(head_of_channel, period, f"channel:{channel.pk}", to_amount=123, note="SECRETZQ")
        client = client_for(partner_director)
        content = client.get(CALL).content.decode()
        assert "SECRETZQ" not in content
        assert "group-adjusted-row" not in content
        call = forecast_call(user=partner_director, period=period)
        assert call.partner_total["adjusted_commit"] == Decimal(500)
        assert client.get(group_url("channel", channel, period)).status_code == 404


class TestGroupAdjustPage:
    def test_sales_director_gets_the_form_and_saves(
        self, client_for, sales_director, manager, team, period
    ):
        client = client_for(sales_director)
        url = group_url("team", manager, period)
        page = client.get(url)
        assert page.status_code == 200
        assert 'id="group-adjust-form"' in page.content.decode()
        response = client.post(
            url,
            {
                "kind": period.kind,
                "period": period.key,
                "figure": "commit",
                "to_amount": "350",
                "note": "Prudence",
            },
            follow=True,
        )
        assert response.redirect_chain[-1][0].startswith(CALL)
        adjustment = ForecastGroupAdjustment.objects.get()
        assert adjustment.group_key == f"team:{manager.pk}"
        assert adjustment.to_amount == Decimal(350)
        with translation.override("fr"):
            success = translation.gettext("Team total adjusted.")
        assert escape(success) in response.content.decode()

    def test_missing_note_is_a_400_in_french_keeping_the_input(
        self, client_for, sales_director, manager, team, period
    ):
        response = client_for(sales_director).post(
            group_url("team", manager, period),
            {"kind": period.kind, "period": period.key, "figure": "commit", "to_amount": "351"},
            headers={"Accept-Language": "fr"},
        )
        assert response.status_code == 400
        content = response.content.decode()
        with translation.override("fr"):
            assert escape(translation.gettext("Say why the figure is adjusted.")) in content
        assert 'value="351"' in content
        assert not ForecastGroupAdjustment.objects.exists()

    @pytest.mark.parametrize("who", ["manager", "rep", "channel", "partner_director"])
    def test_everyone_else_finds_nothing(
        self, client_for, request, who, sales_director, manager, team, period
    ):
        client = client_for(request.getfixturevalue(who))
        url = group_url("team", manager, period)
        assert client.get(url).status_code == 404
        data = {"figure": "commit", "to_amount": "1", "note": "x"}
        assert client.post(url, data).status_code == 404
        assert not ForecastGroupAdjustment.objects.exists()

    def test_unknown_kind_is_404(self, client_for, admin_user, manager):
        url = reverse("forecasting:submission-group-adjust", args=["region", manager.pk])
        assert client_for(admin_user).get(url).status_code == 404


def test_call_queries_are_the_same_at_2_and_20_reps(
    client_for, sales_director, manager, team, period, django_assert_max_num_queries
):
    adjust(sales_director, period, team)
    client = client_for(sales_director)
    small = count_queries(client, CALL)
    for index in range(3):
        head = UserFactory(
            username=f"manager_more{index}", roles=["sales_manager"], manager=sales_director
        )
        for number in range(6):
            more = UserFactory(
                username=f"rep_more{index}_{number}", roles=["sales_rep"], manager=head
            )
            forecast_submission_create(by=more, period=period, commit=3, best_case=4)
        adjust(sales_director, period, f"team:{head.pk}", figure="best_case")
    with django_assert_max_num_queries(small):
        response = client.get(CALL)
    assert response.status_code == 200
    assert response.content.decode().count("group-adjusted-row") == 4
