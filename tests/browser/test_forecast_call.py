"""One week's forecast call in the browser: a rep submits, the manager adjusts, a partner's
sales director submits and the channel manager adjusts the partner's forecast, unseen by
the partner."""

import re

import pytest
from playwright.sync_api import expect

from forecasting.models import ForecastAdjustment, ForecastSubmission
from tests import clock
from tests.factories import UserFactory
from tests.forecasting.factories import bulk_deals

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.dates,
    pytest.mark.time_machine(clock.NOW),
]


def test_rep_submits_manager_adjusts_partner_director_submits(
    page, live_server, login, manager, rep, partner_a, channel
):
    bulk_deals(6, owner=rep, partner=partner_a)
    director = UserFactory(
        username="director_a",
        roles=["partner_user"],
        partner=partner_a,
        partner_title="sales_director",
    )

    # The rep submits the proposed figures, Commit changed, with a note.
    login(rep)
    page.goto(f"{live_server.url}/forecast/submissions/new/")
    expect(page.locator("#proposal-deals tbody tr").first).to_be_visible()
    page.fill("input[name=commit]", "5000")
    page.fill("textarea[name=note]", "Deux signatures attendues")
    page.click("#submission-form button[type=submit]")
    expect(page).to_have_url(re.compile(r"/forecast/submissions/\?"))
    expect(page.locator(f'tr[data-key="rep:{rep.pk}"]')).to_contain_text("5")
    submission = ForecastSubmission.objects.get(user=rep)
    assert submission.lines.exists()

    # The manager sees it beside "not yet submitted" reps, and adjusts it with a note.
    page.context.clear_cookies()
    login(manager)
    page.goto(f"{live_server.url}/forecast/submissions/")
    row = page.locator(f'tr[data-key="rep:{rep.pk}"]')
    expect(row).to_be_visible()
    row.locator("a").first.click()
    expect(page.locator("#adjust-form")).to_be_visible()
    page.select_option("#adjust-form select[name=figure]", "commit")
    page.fill("#adjust-form input[name=to_amount]", "4000")
    page.click("#adjust-form button[type=submit]")
    expect(
        page.locator("#adjust-form .errorlist, #adjust-form [aria-invalid=true]").first
    ).to_be_visible()
    assert not ForecastAdjustment.objects.exists()  # the note is required
    page.fill("#adjust-form input[name=to_amount]", "4000")
    page.fill("#adjust-form textarea[name=note]", "Une signature incertaine")
    page.click("#adjust-form button[type=submit]")
    expect(page.locator("#adjustments")).to_contain_text("Une signature incertaine")
    assert ForecastAdjustment.objects.get().to_amount == 4000

    # The partner's sales director submits the partner's forecast.
    page.context.clear_cookies()
    login(director)
    page.goto(f"{live_server.url}/forecast/submissions/new/")
    page.fill("input[name=best_case]", "9000")
    page.click("#submission-form button[type=submit]")
    expect(page.locator(f'tr[data-key="partner:{partner_a.pk}"]')).to_be_visible()
    expect(page.locator(f'tr[data-key="rep:{rep.pk}"]')).to_have_count(0)
    assert ForecastSubmission.objects.get(partner=partner_a).submitted_by == director

    # The channel manager reads the partner's forecast in the call and adjusts it.
    page.context.clear_cookies()
    login(channel)
    page.goto(f"{live_server.url}/forecast/submissions/")
    partner_row = page.locator(f'tr[data-key="partner:{partner_a.pk}"]')
    expect(partner_row).not_to_contain_text("Pas encore envoyées")
    partner_row.locator("a").first.click()
    page.select_option("#adjust-form select[name=figure]", "best_case")
    page.fill("#adjust-form input[name=to_amount]", "7000")
    page.fill("#adjust-form textarea[name=note]", "INTERNEZQ relance nécessaire")
    page.click("#adjust-form button[type=submit]")
    expect(page.locator("#adjustments")).to_contain_text("INTERNEZQ")

    # The director does not see the internal judgment, and has no form to adjust.
    page.context.clear_cookies()
    login(director)
    page.goto(f"{live_server.url}/forecast/submissions/")
    page.locator(f'tr[data-key="partner:{partner_a.pk}"] a').first.click()
    expect(page.locator("#submission-lines")).to_be_visible()
    expect(page.locator("body")).not_to_contain_text("INTERNEZQ")
    expect(page.locator("#adjust-form")).to_have_count(0)
