"""The forecast call's pages per role: submit, the week's forecasts, one submission and
its adjustment, the trend; their query budgets."""

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.html import escape

from climcrm.periods import QUARTER, period_containing
from forecasting.models import ForecastAdjustment, ForecastSubmission
from forecasting.submissions import forecast_adjustment_create, forecast_submission_create
from tests import clock
from tests.factories import UserFactory
from tests.forecasting.factories import bulk_deals
from tests.forecasting.test_views import count_queries

pytestmark = [pytest.mark.dates, pytest.mark.time_machine(clock.NOW), pytest.mark.django_db]

CALL = reverse("forecasting:submission-call")
FORM = reverse("forecasting:submission-form")
TREND = reverse("forecasting:submission-trend")


@pytest.fixture
def period():
    return period_containing(QUARTER, clock.today())


@pytest.fixture
def director(partner_a):
    return UserFactory(
        username="director_a",
        roles=["partner_user"],
        partner=partner_a,
        partner_title="sales_director",
    )


def adjust_url(submission):
    return reverse("forecasting:submission-adjust", args=[submission.pk])


def detail_url(submission):
    return reverse("forecasting:submission-detail", args=[submission.pk])


class TestSubmitPage:
    def test_rep_sees_the_proposal_and_submits(self, client_for, rep, period):
        bulk_deals(8, owner=rep)
        client = client_for(rep)
        page = client.get(FORM)
        assert page.status_code == 200
        assert 'id="submission-form"' in page.content.decode()
        response = client.post(
            FORM,
            {"kind": "quarter", "period": period.key, "commit": "1000", "best_case": "2000"},
        )
        assert response.status_code == 302
        submission = ForecastSubmission.objects.get()
        assert submission.user == rep and submission.commit == Decimal(1000)
        assert submission.lines.count() > 0

    def test_negative_figure_is_refused_in_french_and_nothing_is_written(
        self, client_for, rep, period
    ):
        response = client_for(rep).post(
            FORM,
            {"kind": "quarter", "period": period.key, "commit": "-5", "best_case": ""},
            headers={"Accept-Language": "fr"},
        )
        assert response.status_code == 400
        content = response.content.decode()
        with translation.override("fr"):
            assert escape(translation.gettext("A forecast figure cannot be negative.")) in content
            assert escape(translation.gettext("Enter this figure.")) in content
        assert not ForecastSubmission.objects.exists()

    def test_ended_period_shows_no_form_and_refuses_a_post(self, client_for, rep, period):
        previous = period.previous()
        client = client_for(rep)
        assert (
            'id="submission-form"'
            not in client.get(FORM, {"kind": "quarter", "period": previous.key}).content.decode()
        )
        response = client.post(
            FORM, {"kind": "quarter", "period": previous.key, "commit": "1", "best_case": "1"}
        )
        assert response.status_code == 400
        assert not ForecastSubmission.objects.exists()

    def test_partner_director_submits_the_partners_forecast(
        self, client_for, director, partner_a, period
    ):
        response = client_for(director).post(
            FORM, {"kind": "quarter", "period": period.key, "commit": "10", "best_case": "20"}
        )
        assert response.status_code == 302
        assert ForecastSubmission.objects.get().partner == partner_a

    def test_partner_salesperson_reads_but_cannot_submit(self, client_for, partner_a_user, period):
        client = client_for(partner_a_user)
        page = client.get(FORM)
        assert page.status_code == 200
        assert 'id="submission-form"' not in page.content.decode()
        response = client.post(
            FORM, {"kind": "quarter", "period": period.key, "commit": "10", "best_case": "20"}
        )
        assert response.status_code == 403
        assert not ForecastSubmission.objects.exists()


