"""A team's and a channel's total on the forecast call in the browser: the sales director
adjusts the team total, the head of channel the channel total, each with a note; the
partner's users see neither and find no page to adjust it."""

import re

import pytest
from playwright.sync_api import expect

from climcrm.periods import QUARTER, period_containing
from forecasting.models import ForecastGroupAdjustment
from forecasting.submissions import forecast_submission_create
from tests import clock
from tests.factories import UserFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.dates,
    pytest.mark.time_machine(clock.NOW),
]


def adjust_group(page, group_key, *, figure, to_amount, note):
    """From the call, follow the group's adjust link; submit without a note (refused,
    nothing stored), then with one; back on the call."""
    kind, head = group_key.split(":")
    count = ForecastGroupAdjustment.objects.count()
    page.locator(f'tr.group-row[data-group="{group_key}"] a.group-action').click()
    expect(page).to_have_url(re.compile(rf"/forecast/submissions/{kind}/{head}/adjust/\?"))
    form = page.locator("#group-adjust-form")
    expect(form).to_be_visible()
    form.locator("select[name=figure]").select_option(figure)
    form.locator("input[name=to_amount]").fill(to_amount)
    form.locator("button[type=submit]").click()
    expect(form.locator(".errorlist, [aria-invalid=true]").first).to_be_visible()
    assert ForecastGroupAdjustment.objects.count() == count  # the note is required
    form.locator("input[name=to_amount]").fill(to_amount)
    form.locator("textarea[name=note]").fill(note)
    form.locator("button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/forecast/submissions/\?"))
    assert ForecastGroupAdjustment.objects.count() == count + 1


def test_team_and_channel_totals_adjusted_unseen_by_partner(
    page, live_server, login, manager, rep, other_rep, channel, partner_a, partner_a_user
):
    period = period_containing(QUARTER, clock.today())
    director = UserFactory(username="sales_director", roles=["sales_manager"])
    manager.manager = director
    manager.save()
    head = UserFactory(username="head_of_channel", roles=["channel_manager"])
    channel.manager = head
    channel.save()
    partner_director = UserFactory(
        username="director_a",
        roles=["partner_user"],
        partner=partner_a,
        partner_title="sales_director",
    )
    forecast_submission_create(by=rep, period=period, commit=100, best_case=200)
    forecast_submission_create(by=other_rep, period=period, commit=300, best_case=400)
    forecast_submission_create(
        by=partner_director, period=period, commit=500, best_case=900, partner=partner_a
    )
    team, channel_total = f"team:{manager.pk}", f"channel:{channel.pk}"

    # The sales director adjusts the team's Commit total, 400, down to 350.
    login(director)
    page.goto(f"{live_server.url}/forecast/submissions/")
    expect(page.locator(f'tr.group-adjusted-row[data-group="{team}"]')).to_have_count(0)
    adjust_group(page, team, figure="commit", to_amount="350", note="Deux affaires en retard")
    adjustment = ForecastGroupAdjustment.objects.get(group_key=team)
    assert (adjustment.figure, adjustment.from_amount, adjustment.to_amount) == ("commit", 400, 350)
    assert adjustment.adjusted_by == director
    team_rows = page.locator(f'tbody:has(tr.group-row[data-group="{team}"])')
    expect(team_rows.locator("tr.total-row").first).to_contain_text("400")
    expect(page.locator(f'tr.group-adjusted-row[data-group="{team}"]')).to_contain_text("350")
    expect(team_rows.locator("tr.group-adjustment-note")).to_contain_text("Deux affaires en retard")

    # The head of channel adjusts the channel's Best Case total, 900, down to 750.
    page.context.clear_cookies()
    login(head)
    page.goto(f"{live_server.url}/forecast/submissions/")
    expect(page.locator(f'tr.group-row[data-group="{team}"]')).to_have_count(0)
    adjust_group(
        page, channel_total, figure="best_case", to_amount="750", note="INTERNEZQ canal prudent"
    )
    adjustment = ForecastGroupAdjustment.objects.get(group_key=channel_total)
    assert (adjustment.figure, adjustment.from_amount, adjustment.to_amount) == (
        "best_case",
        900,
        750,
    )
    channel_rows = page.locator(f'tbody:has(tr.group-row[data-group="{channel_total}"])')
    expect(channel_rows.locator("tr.total-row").first).to_contain_text("900")
    expect(page.locator(f'tr.group-adjusted-row[data-group="{channel_total}"]')).to_contain_text(
        "750"
    )
    expect(channel_rows.locator("tr.group-adjustment-note")).to_contain_text("INTERNEZQ")

    # The partner's users read their own forecast, without the channel's adjusted total,
    # and find no page to adjust it.
    group_url = f"{live_server.url}/forecast/submissions/channel/{channel.pk}/adjust/"
    for user in (partner_a_user, partner_director):
        page.context.clear_cookies()
        login(user)
        page.goto(f"{live_server.url}/forecast/submissions/")
        expect(page.locator(f'tr[data-key="partner:{partner_a.pk}"]')).to_contain_text("900")
        expect(page.locator("#forecast-call")).not_to_contain_text("INTERNEZQ")
        expect(page.locator("#forecast-call")).not_to_contain_text("750")
        expect(page.locator("tr.group-adjusted-row, tr.group-adjustment-note")).to_have_count(0)
        expect(page.locator("a.group-action")).to_have_count(0)
        response = page.goto(group_url)
        assert response is not None and response.status == 404
        expect(page.locator("body")).not_to_contain_text("INTERNEZQ")
        assert ForecastGroupAdjustment.objects.count() == 2
