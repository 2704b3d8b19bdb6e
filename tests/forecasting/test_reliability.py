"""Forecast reliability per rep and per partner, on a small book computed by hand.

Q2 2025 = [04-01, 07-01). Deals, all owned by ``rep``:

deal | partner | story
-----|---------|------------------------------------------------------------------------
a    | A       | 03-01 created 10 000, close 05-15; 03-20 negotiation (Commit); 05-10 won
     |         | at 12 000 → created 10 000, entered Commit 10 000, at Q2 start 10 000
b    | -       | 04-05 created 8 000, close 06-10; 06-01 won at 6 000 → created 8 000 only
s    | A       | 03-01 created 5 000, close 04-25; 04-20 close → 07-15 (slipped out of Q2)
k    | -       | 03-01 created 3 000, close 05-20, still open

The estimate of a won deal: Commit entry, else quarter start, else creation: a 10 000, b 8 000.
"""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from climcrm.figures import percent
from climcrm.periods import MONTH, QUARTER, last_periods, period_containing
from forecasting.models import ForecastSubmission
from forecasting.reports.reliability import reliability
from forecasting.scopes import PARTNER, REP, Scope
from opportunities.models import ForecastCategory, Opportunity, OpportunityHistory, Stage
from opportunities.services import opportunity_create, opportunity_move_stage, opportunity_update
from pipeline_reviews.models import ReviewKind
from tests import clock
from tests.factories import AccountFactory
from tests.factories.reviews import ClosedReviewFactory, ReviewFactory
from tests.forecasting.conftest import at
from tests.forecasting.factories import bulk_deals
from tests.forecasting.test_views import count_queries

pytestmark = [pytest.mark.dates, pytest.mark.time_machine(clock.NOW)]

HUNDRED = Decimal(100)
Q2 = period_containing(QUARTER, date(2025, 5, 1))
Q3 = Q2.next()


@pytest.fixture
def deals(db, rep, partner_a):
    def create(name, when, **values):
        return opportunity_create(by=rep, at=when, account=AccountFactory(), name=name, **values)

    a = create(
        "a", at(3, 1), amount=Decimal(10000), close_date=date(2025, 5, 15), partner=partner_a
    )
    opportunity_move_stage(
        opportunity=a,
        to_stage=Stage.NEGOTIATION,
        by=rep,
        at=at(3, 20),
        expected_version=a.version,
        reason_code="other",
    )
    opportunity_move_stage(
        opportunity=a,
        to_stage=Stage.CLOSED_WON,
        by=rep,
        amount=Decimal(12000),
        at=at(5, 10),
        expected_version=a.version,
        reason_code="other",
    )
    b = create("b", at(4, 5), amount=Decimal(8000), close_date=date(2025, 6, 10))
    opportunity_move_stage(
        opportunity=b,
        to_stage=Stage.CLOSED_WON,
        by=rep,
        amount=Decimal(6000),
        at=at(6, 1),
        expected_version=b.version,
        reason_code="other",
    )
    s = create("s", at(3, 1), amount=Decimal(5000), close_date=date(2025, 4, 25), partner=partner_a)
    opportunity_update(
        opportunity=s,
        by=rep,
        changes={"close_date": date(2025, 7, 15)},
        at=at(4, 20),
        expected_version=s.version,
        reason_code="other",
    )
    create("k", at(3, 1), amount=Decimal(3000), close_date=date(2025, 5, 20))


def only(rows):
    assert len(rows) == 1
    return rows[0]


def test_a_reps_figures_for_the_quarter(deals, manager, rep):
    subject = only(reliability(user=manager, scope=Scope(), group=REP, periods=[Q2]))
    figures = subject.periods[0]

    assert (subject.kind, subject.key) == (REP, rep.pk)
    assert (figures.won, figures.won_count) == (Decimal(18000), 2)
    # |12 000 − 10 000| + |6 000 − 8 000|
    assert figures.abs_error == Decimal(4000)
    assert figures.won_of_created == Decimal(18000) * HUNDRED / Decimal(18000)
    assert figures.won_of_commit_entry == Decimal(12000) * HUNDRED / Decimal(10000)
    assert figures.won_of_at_start == Decimal(12000) * HUNDRED / Decimal(10000)
    # a, b, s and k were expected in Q2; s slipped.
    assert (figures.slipped_count, figures.expected_count) == (1, 4)
    assert figures.slip_rate == Decimal(25)
    accuracy = HUNDRED - Decimal(4000) * HUNDRED / Decimal(18000)  # 77.78
    assert figures.amount_accuracy == accuracy
    assert figures.score == (accuracy + Decimal(75)) / 2  # 76.39


