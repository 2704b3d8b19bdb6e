from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from climcrm.models import AuditEntry
from forecasting.models import ForecastSnapshot, Target
from tests import clock
from tests.forecasting.factories import bulk_deals

# ``bulk_deals`` dates its deals from now (closing today, made 40 days ago, changed 5 days
# ago) and the pages default to the period under way.
pytestmark = [pytest.mark.dates, pytest.mark.time_machine(clock.NOW)]

FORECAST = reverse("forecasting:forecast")
METRICS = reverse("forecasting:metrics")
CHANGES = reverse("forecasting:changes")
ACCURACY = reverse("forecasting:accuracy")
TARGETS = reverse("forecasting:targets")
DRILL = reverse("forecasting:forecast-deals")


def count_queries(client, url):
    with CaptureQueriesContext(connection) as context:
        response = client.get(url)
    assert response.status_code == 200
    return len(context.captured_queries)


class TestQueryBudgets:
    @pytest.mark.parametrize(
        "url",
        [
            FORECAST,
            FORECAST + "?group=partner",
            FORECAST + "?group=team&kind=year",
            FORECAST + "?group=channel&kind=month",
            DRILL + "?column=commit&key=total",
            METRICS,
            CHANGES,
            ACCURACY,
            reverse("dashboard"),
        ],
    )
    def test_same_number_of_queries_at_10_and_1000_deals(
        self, url, client_for, manager, rep, partner_a, channel, django_assert_max_num_queries
    ):
        bulk_deals(10, owner=rep, partner=partner_a)
        client = client_for(manager)
        small = count_queries(client, url)
        bulk_deals(990, owner=rep, partner=partner_a)
        with django_assert_max_num_queries(small):
            response = client.get(url)
        assert response.status_code == 200
        assert small <= 25

    @pytest.mark.parametrize(
        "url",
        [FORECAST, DRILL + "?column=commit&key=total", METRICS, CHANGES, ACCURACY],
    )
    def test_a_partner_user_reads_as_many_queries_at_10_and_1000_deals(
        self, url, client_for, partner_a_user, rep, partner_a, django_assert_max_num_queries
    ):
        bulk_deals(10, owner=rep, partner=partner_a)
        client = client_for(partner_a_user)
        small = count_queries(client, url)
        bulk_deals(990, owner=rep, partner=partner_a)
        with django_assert_max_num_queries(small):
            response = client.get(url)
        assert response.status_code == 200
        assert small <= 25


class TestForecastPage:
    def test_shows_rows_and_drill_links(self, client_for, manager, rep):
        bulk_deals(3, owner=rep)
        response = client_for(manager).get(FORECAST)
        content = response.content.decode()
        assert "forecast-table" in content
        assert 'hx-target="#drill"' in content

    def test_period_selector_switches_kind(self, client_for, manager):
        response = client_for(manager).get(FORECAST + "?kind=year&period=2025-Q2")
        assert response.context["period"].key == "2025"
        response = client_for(manager).get(FORECAST + "?kind=month&period=2025-Q2")
        assert response.context["period"].key == "2025-04"

    def test_htmx_returns_only_the_report(self, client_for, manager):
        response = client_for(manager).get(FORECAST, HTTP_HX_REQUEST="true")
        content = response.content.decode()
        assert content.lstrip().startswith('<section id="report"')
        assert "<html" not in content

    def test_drilldown_partial_and_full_page(self, client_for, manager, rep):
        bulk_deals(3, owner=rep)
        client = client_for(manager)
        partial = client.get(DRILL + "?column=commit&key=total", HTTP_HX_REQUEST="true")
        assert partial.content.decode().lstrip().startswith('<section id="drill"')
        assert "Bulk 2" in partial.content.decode()
        full = client.get(DRILL + "?column=commit&key=total")
        assert "<html" in full.content.decode()

    def test_unknown_column_is_404(self, client_for, manager):
        assert client_for(manager).get(DRILL + "?column=nope").status_code == 404

    def test_export_is_audited(self, client_for, manager, rep):
        bulk_deals(3, owner=rep)
        response = client_for(manager).get(reverse("forecasting:forecast-export"))
        assert response["Content-Type"].startswith("text/csv")
        assert len(response.content.decode().strip().splitlines()) == 3  # header, rep, total
        assert AuditEntry.objects.filter(action=AuditEntry.Action.EXPORT).exists()


class TestPartnerScoping:
    def test_partner_user_sees_only_their_partner(
        self, client_for, partner_a_user, rep, partner_a, partner_b
    ):
        bulk_deals(3, owner=rep, partner=partner_a)
        bulk_deals(4, owner=rep, partner=partner_b)
        response = client_for(partner_a_user).get(
            f"{FORECAST}?group=rep&scope=partner:{partner_b.pk}"
        )
        report = response.context["report"]
        assert report.group == "partner"
        assert [row["key"] for row in report.rows] == [str(partner_a.pk)]
        assert report.total["open_count"] == 3

    def test_partner_user_drilldown_into_another_partner_is_empty(
        self, client_for, partner_a_user, rep, partner_b
    ):
        bulk_deals(4, owner=rep, partner=partner_b)
        response = client_for(partner_a_user).get(
            f"{DRILL}?group=partner&key={partner_b.pk}&column=all"
        )
        assert "Bulk" not in response.content.decode()

    @pytest.mark.parametrize("url", [METRICS, CHANGES, ACCURACY])
    def test_partner_user_reports_hold_to_their_partner(
        self, url, client_for, partner_a_user, partner_b
    ):
        response = client_for(partner_a_user).get(f"{url}?scope=partner:{partner_b.pk}")
        assert response.status_code == 200
        assert response.context["scope"].pk == partner_a_user.partner_id

    def test_partner_user_gets_404_on_targets(self, client_for, partner_a_user):
        assert client_for(partner_a_user).get(TARGETS).status_code == 404
        response = client_for(partner_a_user).post(TARGETS, {"target_for": "x"})
        assert response.status_code == 404


