"""The metrics read only what a period touches: stays ending in it, deals closed or created
in it, the rows valid at each month end. Each shape against hand-computed deals at its
boundaries."""

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from climcrm.figures import rounded
from climcrm.periods import MONTH, QUARTER, last_periods, period_containing
from forecasting import reports
from forecasting.scopes import PARTNER, REP, Scope
from opportunities.models import LossReason, Stage
from opportunities.services import opportunity_create, opportunity_move_stage, opportunity_update
from tests import clock
from tests.factories import AccountFactory

pytestmark = [pytest.mark.dates, pytest.mark.time_machine(clock.NOW)]

Q2 = period_containing(QUARTER, date(2025, 4, 1))
D = Decimal


def at(month: int, day: int, year: int = 2025) -> datetime:
    return timezone.make_aware(datetime(year, month, day, 12, 0))


def create(by, when, **values):
    values.setdefault("account", AccountFactory())
    values.setdefault("name", "Deal")
    values.setdefault("close_date", max(date(2025, 6, 30), timezone.localdate()))
    values.setdefault("amount", D(1000))
    return opportunity_create(by=by, at=when, **values)


def move(deal, stage, by, when, **extra):
    if stage == Stage.CLOSED_LOST:
        extra.setdefault("loss_reason", LossReason.objects.first())
    return opportunity_move_stage(
        opportunity=deal,
        to_stage=stage,
        by=by,
        at=when,
        **{"reason_code": "other", **extra},
        expected_version=deal.version,
    )


def stays(user, scope=None, period=Q2):
    """Count and average days per stage, to the tenth the page shows."""
    rows, _cycle = reports.metrics.velocity(user=user, period=period, scope=scope or Scope())
    return {row["stage"]: (row["count"], rounded(row["days"], 1)) for row in rows}


class TestVelocityStays:
    def test_a_stay_begun_before_the_period_counts_in_full(self, rep, manager):
        deal = create(rep, at(2, 20))
        move(deal, Stage.PROPOSAL, rep, at(4, 11))  # 50 days in qualification
        assert stays(manager)[Stage.QUALIFICATION] == (1, D("50.0"))

    def test_stays_ending_outside_the_period_are_left_out(self, rep, manager):
        before = create(rep, at(1, 10))
        move(before, Stage.PROPOSAL, rep, at(3, 31))  # ends the day before Q2
        after = create(rep, at(5, 1))
        move(after, Stage.PROPOSAL, rep, at(7, 1))  # ends the day after Q2
        inside = create(rep, at(4, 1))
        move(inside, Stage.NEGOTIATION, rep, at(4, 21))
        result = stays(manager)
        assert result[Stage.QUALIFICATION] == (1, D("20.0"))
        # The proposal stay of "before" runs on through Q2: not ended, not counted.
        assert result[Stage.PROPOSAL] == (0, None)

    def test_changes_within_a_stage_do_not_split_the_stay(self, rep, manager):
        deal = create(rep, at(3, 1), stage=Stage.NEEDS_ANALYSIS)
        opportunity_update(
            opportunity=deal,
            by=rep,
            changes={"amount": D(2000)},
            at=at(3, 20),
            expected_version=deal.version,
        )
        opportunity_update(
            opportunity=deal,
            by=rep,
            changes={"close_date": date(2025, 7, 1)},
            at=at(4, 2),
            expected_version=deal.version,
            reason_code="other",
        )
        move(deal, Stage.PROPOSAL, rep, at(4, 10))
        assert stays(manager)[Stage.NEEDS_ANALYSIS] == (1, D("40.0"))

    def test_a_reopened_deal_counts_each_stay(self, rep, manager):
        deal = create(rep, at(3, 1), stage=Stage.NEGOTIATION)
        move(deal, Stage.CLOSED_LOST, rep, at(4, 10))  # negotiation 40 days
        move(deal, Stage.PROPOSAL, manager, at(4, 20))  # lost is no open stage
        move(deal, Stage.NEGOTIATION, manager, at(5, 10))  # proposal 20 days
        move(deal, Stage.CLOSED_WON, manager, at(5, 30))  # negotiation 20 days
        result = stays(manager)
        assert result[Stage.NEGOTIATION] == (2, D("30.0"))
        assert result[Stage.PROPOSAL] == (1, D("20.0"))

    def test_a_rep_scope_keeps_the_reps_deals(self, rep, other_rep, manager):
        mine = create(rep, at(3, 1))
        move(mine, Stage.PROPOSAL, rep, at(4, 1))
        theirs = create(other_rep, at(3, 1))
        move(theirs, Stage.PROPOSAL, other_rep, at(5, 1))
        assert stays(manager, Scope(REP, rep.pk))[Stage.QUALIFICATION] == (1, D("31.0"))
        assert stays(manager)[Stage.QUALIFICATION] == (2, D("46.0"))  # 31 and 61 days,
        # one hour short each (summer time)

    def test_partner_user_sees_only_their_partners_stays(
        self, rep, manager, partner_a, partner_b, partner_a_user
    ):
        ours = create(rep, at(3, 1), partner=partner_a)
        move(ours, Stage.PROPOSAL, rep, at(4, 1))
        other = create(rep, at(3, 1), partner=partner_b)
        move(other, Stage.PROPOSAL, rep, at(5, 1))
        move(other, Stage.CLOSED_WON, rep, at(5, 11))
        assert stays(partner_a_user, Scope(PARTNER, partner_a.pk))[Stage.QUALIFICATION] == (
            1,
            D("31.0"),
        )
        # Even asked for everything, a partner user reads their partner's deals only.
        assert stays(partner_a_user)[Stage.QUALIFICATION] == (1, D("31.0"))
        assert stays(partner_a_user)[Stage.PROPOSAL] == (0, None)
        _rows, cycle = reports.metrics.velocity(user=partner_a_user, period=Q2, scope=Scope())
        assert cycle == {}
        assert stays(manager)[Stage.PROPOSAL] == (1, D("10.0"))


