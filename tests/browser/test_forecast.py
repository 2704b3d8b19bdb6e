import re

import pytest
from playwright.sync_api import expect

from climcrm.periods import QUARTER, period_containing
from tests import clock
from tests.forecasting.factories import bulk_deals

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.dates,
    pytest.mark.time_machine(clock.NOW),
]


def test_forecast_switch_period_and_drill_down(page, live_server, login, manager, rep):
    from django.utils import timezone

    bulk_deals(6, owner=rep)
    current = period_containing(QUARTER, timezone.localdate())
    login(manager)
    page.goto(f"{live_server.url}/forecast/")
    expect(page.locator("h1")).to_have_text("Prévisions")
    expect(page.locator(".forecast-table")).to_be_visible()

    # Next quarter: nothing closes there.
    page.click("a[data-period-link=next]")
    expect(page).to_have_url(re.compile(rf"period={current.next().key}"))
    expect(page.locator(".forecast-table")).to_have_count(0)
    page.click("a[data-period-link=prev]")
    expect(page).to_have_url(re.compile(rf"period={current.key}"))
    # The select submits through app.js, a deferred script: wait until it runs.
    page.wait_for_load_state()

    # Switch to the year: the select submits the form.
    page.select_option("select[name=kind]", "year")
    expect(page).to_have_url(re.compile(r"kind=year"))
    expect(page.locator(".period-nav strong")).to_have_text(str(current.start.year))
    # The drill-down links are swapped in by htmx, a deferred script too.
    page.wait_for_load_state()

    # Drill down into the total Commit: the deals show below, the page stays.
    page.click("tfoot a[data-drill=commit]")
    drill = page.locator("#drill table")
    expect(drill).to_be_visible()
    expect(drill.locator("tbody tr")).to_have_count(2)  # deals 2 and 5 are in Commit
    expect(page).to_have_url(re.compile(r"/forecast/\?"))
    # A second drill-down replaces the first one.
    page.click("tfoot a[data-drill=best_case]")
    expect(page.locator("#drill")).to_have_count(1)
    expect(page.locator("#drill h3")).to_contain_text(str(current.start.year))


def test_metrics_page_draws_charts_with_tables(page, live_server, login, manager, rep):
    bulk_deals(6, owner=rep)
    login(manager)
    page.goto(f"{live_server.url}/forecast/metrics/")
    expect(page.locator("#volume-table")).to_be_visible()
    expect(page.locator("canvas[data-chart=chart-pipeline-won]")).to_have_attribute(
        "data-drawn", "1"
    )
    expect(page.locator("#trend-pipeline-table tbody tr")).to_have_count(12)
    page.click("a[data-period-link=prev]")
    expect(page).to_have_url(re.compile(r"period="))
    expect(page.locator("#win-rate-table")).to_be_visible()


@pytest.mark.parametrize("path", ["/forecast/", "/forecast/metrics/", "/"])
def test_report_tables_fit_at_1280_in_french(page, live_server, login, manager, rep, path):
    """At 1280 px no table of the forecast, the metrics or the dashboard scrolls sideways:
    side-by-side tables go one under the other, long column titles wrap."""
    bulk_deals(12, owner=rep)
    page.set_viewport_size({"width": 1280, "height": 900})
    login(manager)
    page.goto(f"{live_server.url}{path}")
    page.wait_for_load_state("networkidle")
    overflowing = page.evaluate(
        """() => [...document.querySelectorAll('.table-wrap')]
            .filter((wrap) => wrap.scrollWidth > wrap.clientWidth + 1)
            .map((wrap) => (wrap.querySelector('table') || wrap).id || wrap.className)"""
    )
    assert overflowing == []
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280


def test_forecast_bars_follow_the_table(page, live_server, login, manager, rep, other_rep):
    bulk_deals(6, owner=rep)
    bulk_deals(3, owner=other_rep)
    login(manager)
    page.goto(f"{live_server.url}/forecast/")
    bars = page.locator("#forecast-bars .bar-track")
    expect(bars).to_have_count(page.locator(".forecast-table tbody tr").count())
    label = bars.first.get_attribute("aria-label")
    first_row = page.locator(".forecast-table tbody tr").first
    assert first_row.locator("th").inner_text() in label