class TestTargets:
    def test_manager_sets_a_target(self, client_for, manager, rep):
        response = client_for(manager).post(
            TARGETS, {"target_for": f"rep:{rep.pk}", "year": 2026, "quarter": 2, "amount": "50000"}
        )
        assert response.status_code == 302
        target = Target.objects.get(user=rep, year=2026, quarter=2)
        assert target.amount == Decimal(50000)
        client_for(manager).post(
            TARGETS, {"target_for": f"rep:{rep.pk}", "year": 2026, "quarter": 2, "amount": "60000"}
        )
        assert Target.objects.get(user=rep, year=2026, quarter=2).amount == Decimal(60000)

    def test_manager_sets_a_partner_target(self, client_for, manager, partner_a):
        client_for(manager).post(
            TARGETS,
            {"target_for": f"partner:{partner_a.pk}", "year": 2026, "quarter": 1, "amount": "9"},
        )
        assert Target.objects.filter(partner=partner_a).count() == 1

    def test_bad_input_shows_errors(self, client_for, manager):
        response = client_for(manager).post(
            TARGETS, {"target_for": "rep:999999", "year": "x", "quarter": 7, "amount": "-3"}
        )
        assert response.status_code == 200
        form = response.context["form"]
        assert set(form.errors) == {"target_for", "year", "quarter", "amount"}
        assert not Target.objects.exists()

    def test_rep_may_read_but_not_change_targets(self, client_for, rep):
        client = client_for(rep)
        assert client.get(TARGETS).status_code == 200
        response = client.post(
            TARGETS, {"target_for": f"rep:{rep.pk}", "year": 2026, "quarter": 2, "amount": "1"}
        )
        assert response.status_code == 403
        assert not Target.objects.exists()

    def test_manager_removes_a_target(self, client_for, manager, rep):
        target = Target.objects.create(user=rep, year=2026, quarter=1, amount=1)
        client_for(manager).post(TARGETS, {"delete": target.pk})
        assert not Target.objects.exists()


class TestSnapshots:
    def test_command_is_idempotent(self, rep):
        from django.core.management import call_command

        bulk_deals(5, owner=rep)
        call_command("snapshot_forecast", "--kind", "quarter")
        first = list(ForecastSnapshot.objects.values_list("scope_key", "commit"))
        assert ("all",) in [(key,) for key, _c in first]
        bulk_deals(5, owner=rep)
        call_command("snapshot_forecast", "--kind", "quarter")
        assert list(ForecastSnapshot.objects.values_list("scope_key", "commit")) == first

    def test_snapshot_holds_values_at_period_start(self, book):
        from forecasting.services import forecast_snapshot_take

        written = forecast_snapshot_take(kind="quarter", period_start=date(2025, 5, 3))
        assert written == 5  # company, rep, other rep, partner A ("commit"), B ("moved")
        company = ForecastSnapshot.objects.get(scope_key="all")
        assert company.period_start == date(2025, 4, 1)
        assert company.commit == Decimal(14000) and company.closed == 0
        assert forecast_snapshot_take(kind="quarter", period_start=date(2025, 4, 1)) == 0


class TestChangesPage:
    def test_invalid_dates_fall_back_to_the_default_range(self, client_for, manager):
        response = client_for(manager).get(CHANGES + "?start=2025-05-10&end=2025-05-01")
        assert response.status_code == 200
        assert response.context["form"].errors
        assert response.context["start"].day == 1

    def test_drilldown(self, client_for, manager, book):
        response = client_for(manager).get(
            reverse("forecasting:changes-deals")
            + "?change=moved_back&start=2025-04-01&end=2025-04-30",
            HTTP_HX_REQUEST="true",
        )
        content = response.content.decode()
        assert "back" in content and "reopen" in content

    def test_unknown_change_is_404(self, client_for, manager):
        assert (
            client_for(manager).get(reverse("forecasting:changes-deals") + "?change=x").status_code
            == 404
        )


class TestAccuracyPage:
    def test_shows_periods(self, client_for, manager, book):
        response = client_for(manager).get(ACCURACY + "?kind=month")
        assert len(response.context["rows"]) == 6


class TestTargetJunk:
    def test_removing_a_junk_id_is_404(self, client_for, manager):
        assert client_for(manager).post(TARGETS, {"delete": "²"}).status_code == 404

    def test_junk_year_shows_the_current_year(self, client_for, manager):
        response = client_for(manager).get(TARGETS + "?year=²")
        assert response.status_code == 200
        assert response.context["year"] >= 2026


def test_export_quotes_names_that_look_like_formulas(client_for, manager):
    from climcrm.models import User

    owner = User.objects.create(username="evil", first_name="=HYPERLINK(1)")
    bulk_deals(1, owner=owner)
    content = client_for(manager).get(reverse("forecasting:forecast-export")).content.decode()
    assert "'=HYPERLINK(1)" in content
