"""The home page per role: what each sees, and a fixed number of queries."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from activities.models import Activity
from opportunities.models import Opportunity, Stage
from partners.models import DealRegistration
from pipeline_reviews.models import Review
from tests import clock
from tests.factories import ActivityFactory, LeadFactory, OpportunityFactory
from tests.forecasting.factories import bulk_deals

pytestmark = [pytest.mark.dates, pytest.mark.time_machine(clock.NOW)]

DASHBOARD = reverse("dashboard")


def today():
    return timezone.localdate()


def context_of(client):
    response = client.get(DASHBOARD)
    assert response.status_code == 200
    return response.context


class TestRepDashboard:
    def test_open_deals_by_stage_are_the_reps_own(self, client_for, rep, other_rep):
        OpportunityFactory(owner=rep, stage=Stage.PROPOSAL, amount=Decimal(1000), probability=50)
        OpportunityFactory(owner=rep, stage=Stage.PROPOSAL, amount=Decimal(3000), probability=50)
        OpportunityFactory(owner=other_rep, stage=Stage.PROPOSAL, amount=Decimal(9999))
        rows = context_of(client_for(rep))["mine"]["by_stage"]
        assert [(r["stage"], r["count"], r["total"], r["weighted"]) for r in rows] == [
            ("proposal", 2, Decimal(4000), Decimal(2000))
        ]

    def test_tasks_due_within_a_week_not_done(self, client_for, rep, other_rep):
        due = ActivityFactory(assignee=rep, due_date=today() + datetime.timedelta(days=7))
        overdue = ActivityFactory(assignee=rep, due_date=today() - datetime.timedelta(days=3))
        ActivityFactory(assignee=rep, due_date=today() + datetime.timedelta(days=8))
        ActivityFactory(assignee=rep, due_date=today(), done=True)
        ActivityFactory(assignee=other_rep, due_date=today())
        tasks = context_of(client_for(rep))["mine"]["tasks"]
        assert [t.pk for t in tasks["items"]] == [overdue.pk, due.pk]
        assert tasks["count"] == 2

    def test_quarter_forecast(self, client_for, rep):
        OpportunityFactory(
            owner=rep,
            stage=Stage.NEGOTIATION,
            forecast_category="commit",
            amount=Decimal(5000),
            close_date=today(),
            probability=75,
        )
        forecast = context_of(client_for(rep))["mine"]["forecast"]
        assert forecast["commit"] == Decimal(5000)
        assert forecast["commit_forecast"] == Decimal(5000)

    def test_deals_needing_attention(self, client_for, rep):
        old = timezone.now() - datetime.timedelta(days=45)
        overdue = OpportunityFactory(owner=rep, close_date=today() - datetime.timedelta(days=1))
        stale = OpportunityFactory(owner=rep)
        touched = OpportunityFactory(owner=rep)
        fresh = OpportunityFactory(owner=rep)
        Opportunity.objects.filter(pk__in=[stale.pk, touched.pk]).update(stage_changed_at=old)
        ActivityFactory(opportunity=touched, assignee=rep)  # recent activity: not stale
        attention = context_of(client_for(rep))["mine"]["attention"]
        names = {d.pk: (d.is_overdue, d.is_stale) for d in attention["deals"]}
        assert names == {overdue.pk: (True, False), stale.pk: (False, True)}
        assert fresh.pk not in names
        assert attention["count"] == 2

    def test_a_deal_is_stale_only_without_activity_created_or_done_since_the_cutoff(
        self, client_for, rep
    ):
        old = timezone.now() - datetime.timedelta(days=45)
        recent = timezone.now() - datetime.timedelta(days=2)
        deals = {
            name: OpportunityFactory(owner=rep, close_date=today() + datetime.timedelta(days=30))
            for name in ("untouched", "old_only", "created", "done", "lead_only")
        }
        Opportunity.objects.filter(pk__in=[d.pk for d in deals.values()]).update(
            stage_changed_at=old
        )
        ActivityFactory(opportunity=deals["old_only"], done=True, done_at=old)
        ActivityFactory(opportunity=deals["created"])
        ActivityFactory(opportunity=deals["done"], done=True, done_at=recent)
        lead_todo = ActivityFactory(opportunity=None, lead=LeadFactory())
        # Activities created long ago: only ``done_at`` (or nothing) is recent.
        Activity.objects.filter(opportunity__in=[deals["old_only"], deals["done"]]).update(
            created_at=old
        )
        Activity.objects.filter(pk=lead_todo.pk).update(created_at=recent)

        attention = context_of(client_for(rep))["mine"]["attention"]

        stale = {d.pk for d in attention["deals"] if d.is_stale}
        assert stale == {deals["untouched"].pk, deals["old_only"].pk, deals["lead_only"].pk}
        assert attention["count"] == 3

    def test_rep_has_no_team_section(self, client_for, rep):
        assert "team" not in context_of(client_for(rep))["sections"]


class TestManagerDashboard:
    def test_team_pipeline_tasks_and_forecast(self, client_for, manager, rep, other_rep):
        OpportunityFactory(owner=rep, amount=Decimal(1000), close_date=today())
        OpportunityFactory(owner=other_rep, amount=Decimal(2000), close_date=today())
        ActivityFactory(assignee=other_rep, due_date=today())
        context = context_of(client_for(manager))
        team = context["team"]
        assert sum(r["count"] for r in team["by_stage"]) == 2
        assert team["tasks"]["count"] == 1
        assert team["forecast"].total["pipeline"] == Decimal(3000)
        assert {row["key"] for row in team["forecast"].rows} == {str(rep.pk), str(other_rep.pk)}


class TestChannelDashboard:
    def test_registrations_reviews_due_and_partner_pipelines(
        self, client_for, channel, partner_a, partner_b, rep
    ):
        DealRegistration.objects.create(partner=partner_a, company_name="Nouvelle SA")
        DealRegistration.objects.create(
            partner=partner_b,
            company_name="Refusée SA",
            status="rejected",
            decision_reason="x",
            decided_at=timezone.now(),
        )
        Review.objects.create(
            kind="monthly_partner", partner=partner_a, period_start=today().replace(day=1)
        )
        OpportunityFactory(owner=rep, partner=partner_b, amount=Decimal(700))
        channel_block = context_of(client_for(channel))["channel"]
        assert channel_block["registrations"]["count"] == 1
        assert [p.pk for p in channel_block["reviews_due"]] == [partner_b.pk]
        pipelines = {p.pk: p for p in channel_block["partners"]}
        assert pipelines[partner_b.pk].open_count == 1
        assert pipelines[partner_b.pk].open_amount == Decimal(700)


class TestPartnerDashboard:
    def test_own_pipeline_and_todos_only(
        self, client_for, partner_a_user, partner_a, partner_b, rep
    ):
        mine = OpportunityFactory(owner=rep, partner=partner_a, amount=Decimal(100))
        theirs = OpportunityFactory(owner=rep, partner=partner_b, amount=Decimal(999))
        todo = ActivityFactory(opportunity=mine, assignee=None, due_date=today())
        ActivityFactory(opportunity=theirs, assignee=None, due_date=today())
        context = context_of(client_for(partner_a_user))
        assert context["sections"] == ["partner"]
        block = context["partner"]
        assert [(r["count"], r["total"]) for r in block["by_stage"]] == [(1, Decimal(100))]
        assert [t.pk for t in block["tasks"]["items"]] == [todo.pk]
        assert "999" not in client_for(partner_a_user).get(DASHBOARD).content.decode()


@pytest.mark.parametrize("who", ["rep", "manager", "channel", "partner_a_user"])
def test_dashboard_queries_do_not_grow_with_deals(
    who, request, client_for, rep, partner_a, channel, django_assert_max_num_queries
):
    user = request.getfixturevalue(who)
    bulk_deals(10, owner=rep, partner=partner_a)
    client = client_for(user)
    with CaptureQueriesContext(connection) as small:
        client.get(DASHBOARD)
    bulk_deals(990, owner=rep, partner=partner_a)
    with django_assert_max_num_queries(len(small.captured_queries)):
        response = client.get(DASHBOARD)
    assert response.status_code == 200