def test_a_partners_figures_hold_its_own_deals_only(deals, manager, partner_a):
    subject = only(reliability(user=manager, scope=Scope(), group=PARTNER, periods=[Q2]))
    figures = subject.periods[0]

    assert (subject.key, subject.name) == (partner_a.pk, str(partner_a.account.name))
    assert figures.won == Decimal(12000)
    assert (figures.slipped_count, figures.expected_count) == (1, 2)
    accuracy = HUNDRED - Decimal(2000) * HUNDRED / Decimal(12000)  # 83.33
    assert figures.score == (accuracy + Decimal(50)) / 2  # 66.67


def test_a_period_without_won_deal_scores_on_its_dates_and_the_total_adds_periods_up(
    deals, manager
):
    subject = only(reliability(user=manager, scope=Scope(), group=REP, periods=[Q2, Q3]))
    q3 = subject.periods[1]

    # s is expected in Q3 (close 07-15) and kept its date; nothing won.
    assert (q3.won, q3.expected_count, q3.slipped_count) == (Decimal(0), 1, 0)
    assert q3.amount_accuracy is None
    assert q3.score == HUNDRED
    total = subject.total
    assert (total.won, total.expected_count, total.slipped_count) == (Decimal(18000), 5, 1)
    accuracy = HUNDRED - Decimal(4000) * HUNDRED / Decimal(18000)
    assert total.score == (accuracy + Decimal(80)) / 2  # 78.89


def _deal_with_close_dates(rep, name: str, first: date, *moves) -> None:
    """A deal of ``rep`` made on 1 March closing on ``first``, its close date then moved to
    each ``(moment, close date)`` in turn."""
    deal = opportunity_create(
        by=rep,
        at=at(3, 1),
        account=AccountFactory(),
        name=name,
        amount=Decimal(1000),
        close_date=first,
    )
    for day, close in moves:
        opportunity_update(
            opportunity=deal,
            by=rep,
            changes={"close_date": close},
            at=day,
            expected_version=deal.version,
            reason_code="other",
        )
        deal.refresh_from_db()


def test_a_date_moved_within_its_quarter_then_brought_forward_is_no_slip(deals, manager, rep):
    # m: close 04-10 → 05-20 (still in Q2), then brought forward to 03-25 (Q1).
    _deal_with_close_dates(
        rep, "m", date(2025, 4, 10), (at(3, 5), date(2025, 5, 20)), (at(3, 10), date(2025, 3, 25))
    )

    figures = only(reliability(user=manager, scope=Scope(), group=REP, periods=[Q2])).periods[0]

    # Not expected in Q2 any more, and it never left Q2 for a later quarter.
    assert (figures.slipped_count, figures.expected_count) == (1, 4)


def test_a_date_slipped_out_of_its_quarter_then_brought_back_is_no_slip(deals, manager, rep):
    # r: close 04-10 → 08-01 (past the end of Q2), then back to 05-05 (in Q2 again).
    _deal_with_close_dates(
        rep, "r", date(2025, 4, 10), (at(4, 1), date(2025, 8, 1)), (at(4, 15), date(2025, 5, 5))
    )

    figures = only(reliability(user=manager, scope=Scope(), group=REP, periods=[Q2])).periods[0]

    # Expected in Q2 once, as a deal closing in it now; only s slipped out and stayed out.
    assert (figures.slipped_count, figures.expected_count) == (1, 5)


def test_months_compare_the_amount_at_the_start_of_the_close_month(deals, manager):
    june = period_containing(MONTH, date(2025, 6, 1))

    figures = only(reliability(user=manager, scope=Scope(), group=REP, periods=[june])).periods[0]

    # Only b closes in June: 8 000 on 06-01 (never in Commit), won at 6 000.
    assert (figures.won, figures.at_start, figures.at_start_won) == (
        Decimal(6000),
        Decimal(8000),
        Decimal(6000),
    )
    assert (figures.expected_count, figures.slipped_count) == (1, 0)
    accuracy = HUNDRED - Decimal(2000) * HUNDRED / Decimal(6000)  # 66.67
    assert figures.score == (accuracy + HUNDRED) / 2  # 83.33


def test_no_submission_means_no_submitted_figure(deals, manager):
    figures = only(reliability(user=manager, scope=Scope(), group=REP, periods=[Q2])).periods[0]

    assert figures.submitted_commit is None
    assert figures.won_of_commit is None


def submit(*, when, commit, best_case, user=None, partner=None, kind=QUARTER, start=Q2.start):
    return ForecastSubmission.objects.create(
        period_kind=kind,
        period_start=start,
        user=user,
        partner=partner,
        scope_key=f"rep:{user.pk}" if user else f"partner:{partner.pk}",
        week=when.date(),
        commit=Decimal(commit),
        best_case=Decimal(best_case),
        submitted_by=user,
        submitted_at=when,
    )


