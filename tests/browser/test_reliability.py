import pytest
from playwright.sync_api import expect

from tests import clock
from tests.forecasting.factories import bulk_deals
from tests.forecasting.test_reliability import won_deals

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.dates,
    pytest.mark.time_machine(clock.NOW),
]


def test_a_partners_reliability_fits_at_1280_in_french_with_its_bars(
    page, live_server, login, manager, rep, partner_a
):
    """The trend table of one partner and the summaries of reps and partners never scroll
    sideways at 1280 px; each period's score has its bar."""
    bulk_deals(6, owner=rep, partner=partner_a)
    won_deals(4, owner=rep, partner=partner_a)
    page.set_viewport_size({"width": 1280, "height": 900})
    login(manager)
    page.goto(f"{live_server.url}/forecast/reliability/?scope=partner:{partner_a.pk}")
    block = page.locator(f"#reliability-partner-{partner_a.pk}")
    expect(block).to_be_visible()
    expect(block.locator("tbody tr")).to_have_count(8)
    expect(block.locator(".reliability-chart .bar-fill")).to_have_count(8)
    page.locator(".reliability-formula summary").first.click()
    expect(page.locator(".reliability-formula li").first).to_be_visible()
    page.screenshot(path="/tmp/reliability.png", full_page=True)
    overflowing = page.evaluate(
        """() => [...document.querySelectorAll('.table-wrap')]
            .filter((wrap) => wrap.scrollWidth > wrap.clientWidth + 1)
            .map((wrap) => (wrap.querySelector('table') || wrap).className)"""
    )
    assert overflowing == []
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
