"""Forecast submissions and managers' adjustments: validation, frozen deals, resubmission,
the roll-up of adjusted figures, the reminders."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import override_settings
from django.utils import timezone, translation

from climcrm.models import OutgoingEmail
from climcrm.periods import QUARTER, period_containing
from forecasting.models import (
    ForecastAdjustment,
    ForecastSnapshot,
    ForecastSubmission,
    ForecastSubmissionLine,
)
from forecasting.submission_reminders import (
    missing_submissions_queue,
    submission_reminders_queue,
)
from forecasting.submission_reports import forecast_call, forecast_trend, weekly_points
from forecasting.submissions import (
    forecast_adjustment_create,
    forecast_proposal,
    forecast_submission_create,
    submitted_figures,
    week_of,
)
from opportunities.models import ForecastCategory, LossReason, Stage
from tests import clock
from tests.factories import OpportunityFactory, UserFactory

pytestmark = [pytest.mark.dates, pytest.mark.time_machine(clock.NOW), pytest.mark.django_db]


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


@pytest.fixture
def deals(rep, partner_a):
    close = clock.period_end("quarter")
    return {
        "won": OpportunityFactory(
            owner=rep,
            name="Gagnée",
            stage=Stage.CLOSED_WON,
            probability=100,
            amount=Decimal("1000.00"),
            forecast_category=ForecastCategory.CLOSED,
            close_date=close,
        ),
        "commit": OpportunityFactory(
            owner=rep,
            name="Engagée",
            stage=Stage.NEGOTIATION,
            amount=Decimal("2000.50"),
            forecast_category=ForecastCategory.COMMIT,
            close_date=close,
            partner=partner_a,
        ),
        "best": OpportunityFactory(
            owner=rep,
            name="Au mieux",
            stage=Stage.PROPOSAL,
            amount=Decimal("3000.00"),
            forecast_category=ForecastCategory.BEST_CASE,
            close_date=close,
        ),
        "pipeline": OpportunityFactory(
            owner=rep,
            name="Pipeline",
            amount=Decimal("9999.00"),
            forecast_category=ForecastCategory.PIPELINE,
            close_date=close,
        ),
        "lost": OpportunityFactory(
            owner=rep,
            stage=Stage.CLOSED_LOST,
            probability=0,
            loss_reason=LossReason.objects.first(),
            amount=Decimal("500.00"),
            forecast_category=ForecastCategory.OMITTED,
            close_date=close,
        ),
    }


def test_proposal_adds_won_and_open_commit_then_best_case(rep, deals, period):
    proposal = forecast_proposal(period=period, user=rep)
    assert proposal.commit == Decimal("3000.50")
    assert proposal.best_case == Decimal("6000.50")
    assert {deal.name for deal in proposal.deals} == {"Gagnée", "Engagée", "Au mieux"}


def test_submission_freezes_figures_and_the_deals_behind_them(rep, deals, period):
    submission = forecast_submission_create(
        by=rep, period=period, commit="3500", best_case="7000.25", note="Bon trimestre"
    )
    submission.refresh_from_db()
    assert (submission.commit, submission.best_case) == (Decimal("3500"), Decimal("7000.25"))
    assert submission.proposed_commit == Decimal("3000.50")
    assert submission.scope_key == f"rep:{rep.pk}"
    assert submission.submitted_by == rep
    assert submission.week == week_of(clock.today())
    lines = {line.deal_id: line for line in submission.lines.all()}
    assert set(lines) == {deals["won"].pk, deals["commit"].pk, deals["best"].pk}
    line = lines[deals["commit"].pk]
    assert (line.name, line.amount, line.forecast_category, line.stage) == (
        "Engagée",
        Decimal("2000.50"),
        "commit",
        "negotiation",
    )
    # The deal changes afterwards: the submission keeps what it was.
    deals["commit"].amount = Decimal("1.00")
    deals["commit"].save()
    line.refresh_from_db()
    assert line.amount == Decimal("2000.50")


@pytest.mark.parametrize(
    ("commit", "best_case", "field"),
    [
        ("-1", "10", "commit"),
        ("10", "-0.01", "best_case"),
        ("", "10", "commit"),
        ("10", None, "best_case"),
        ("abc", "1", "commit"),
    ],
)
def test_bad_figures_are_refused_and_nothing_is_written(
    rep, deals, period, commit, best_case, field
):
    with pytest.raises(ValidationError) as raised:
        forecast_submission_create(by=rep, period=period, commit=commit, best_case=best_case)
    assert field in raised.value.message_dict
    assert not ForecastSubmission.objects.exists()
    assert not ForecastSubmissionLine.objects.exists()


def test_an_ended_period_is_refused_in_french(rep, deals, period):
    with pytest.raises(ValidationError) as raised, translation.override("fr"):
        forecast_submission_create(by=rep, period=period.previous(), commit=1, best_case=2)
    assert "période est terminée" in raised.value.message_dict["period"][0]
    assert not ForecastSubmission.objects.exists()


def test_resubmitting_the_same_week_keeps_both_and_the_latest_counts(rep, deals, period):
    first = forecast_submission_create(by=rep, period=period, commit=1, best_case=2)
    second = forecast_submission_create(
        by=rep,
        period=period,
        commit=5,
        best_case=6,
        now=timezone.now() + datetime.timedelta(seconds=1),
    )
    assert ForecastSubmission.objects.count() == 2
    assert first.week == second.week
    figures = submitted_figures(period=period)[f"rep:{rep.pk}"]
    assert figures.submission == second
    assert figures.commit == Decimal(5)


def test_partner_director_submits_the_partners_forecast(director, partner_a, deals, period):
    submission = forecast_submission_create(
        by=director, period=period, commit=2000, best_case=2500, partner=partner_a
    )
    assert submission.scope_key == f"partner:{partner_a.pk}"
    assert [line.deal_id for line in submission.lines.all()] == [deals["commit"].pk]


def test_partner_salesperson_cannot_submit(partner_a_user, partner_a, period):
    with pytest.raises(PermissionDenied):
        forecast_submission_create(
            by=partner_a_user, period=period, commit=1, best_case=1, partner=partner_a
        )
    assert not ForecastSubmission.objects.exists()


def test_director_cannot_submit_for_another_partner(director, partner_b, period):
    with pytest.raises(PermissionDenied):
        forecast_submission_create(
            by=director, period=period, commit=1, best_case=1, partner=partner_b
        )


def test_manager_adjusts_with_a_note_and_each_adjustment_is_kept(rep, manager, deals, period):
    submission = forecast_submission_create(by=rep, period=period, commit=3000, best_case=6000)
    first = forecast_adjustment_create(
        by=manager, submission=submission, figure="commit", to_amount="2500", note="Trop optimiste"
    )
    second = forecast_adjustment_create(
        by=manager,
        submission=submission,
        figure="commit",
        to_amount="2000",
        note="Client hésitant",
        now=timezone.now() + datetime.timedelta(seconds=1),
    )
    assert (first.from_amount, first.to_amount) == (Decimal(3000), Decimal(2500))
    assert (second.from_amount, second.to_amount) == (Decimal(2500), Decimal(2000))
    assert second.adjusted_by == manager
    figures = submitted_figures(period=period)[f"rep:{rep.pk}"]
    assert (figures.commit, figures.adjusted_commit) == (Decimal(3000), Decimal(2000))
    assert figures.adjusted_best_case == Decimal(6000)


def test_adjustment_without_a_note_is_refused(rep, manager, deals, period):
    submission = forecast_submission_create(by=rep, period=period, commit=3000, best_case=6000)
    with pytest.raises(ValidationError) as raised:
        forecast_adjustment_create(
            by=manager, submission=submission, figure="commit", to_amount="1", note="  "
        )
    assert "note" in raised.value.message_dict
    with pytest.raises(ValidationError):
        forecast_adjustment_create(
            by=manager, submission=submission, figure="commit", to_amount="-5", note="x"
        )
    assert not ForecastAdjustment.objects.exists()


def test_partner_user_and_unrelated_manager_cannot_adjust(
    rep, director, partner_a, channel, deals, period
):
    rep_submission = forecast_submission_create(by=rep, period=period, commit=1, best_case=2)
    partner_submission = forecast_submission_create(
        by=director, period=period, commit=1, best_case=2, partner=partner_a
    )
    stranger = UserFactory(username="other_manager", roles=["sales_manager"])
    with pytest.raises(PermissionDenied, match="Partner|partenaire"):
        forecast_adjustment_create(
            by=director, submission=partner_submission, figure="commit", to_amount=0, note="x"
        )
    with pytest.raises(PermissionDenied):
        forecast_adjustment_create(
            by=stranger, submission=rep_submission, figure="commit", to_amount=0, note="x"
        )
    with pytest.raises(PermissionDenied):
        forecast_adjustment_create(
            by=rep, submission=rep_submission, figure="commit", to_amount=0, note="x"
        )
    # The partner's channel manager may.
    forecast_adjustment_create(
        by=channel, submission=partner_submission, figure="commit", to_amount=0, note="x"
    )
    assert ForecastAdjustment.objects.count() == 1


def test_head_of_channel_adjusts_the_partners_of_their_channel_managers(
    director, partner_a, channel, period
):
    head = UserFactory(username="head", roles=["channel_manager"])
    channel.manager = head
    channel.save()
    submission = forecast_submission_create(
        by=director, period=period, commit=10, best_case=20, partner=partner_a
    )
    forecast_adjustment_create(
        by=head, submission=submission, figure="best_case", to_amount=15, note="Prudence"
    )
    assert submitted_figures(period=period)[f"partner:{partner_a.pk}"].adjusted_best_case == 15


def test_roll_up_shows_submitted_beside_adjusted_and_the_level_above_reads_adjusted(
    rep, other_rep, manager, deals, period
):
    director = UserFactory(username="sales_director", roles=["sales_manager"])
    manager.manager = director
    manager.save()
    submission = forecast_submission_create(by=rep, period=period, commit=3000, best_case=6000)
    forecast_submission_create(by=other_rep, period=period, commit=1000, best_case=1500)
    forecast_adjustment_create(
        by=manager, submission=submission, figure="commit", to_amount=2000, note="Prudence"
    )
    call = forecast_call(user=director, period=period)
    team = next(group for group in call.rep_groups if group.key == str(manager.pk))
    assert team.totals["commit"] == Decimal(4000)
    assert team.totals["adjusted_commit"] == Decimal(3000)
    assert call.rep_total["adjusted_commit"] == Decimal(3000)
    assert call.missing == []


def test_change_since_last_week_and_not_yet_submitted(rep, other_rep, manager, deals, period):
    now = timezone.now()
    forecast_submission_create(
        by=rep, period=period, commit=1000, best_case=2000, now=now - datetime.timedelta(days=7)
    )
    forecast_submission_create(by=rep, period=period, commit=1500, best_case=2100, now=now)
    call = forecast_call(user=manager, period=period, now=now)
    rows = {row.key: row for row in call.rows}
    assert rows[f"rep:{rep.pk}"].commit_change == Decimal(500)
    assert rows[f"rep:{rep.pk}"].submitted_this_week
    assert not rows[f"rep:{other_rep.pk}"].submitted_this_week


def test_partner_reads_only_their_partner_without_adjustments(
    director, partner_a, partner_b, channel, period
):
    submission = forecast_submission_create(
        by=director, period=period, commit=100, best_case=200, partner=partner_a
    )
    forecast_adjustment_create(
        by=channel, submission=submission, figure="commit", to_amount=50, note="Interne"
    )
    call = forecast_call(user=director, period=period)
    assert [row.key for row in call.rows] == [f"partner:{partner_a.pk}"]
    assert call.rows[0].current.adjusted_commit == Decimal(100)
    with override_settings(FORECAST_ADJUSTMENTS_VISIBLE_TO_PARTNERS=True):
        call = forecast_call(user=director, period=period)
    assert call.rows[0].current.adjusted_commit == Decimal(50)


def test_trend_reads_the_forecast_at_each_week_against_the_previous_periods(
    rep, manager, deals, period
):
    now = timezone.now()
    forecast_submission_create(by=rep, period=period, commit=1200, best_case=2000, now=now)
    trend = forecast_trend(user=manager, period=period, now=now)
    assert trend.periods[0] == period and len(trend.periods) == 4
    current = [point.values[0] for point in trend.points]
    weeks = weekly_points(period)
    under_way = max(i for i, (start, _end) in enumerate(weeks) if start <= clock.today())
    assert current[under_way] == Decimal(1200)
    assert all(value is None for value in current[under_way + 1 :])
    # Nothing submitted for the previous periods and no snapshot: empty.
    assert all(point.values[1] is None for point in trend.points)


def test_trend_falls_back_on_the_snapshot_before_any_submission(rep, manager, period):
    ForecastSnapshot.objects.create(
        period_kind=period.kind,
        period_start=period.start,
        scope="rep",
        scope_key=f"rep:{rep.pk}",
        user=rep,
        commit=Decimal(700),
        closed=Decimal(300),
    )
    trend = forecast_trend(user=manager, period=period)
    assert trend.points[0].values[0] == Decimal(1000)


def test_trend_reads_best_case_with_its_own_adjustments(rep, manager, period):
    now = timezone.now()
    submission = forecast_submission_create(
        by=rep, period=period, commit=1200, best_case=2000, now=now
    )
    forecast_adjustment_create(
        by=manager, submission=submission, figure="commit", to_amount=1000, note="Prudence", now=now
    )
    later = now + datetime.timedelta(seconds=1)
    commit = forecast_trend(user=manager, period=period, now=later)
    best_case = forecast_trend(user=manager, period=period, figure="best_case", now=later)
    assert best_case.figure == "best_case"
    assert Decimal(1000) in [point.values[0] for point in commit.points]
    # The Commit adjustment does not touch Best Case.
    assert Decimal(2000) in [point.values[0] for point in best_case.points]
    forecast_adjustment_create(
        by=manager,
        submission=submission,
        figure="best_case",
        to_amount=1800,
        note="Une affaire en retard",
        now=later,
    )
    adjusted = forecast_trend(
        user=manager, period=period, figure="best_case", now=later + datetime.timedelta(seconds=1)
    )
    assert Decimal(1800) in [point.values[0] for point in adjusted.points]


def test_best_case_trend_falls_back_on_the_snapshots_best_case_forecast(rep, manager, period):
    ForecastSnapshot.objects.create(
        period_kind=period.kind,
        period_start=period.start,
        scope="rep",
        scope_key=f"rep:{rep.pk}",
        user=rep,
        commit=Decimal(700),
        closed=Decimal(300),
        best_case=Decimal(450),
    )
    trend = forecast_trend(user=manager, period=period, figure="best_case")
    assert trend.points[0].values[0] == Decimal(1450)


@override_settings(FORECAST_SUBMISSION_WEEKDAY=0)
def test_reminders_go_on_the_due_day_once_to_those_who_have_not_submitted(
    rep, other_rep, manager, director, partner_a, channel, deals, period, time_machine
):
    monday = week_of(clock.today()) + datetime.timedelta(days=7)
    at = timezone.make_aware(datetime.datetime.combine(monday, datetime.time(9, 0)))
    time_machine.move_to(at, tick=False)
    forecast_submission_create(
        by=rep, period=period_containing(QUARTER, monday), commit=1, best_case=2
    )
    assert submission_reminders_queue() == 2  # other_rep and partner A's director
    assert submission_reminders_queue() == 0  # once a week
    recipients = set(
        OutgoingEmail.objects.filter(kind="forecast_due").values_list("email", flat=True)
    )
    assert recipients == {other_rep.email, director.email}
    assert missing_submissions_queue() == 2  # the manager (other_rep), the channel manager
    body = OutgoingEmail.objects.get(kind="forecast_missing", email=manager.email).text_body
    assert other_rep.get_full_name() in body and rep.get_full_name() not in body
    # Another day of the week: nothing.
    time_machine.move_to(at + datetime.timedelta(days=1), tick=False)
    assert submission_reminders_queue() == 0


@override_settings(FORECAST_SUBMISSION_WEEKDAY=0)
def test_the_reminder_jobs_are_declared_and_queue_the_emails(rep, manager, time_machine):
    from climcrm import scheduling
    from forecasting.tasks import notify_forecast_missing, remind_forecast_due

    names = set(scheduling.discover())
    assert {
        "forecasting.tasks.remind_forecast_due",
        "forecasting.tasks.notify_forecast_missing",
    } <= names
    monday = week_of(clock.today()) + datetime.timedelta(days=7)
    time_machine.move_to(
        timezone.make_aware(datetime.datetime.combine(monday, datetime.time(8, 5))), tick=False
    )
    assert remind_forecast_due.call() == 1
    assert notify_forecast_missing.call() == 1
    email = OutgoingEmail.objects.get(kind="forecast_due")
    assert email.email == rep.email and "/forecast/submissions/new/" in email.text_body


def test_adjusting_a_submission_replaced_since_is_refused(rep, manager, period):
    old = forecast_submission_create(by=rep, period=period, commit=10, best_case=20)
    forecast_submission_create(
        by=rep,
        period=period,
        commit=12,
        best_case=20,
        now=timezone.now() + datetime.timedelta(seconds=1),
    )
    with pytest.raises(ValidationError) as raised:
        forecast_adjustment_create(
            by=manager, submission=old, figure="commit", to_amount=5, note="Prudence"
        )
    assert "submission" in raised.value.message_dict
    assert not ForecastAdjustment.objects.exists()


def test_a_forecast_of_an_ended_period_is_no_longer_adjusted(rep, manager, period):
    previous = period.previous()
    submission = forecast_submission_create(
        by=rep,
        period=previous,
        commit=10,
        best_case=20,
        now=timezone.make_aware(datetime.datetime.combine(previous.start, datetime.time(12))),
    )
    with pytest.raises(ValidationError) as raised:
        forecast_adjustment_create(
            by=manager, submission=submission, figure="commit", to_amount=5, note="Prudence"
        )
    assert "period" in raised.value.message_dict