def test_the_latest_submission_of_the_period_is_set_against_what_was_won(
    deals, manager, rep, partner_a, partner_a_user
):
    submit(user=rep, when=at(4, 7), commit=20000, best_case=25000)
    submit(user=rep, when=at(5, 5), commit=15000, best_case=30000)
    submit(user=rep, when=at(6, 2), commit=1, best_case=1, kind="month", start=date(2025, 6, 1))
    submit(partner=partner_a, when=at(4, 7), commit=12000, best_case=16000)

    mine = only(reliability(user=manager, scope=Scope(), group=REP, periods=[Q2])).periods[0]
    theirs = only(reliability(user=partner_a_user, scope=Scope(), group=PARTNER, periods=[Q2]))

    assert (mine.submitted_commit, mine.submitted_best_case) == (Decimal(15000), Decimal(30000))
    assert mine.won_of_commit == Decimal(18000) * HUNDRED / Decimal(15000)  # 120 %
    assert mine.won_of_best_case == Decimal(18000) * HUNDRED / Decimal(30000)  # 60 %
    figures = theirs.periods[0]
    assert (figures.submitted_commit, figures.submitted_best_case) == (
        Decimal(12000),
        Decimal(16000),
    )
    assert figures.won_of_commit == HUNDRED


def test_over_several_periods_only_those_submitted_are_set_against_their_submission(
    deals, manager, rep
):
    submit(user=rep, when=at(7, 2), commit=10000, best_case=12000, start=Q3.start)

    total = only(reliability(user=manager, scope=Scope(), group=REP, periods=[Q2, Q3])).total

    # 18 000 won in Q2, not submitted; nothing won in Q3 against a Commit of 10 000.
    assert (total.won, total.submitted_won, total.submitted_commit) == (
        Decimal(18000),
        Decimal(0),
        Decimal(10000),
    )
    assert total.won_of_commit == Decimal(0)


def test_a_partner_user_reads_their_own_partner_and_no_rep(
    deals, manager, partner_a_user, partner_b_user, partner_a
):
    internal = only(
        reliability(user=manager, scope=Scope(PARTNER, partner_a.pk), group=PARTNER, periods=[Q2])
    )
    own = only(reliability(user=partner_a_user, scope=Scope(), group=PARTNER, periods=[Q2]))

    assert own.key == partner_a.pk
    assert own.periods[0] == internal.periods[0]
    assert reliability(user=partner_a_user, scope=Scope(), group=REP, periods=[Q2]) == []
    assert reliability(user=partner_b_user, scope=Scope(), group=PARTNER, periods=[Q2]) == []


class TestReliabilityPage:
    URL = reverse("forecasting:reliability")

    # The page shows the 8 quarters up to today's: a day whose window holds the book's Q2 2025.
    @pytest.mark.time_machine(datetime(2026, 1, 15, 10, tzinfo=UTC))
    def test_shows_the_score_rounded_once_and_its_formula(self, deals, client_for, manager, rep):
        response = client_for(manager).get(self.URL, {"scope": f"rep:{rep.pk}", "kind": "quarter"})

        assert response.status_code == 200
        subject = response.context["subject"]
        assert subject.key == rep.pk
        content = response.content.decode()
        assert "reliability-formula" in content
        assert [f.period for f in subject.periods] == last_periods(QUARTER, 8)
        assert f'<strong data-figure="score">{percent(subject.total.score)}</strong>' in content

    def test_a_partner_user_sees_only_their_partner(
        self, deals, client_for, partner_b_user, partner_a
    ):
        response = client_for(partner_b_user).get(self.URL, {"scope": f"partner:{partner_a.pk}"})

        assert response.status_code == 200
        assert response.context["subject"] is None
        assert [rows for _label, rows in response.context["groups"]] == [[]]
        assert str(partner_a.account.name) not in response.content.decode()


def won_deals(count: int, *, owner, partner) -> None:
    """``count`` deals won today, each with an estimate, whose close date moved to today from
    a day of an earlier quarter (two history rows each)."""
    today = timezone.localdate()
    earlier = today - timedelta(days=100)
    now = timezone.now()
    deals = Opportunity.objects.bulk_create(
        Opportunity(
            name=f"Won {index}",
            account=AccountFactory(),
            owner=owner,
            partner=partner,
            stage=Stage.CLOSED_WON,
            probability=100,
            forecast_category=ForecastCategory.CLOSED,
            amount=Decimal(1000 + index),
            created_amount=Decimal(900),
            commit_entry_amount=Decimal(950) if index % 2 else None,
            close_quarter_start_amount=Decimal(1000),
            close_month_start_amount=Decimal(1000),
            close_date=today,
            closed_at=now,
            created_at=now - timedelta(days=120),
            version=2,
        )
        for index in range(count)
    )
    common = {"owner": owner, "partner": partner, "probability": 100}
    OpportunityHistory.objects.bulk_create(
        row
        for deal in deals
        for row in (
            OpportunityHistory(
                opportunity=deal,
                version=1,
                changed_at=now - timedelta(days=120),
                valid_until=now,
                is_creation=True,
                stage=Stage.NEGOTIATION,
                forecast_category=ForecastCategory.COMMIT,
                amount=Decimal(900),
                close_date=earlier,
                **common,
            ),
            OpportunityHistory(
                opportunity=deal,
                version=2,
                changed_at=now,
                stage=Stage.CLOSED_WON,
                forecast_category=ForecastCategory.CLOSED,
                amount=deal.amount,
                close_date=today,
                prev_stage=Stage.NEGOTIATION,
                prev_amount=Decimal(900),
                prev_close_date=earlier,
                **common,
            ),
        )
    )