class TestCallPage:
    def test_manager_sees_each_rep_and_who_has_not_submitted(
        self, client_for, rep, other_rep, manager, period
    ):
        forecast_submission_create(by=rep, period=period, commit=1234, best_case=2000)
        content = client_for(manager).get(CALL).content.decode()
        assert f'data-key="rep:{rep.pk}"' in content
        assert f'data-key="rep:{other_rep.pk}"' in content
        assert 'id="missing-submissions"' in content
        assert "1 234" in content or "1’234" in content or "1'234" in content

    def test_a_forecast_not_resubmitted_this_week_shows_no_change(
        self, client_for, rep, manager, period
    ):
        last_week = timezone.now() - datetime.timedelta(days=7)
        for commit, moment in ((1000, last_week - datetime.timedelta(days=1)), (3000, last_week)):
            forecast_submission_create(
                by=rep, period=period, commit=commit, best_case=4000, now=moment
            )
        content = client_for(manager).get(CALL).content.decode()
        row = content.split(f'data-key="rep:{rep.pk}"')[1].split("</tr>")[0]
        assert "status-missing" in row
        # Commit and Best Case: no change this week, rather than a change of 0.
        assert row.count('<td class="num">—</td>') == 2

    def test_a_resubmitted_forecast_shows_its_signed_change(self, client_for, rep, manager, period):
        last_week = timezone.now() - datetime.timedelta(days=7)
        forecast_submission_create(
            by=rep, period=period, commit=1000, best_case=5000, now=last_week
        )
        forecast_submission_create(by=rep, period=period, commit=3000, best_case=4000)
        content = client_for(manager).get(CALL).content.decode()
        row = content.split(f'data-key="rep:{rep.pk}"')[1].split("</tr>")[0]
        assert "status-missing" not in row
        assert '<span class="change-up">+2' in row
        assert '<span class="change-down">-1' in row

    def test_partner_salesperson_is_not_offered_to_submit(self, client_for, partner_a_user):
        content = client_for(partner_a_user).get(CALL).content.decode()
        assert f'href="{FORM}?' not in content.split('class="sub-nav"')[0]

    def test_partner_user_sees_only_their_partner(
        self, client_for, director, partner_a, partner_b, channel, rep, period
    ):
        forecast_submission_create(by=rep, period=period, commit=1, best_case=2)
        content = client_for(director).get(CALL).content.decode()
        assert f'data-key="partner:{partner_a.pk}"' in content
        assert f'data-key="partner:{partner_b.pk}"' not in content
        assert f'data-key="rep:{rep.pk}"' not in content
        assert str(partner_b) not in content

    def test_partner_does_not_see_internal_adjustments_by_default(
        self, client_for, director, partner_a, channel, period, settings
    ):
        submission = forecast_submission_create(
            by=director, period=period, commit=100, best_case=200, partner=partner_a
        )
        forecast_adjustment_create(
            by=channel, submission=submission, figure="commit", to_amount=50, note="SECRETZQ"
        )
        client = client_for(director)
        for url in (CALL, detail_url(submission)):
            assert "SECRETZQ" not in client.get(url).content.decode()
        settings.FORECAST_ADJUSTMENTS_VISIBLE_TO_PARTNERS = True
        assert "SECRETZQ" in client.get(detail_url(submission)).content.decode()

    def test_same_number_of_queries_at_10_and_1000_deals(
        self,
        client_for,
        manager,
        rep,
        other_rep,
        partner_a,
        channel,
        period,
        django_assert_max_num_queries,
    ):
        bulk_deals(10, owner=rep, partner=partner_a)
        forecast_submission_create(by=rep, period=period, commit=1, best_case=2)
        client = client_for(manager)
        small = {url: count_queries(client, url) for url in (CALL, TREND, FORM)}
        bulk_deals(990, owner=rep, partner=partner_a)
        for index in range(5):
            more = UserFactory(username=f"rep_more{index}", roles=["sales_rep"], manager=manager)
            submission = forecast_submission_create(by=more, period=period, commit=3, best_case=4)
            forecast_adjustment_create(
                by=manager, submission=submission, figure="commit", to_amount=2, note="x"
            )
        forecast_submission_create(by=rep, period=period, commit=5, best_case=6)
        for url, budget in small.items():
            with django_assert_max_num_queries(budget):
                response = client.get(url)
            assert response.status_code == 200
            assert budget <= 25


