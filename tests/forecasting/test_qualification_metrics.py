"""Seed 001's speed of the first contact and seed 002's benchmarks on the metrics page; the
unconfirmed amounts flagged in the forecast's deal list."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from activities.models import Activity, ActivityKind
from climcrm.choices import Source
from climcrm.periods import MONTH, QUARTER, period_containing
from forecasting import reports
from forecasting.models import Benchmark, Target
from forecasting.scopes import REP, Scope
from leads.models import Lead
from opportunities.models import Stage
from tests import clock
from tests.factories import ActivityFactory, LeadFactory, OpportunityFactory

pytestmark = [pytest.mark.django_db, pytest.mark.dates, pytest.mark.time_machine(clock.NOW)]

METRICS = reverse("forecasting:metrics")
DRILL = reverse("forecasting:forecast-deals")


def month():
    return period_containing(MONTH, clock.today())


def lead_contacted_after(owner, *, days, source=Source.WEB_FORM, kind=ActivityKind.CALL):
    lead = LeadFactory(owner=owner, source=source)
    if days is not None:
        ActivityFactory(
            lead=lead,
            opportunity=None,
            kind=kind,
            done=True,
            done_at=lead.created_at + datetime.timedelta(days=days),
        )
    return lead


class TestBenchmarks:
    def test_the_migration_loads_the_seeds_figures(self):
        rows = {b.key: (b.low, b.high) for b in Benchmark.objects.all()}
        assert rows == {
            "new_deals_per_rep": (Decimal(15), Decimal(25)),
            "pipeline_coverage": (Decimal(3), Decimal(5)),
            "opportunity_to_deal": (Decimal(30), Decimal(40)),
            "mql_to_srl": (Decimal(20), Decimal(40)),
            "srl_to_sql": (Decimal(80), Decimal(90)),
            "win_rate_new": (Decimal(30), None),
            "win_rate_existing": (Decimal(75), None),
        }

    def test_an_admin_changes_a_benchmark_and_the_metrics_page_shows_it(
        self, client, admin_user, manager
    ):
        client.force_login(admin_user)
        row = Benchmark.objects.get(key="mql_to_srl")
        url = reverse("admin:forecasting_benchmark_change", args=[row.pk])
        assert client.get(reverse("admin:forecasting_benchmark_changelist")).status_code == 200
        response = client.post(url, {"low": "25", "high": "45", "source": "Notre expérience"})
        assert response.status_code == 302
        row.refresh_from_db()
        assert (row.key, row.low, row.high) == ("mql_to_srl", Decimal(25), Decimal(45))

        client.force_login(manager)
        report = client.get(METRICS).context["report"]
        by_key = {r["key"]: r for r in report.benchmarks}
        assert (by_key["mql_to_srl"]["benchmark"].low, by_key["mql_to_srl"]["benchmark"].high) == (
            Decimal(25),
            Decimal(45),
        )
        srl = next(r for r in report.funnel if r["key"] == "srl")
        assert srl["benchmark"].low == Decimal(25)

    def test_a_removed_benchmark_falls_back_to_the_seeds(self):
        Benchmark.objects.filter(key="pipeline_coverage").delete()
        reference = reports.metrics.benchmarks()["pipeline_coverage"]
        assert (reference.low, reference.high) == (Decimal(3), Decimal(5))

    def test_measured_figures_stand_beside_the_benchmarks(self, manager, rep, other_rep):
        period = month()
        for owner in (rep, rep, rep, other_rep, other_rep, other_rep):
            OpportunityFactory(owner=owner, amount=Decimal(10000))
        OpportunityFactory(owner=rep, stage=Stage.CLOSED_WON, probability=100, amount=Decimal(1))
        quarter = period_containing(QUARTER, clock.today())
        Target.objects.create(
            user=rep, year=quarter.year, quarter=quarter.quarters[0], amount=Decimal(3 * 30000)
        )
        rows = reports.metrics.benchmark_rows(
            user=manager,
            period=period,
            scope=Scope(REP, rep.pk),
            funnel=[],
            win_rates=[],
        )
        by_key = {row["key"]: row for row in rows}
        # Four deals created by the rep this month, one of them won.
        assert by_key["new_deals_per_rep"]["value"] == Decimal(4)
        assert by_key["new_deals_per_rep"]["position"] == "below"  # 15–25 a month
        assert by_key["opportunity_to_deal"]["value"] == Decimal(25)
        # Open pipeline 30 000 against a month's third of a 90 000 quarter target: 1:1.
        assert round(by_key["pipeline_coverage"]["value"], 2) == Decimal(1)
        assert by_key["pipeline_coverage"]["position"] == "below"

    def test_the_metrics_page_shows_the_benchmark_table(self, client_for, manager):
        text = client_for(manager).get(METRICS).content.decode()
        assert 'id="benchmark-table"' in text
        assert "3:1 – 5:1" in text
        assert "Nouvelles opportunités par commercial et par mois" in text


class TestFirstEngagement:
    def test_days_to_the_first_contact_per_rep_and_per_source(self, manager, rep, other_rep):
        lead_contacted_after(rep, days=2)
        lead_contacted_after(rep, days=4, source=Source.REFERRAL, kind=ActivityKind.EMAIL)
        lead_contacted_after(rep, days=None)  # still waiting
        lead_contacted_after(other_rep, days=1)
        # A note is no contact: this lead is still waiting.
        lead_contacted_after(other_rep, days=0, kind=ActivityKind.NOTE)
        result = reports.metrics.first_engagement(user=manager, period=month(), scope=Scope())
        by_rep = {row["label"]: row for row in result["by_rep"]}
        mine = by_rep[rep.get_full_name()]
        assert (mine["leads"], mine["contacted"], mine["waiting"]) == (3, 2, 1)
        assert round(mine["days"], 1) == Decimal("3.0")
        theirs = by_rep[other_rep.get_full_name()]
        assert (theirs["contacted"], theirs["waiting"], round(theirs["days"], 1)) == (
            1,
            1,
            Decimal("1.0"),
        )
        by_source = {row["label"]: row for row in result["by_source"]}
        assert round(by_source[str(Source.REFERRAL.label)]["days"], 1) == Decimal("4.0")
        assert by_source[str(Source.WEB_FORM.label)]["leads"] == 4

    def test_the_earliest_contact_counts(self, manager, rep):
        lead = lead_contacted_after(rep, days=5)
        ActivityFactory(
            lead=lead,
            opportunity=None,
            kind=ActivityKind.MEETING,
            done=True,
            done_at=lead.created_at + datetime.timedelta(days=1),
        )
        result = reports.metrics.first_engagement(user=manager, period=month(), scope=Scope())
        assert round(result["by_rep"][0]["days"], 1) == Decimal("1.0")

    def test_the_metrics_page_lists_both_tables(self, client_for, manager, rep):
        lead_contacted_after(rep, days=2)
        text = client_for(manager).get(METRICS).content.decode()
        assert 'id="engagement-rep-table"' in text and 'id="engagement-source-table"' in text
        assert rep.get_full_name() in text

    def test_metrics_queries_do_not_grow_with_leads(
        self, client_for, manager, rep, other_rep, django_assert_max_num_queries
    ):
        client = client_for(manager)

        def bulk(n):
            now = timezone.now()
            leads = Lead.objects.bulk_create(
                Lead(last_name=f"L{i}", owner=(rep, other_rep)[i % 2], source=Source.OTHER)
                for i in range(n)
            )
            Activity.objects.bulk_create(
                Activity(
                    subject="Appel",
                    kind=ActivityKind.CALL,
                    lead=lead,
                    done=True,
                    done_at=now + datetime.timedelta(hours=i),
                )
                for i, lead in enumerate(leads[::2])
            )

        bulk(10)
        with CaptureQueriesContext(connection) as small:
            assert client.get(METRICS).status_code == 200
        bulk(300)
        with django_assert_max_num_queries(len(small)):
            response = client.get(METRICS)
        assert sum(row["leads"] for row in response.context["report"].engagement["by_rep"]) == 310


class TestUnconfirmedAmounts:
    def test_the_forecast_deal_list_flags_unconfirmed_open_amounts(self, client_for, manager, rep):
        unconfirmed = OpportunityFactory(owner=rep, name="Non confirmé", amount=Decimal(5000))
        OpportunityFactory(owner=rep, name="Confirmé", amount=Decimal(6000), amount_confirmed=True)
        response = client_for(manager).get(DRILL + "?column=all&key=total")
        text = response.content.decode()
        assert text.count("data-unconfirmed") == 1
        row = text[text.index("Non confirmé") :]
        assert row.index("data-unconfirmed") < row.index("</tr>")
        assert unconfirmed.name in text