class TestReliabilityQueryBudgets:
    URL = reverse("forecasting:reliability")

    @pytest.mark.parametrize("user", ["manager", "partner_a_user"])
    @pytest.mark.parametrize("query", ["", "?kind=month", "?scope=partner:{partner}"])
    def test_same_number_of_queries_at_10_and_1000_deals(
        self, request, user, query, client_for, rep, partner_a, django_assert_max_num_queries
    ):
        url = self.URL + query.format(partner=partner_a.pk)
        bulk_deals(10, owner=rep, partner=partner_a)
        won_deals(10, owner=rep, partner=partner_a)
        client = client_for(request.getfixturevalue(user))
        small = count_queries(client, url)
        bulk_deals(990, owner=rep, partner=partner_a)
        won_deals(990, owner=rep, partner=partner_a)
        with django_assert_max_num_queries(small):
            response = client.get(url)
        assert response.status_code == 200
        assert small <= 25
        subject = response.context["subject"]
        if subject is not None:
            assert subject.total.won_count == 1000
            assert (subject.total.slipped_count, subject.total.expected_count) == (1000, 3000)


class TestReliabilityBlocks:
    """The partner's page and its reviews show the same block, from the same reading."""

    SCORE_Q2 = percent((HUNDRED - Decimal(2000) * HUNDRED / Decimal(12000) + Decimal(50)) / 2)

    def block(self, response):
        content = response.content.decode()
        assert response.status_code == 200
        assert "reliability-formula" in content
        return content

    @pytest.mark.parametrize(
        ("kind", "start"),
        [
            (ReviewKind.MONTHLY_PARTNER, date(2025, 5, 1)),
            (ReviewKind.QUARTERLY, date(2025, 4, 1)),
        ],
    )
    def test_a_review_shows_the_partners_eight_quarters_up_to_its_own(
        self, deals, client_for, channel, partner_a, kind, start
    ):
        review = ReviewFactory(kind=kind, partner=partner_a, period_start=start)

        response = client_for(channel).get(reverse("pipeline_reviews:detail", args=[review.pk]))

        content = self.block(response)
        subject = response.context["reliability"]
        assert [f.period for f in subject.periods] == last_periods(QUARTER, 8, today=start)
        assert f'<strong data-figure="score">{self.SCORE_Q2}</strong>' in content

    def test_a_partner_user_reads_their_reliability_in_the_recap(
        self, deals, client_for, partner_a_user, partner_a
    ):
        review = ClosedReviewFactory(partner=partner_a, period_start=date(2025, 5, 1))

        response = client_for(partner_a_user).get(
            reverse("pipeline_reviews:recap", args=[review.pk])
        )

        content = self.block(response)
        assert response.context["reliability"].key == partner_a.pk
        assert f'<strong data-figure="score">{self.SCORE_Q2}</strong>' in content

    def test_the_partner_page_shows_the_block_of_the_quarters_up_to_today(
        self, deals, client_for, channel, partner_a
    ):
        response = client_for(channel).get(reverse("partners:detail", args=[partner_a.pk]))

        self.block(response)
        subject = response.context["reliability"]
        assert subject.key == partner_a.pk
        assert [f.period for f in subject.periods] == last_periods(QUARTER, 8)

    def test_the_partner_page_makes_as_many_queries_at_10_and_1000_deals(
        self, client_for, channel, rep, partner_a, django_assert_max_num_queries
    ):
        url = reverse("partners:detail", args=[partner_a.pk])
        bulk_deals(10, owner=rep, partner=partner_a)
        won_deals(10, owner=rep, partner=partner_a)
        client = client_for(channel)
        small = count_queries(client, url)
        bulk_deals(990, owner=rep, partner=partner_a)
        won_deals(990, owner=rep, partner=partner_a)
        with django_assert_max_num_queries(small):
            response = client.get(url)
        assert response.context["reliability"].total.won_count == 1000