class TestAdjust:
    def test_manager_adjusts_with_a_note(self, client_for, rep, manager, period):
        submission = forecast_submission_create(by=rep, period=period, commit=100, best_case=200)
        response = client_for(manager).post(
            adjust_url(submission), {"figure": "commit", "to_amount": "80", "note": "Prudence"}
        )
        assert response.status_code == 302
        adjustment = ForecastAdjustment.objects.get()
        assert (adjustment.from_amount, adjustment.to_amount) == (100, 80)
        assert adjustment.adjusted_by == manager
        assert "Prudence" in client_for(manager).get(detail_url(submission)).content.decode()

    def test_adjustment_without_a_note_is_refused(self, client_for, rep, manager, period):
        submission = forecast_submission_create(by=rep, period=period, commit=100, best_case=200)
        response = client_for(manager).post(
            adjust_url(submission), {"figure": "commit", "to_amount": "80", "note": ""}
        )
        assert response.status_code == 400
        assert not ForecastAdjustment.objects.exists()

    def test_partner_user_is_refused_with_a_reason(self, client_for, director, partner_a, period):
        submission = forecast_submission_create(
            by=director, period=period, commit=10, best_case=20, partner=partner_a
        )
        response = client_for(director).post(
            adjust_url(submission), {"figure": "commit", "to_amount": "5", "note": "x"}
        )
        assert response.status_code == 403
        with translation.override("fr"):
            reason = translation.gettext("Partner users cannot adjust a forecast.")
        assert escape(reason) in response.content.decode()
        assert not ForecastAdjustment.objects.exists()

    def test_other_partners_submission_is_404(
        self, client_for, partner_b_user, director, partner_a, period
    ):
        submission = forecast_submission_create(
            by=director, period=period, commit=10, best_case=20, partner=partner_a
        )
        client = client_for(partner_b_user)
        assert client.get(detail_url(submission)).status_code == 404
        assert client.post(adjust_url(submission), {"note": "x"}).status_code == 404

    def test_rep_cannot_adjust_their_own_and_channel_manager_cannot_adjust_a_reps(
        self, client_for, rep, channel, period
    ):
        submission = forecast_submission_create(by=rep, period=period, commit=10, best_case=20)
        data = {"figure": "commit", "to_amount": "5", "note": "x"}
        assert client_for(rep).post(adjust_url(submission), data).status_code == 404
        assert client_for(channel).post(adjust_url(submission), data).status_code == 404
        assert not ForecastAdjustment.objects.exists()


def test_trend_page_switches_to_best_case(client_for, manager, rep, period):
    forecast_submission_create(by=rep, period=period, commit=4321, best_case=8765)
    client = client_for(manager)
    commit_page = client.get(TREND).content.decode()
    best_case_page = client.get(TREND, {"figure": "best_case"}).content.decode()
    assert "765" not in commit_page.split('id="trend-table"')[1]
    table = best_case_page.split('id="trend-table"')[1]
    assert "765" in table and "321" not in table
    assert '<option value="best_case" selected>' in best_case_page
    assert "figure=best_case" in best_case_page.split('rel="next"')[0].rsplit("<a", 1)[1]


def test_trend_page_shows_the_table(client_for, manager, rep, period):
    forecast_submission_create(by=rep, period=period, commit=4321, best_case=5000)
    content = client_for(manager).get(TREND).content.decode()
    assert 'id="trend-table"' in content
    assert "4" in content and "321" in content


class TestSupersededSubmission:
    def test_a_superseded_submission_offers_no_form_and_links_to_the_newer_one(
        self, client_for, rep, manager, period
    ):
        older = forecast_submission_create(by=rep, period=period, commit=100, best_case=200)
        newer = forecast_submission_create(by=rep, period=period, commit=150, best_case=250)
        client = client_for(manager)
        old_page = client.get(detail_url(older)).content.decode()
        assert 'id="adjust-form"' not in old_page
        assert 'id="newer-submission"' in old_page
        assert f'href="{detail_url(newer)}"' in old_page
        new_page = client.get(detail_url(newer)).content.decode()
        assert 'id="adjust-form"' in new_page
        assert 'id="newer-submission"' not in new_page