class TestConversion:
    def test_ladder_counts_the_furthest_stage_ever_reached(self, rep, manager):
        create(rep, at(4, 1))  # qualification only
        direct = create(rep, at(4, 2), stage=Stage.PROPOSAL)  # skipped two stages
        move(direct, Stage.CLOSED_LOST, rep, at(4, 20))
        back = create(rep, at(4, 3), stage=Stage.NEGOTIATION)
        move(back, Stage.QUALIFICATION, rep, at(4, 10))  # moved back: still reached it
        won = create(rep, at(4, 4))
        move(won, Stage.CLOSED_WON, rep, at(5, 4))
        create(rep, at(3, 30), stage=Stage.NEGOTIATION)  # created before Q2
        _funnel, ladder, _rates = reports.metrics.conversion(user=manager, period=Q2, scope=Scope())
        assert [row["count"] for row in ladder] == [4, 3, 3, 2, 1]
        assert ladder[1]["rate"] == D(75)

    def test_win_rates_keep_deals_that_reached_sql(self, rep, manager):
        early = create(rep, at(3, 1), amount=D(4000))
        move(early, Stage.CLOSED_LOST, rep, at(4, 5))  # lost in qualification: not SQL
        late = create(rep, at(3, 1), stage=Stage.PROPOSAL, amount=D(3000))
        move(late, Stage.QUALIFICATION, rep, at(3, 15))
        move(late, Stage.CLOSED_LOST, rep, at(4, 6))  # was in proposal once: SQL
        won = create(rep, at(3, 1), amount=D(1000))
        move(won, Stage.CLOSED_WON, rep, at(4, 7))
        _funnel, _ladder, rates = reports.metrics.conversion(user=manager, period=Q2, scope=Scope())
        total = rates[-1]
        assert (total["won"], total["lost"]) == (1, 1)
        assert (total["won_amount"], total["lost_amount"]) == (D(1000), D(3000))
        assert total["rate_count"] == D(50) and total["rate_amount"] == D(25)


def month_end(offset: int):
    """End of the month ``offset`` months before the current one (capped at now)."""
    periods = last_periods(MONTH, 12)
    return periods[11 - offset]


def in_month(offset: int, day: int = 10) -> datetime:
    period = month_end(offset)
    return timezone.make_aware(
        datetime.combine(period.start + timedelta(days=day - 1), datetime.min.time())
    )


class TestTrends:
    @pytest.fixture
    def rows(self, rep, manager):
        # Open since long before the window, in proposal: in every month end.
        create(rep, in_month(11) - timedelta(days=400), stage=Stage.PROPOSAL, amount=D(500))
        # Needs analysis 1 000 from 6 months ago, 2 000 from 4 months ago, lost 2 months ago.
        deal = create(rep, in_month(6), stage=Stage.NEEDS_ANALYSIS, amount=D(1000))
        opportunity_update(
            opportunity=deal,
            by=rep,
            changes={"amount": D(2000)},
            at=in_month(4),
            expected_version=deal.version,
        )
        move(deal, Stage.CLOSED_LOST, rep, in_month(2))
        # In qualification: not qualified, never in the pipeline; lost the same month.
        early = create(rep, in_month(6), amount=D(7000))
        move(early, Stage.CLOSED_LOST, rep, in_month(2, day=12))
        # Won 2 months ago from negotiation.
        won = create(rep, in_month(3), stage=Stage.NEGOTIATION, amount=D(3000))
        move(won, Stage.CLOSED_WON, rep, in_month(2, day=14))
        result = reports.metrics.trends(user=manager, scope=Scope())
        return {row["key"]: row for row in result["rows"]}

    def test_qualified_pipeline_at_each_month_end(self, rows):
        pipeline = {
            offset: rows[month_end(offset).key]["qualified_pipeline"] for offset in range(12)
        }
        assert pipeline[11] == pipeline[7] == D(500)
        assert pipeline[6] == pipeline[5] == D(1500)
        assert pipeline[4] == D(2500)
        assert pipeline[3] == D(5500)  # the negotiation deal joined
        assert pipeline[2] == pipeline[1] == pipeline[0] == D(500)

    def test_won_and_win_rate_of_the_qualified_deals(self, rows):
        month = rows[month_end(2).key]
        assert (month["won_count"], month["won_amount"]) == (1, D(3000))
        assert month["win_rate"] == D(50)  # the qualification loss is left out
        assert rows[month_end(1).key]["win_rate"] is None
        assert rows[month_end(6).key]["created_count"] == 2
