import datetime
import re

import pytest
from playwright.sync_api import expect

from opportunities.models import Opportunity, OpportunityHistory
from tests import clock
from tests.factories import AccountFactory, ContactFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.time_machine(clock.NOW),
]


def test_create_edit_and_see_the_change_in_the_history(page, live_server, login, rep):
    account = AccountFactory(name="Clinique des Alpes SA")
    ContactFactory(account=account, first_name="Anne", last_name="Berset")
    close = clock.today() + datetime.timedelta(days=45)
    login(rep)

    page.goto(f"{live_server.url}/opportunities/new/")
    expect(page.locator("h1")).to_have_text("Nouvelle opportunité")
    # The loss fields only show for Closed Lost.
    expect(page.locator('[data-section="loss"]')).to_be_hidden()
    page.fill("#id_name", "Pompe à chaleur – aile est")
    page.select_option("#id_account", label="Clinique des Alpes SA")
    page.fill("#id_amount", "48000.00")
    page.fill("#id_close_date", close.isoformat())
    page.select_option("#id_stage", "closed_lost")
    expect(page.locator('[data-section="loss"]')).to_be_visible()
    page.select_option("#id_stage", "qualification")
    expect(page.locator('[data-section="loss"]')).to_be_hidden()
    page.click("form.opportunity-form button[type=submit]")

    expect(page).to_have_url(re.compile(r"/opportunities/\d+/$"))
    expect(page.locator("h1")).to_have_text("Pompe à chaleur – aile est")
    expect(page.locator("#history li")).to_have_count(1)

    page.click("text=Modifier")
    page.select_option("#id_stage", "proposal")
    page.fill("#id_amount", "52000.00")
    page.click("form.opportunity-form button[type=submit]")

    expect(page.locator(".messages")).to_contain_text("L'affaire a été enregistrée.")
    latest = page.locator("#history > li").first
    expect(latest).to_contain_text("Qualification")
    expect(latest).to_contain_text("Proposition")
    expect(latest).to_contain_text("48")
    expect(latest).to_contain_text("52")
    deal = Opportunity.objects.get(name="Pompe à chaleur – aile est")
    assert (deal.stage, deal.probability, deal.version) == ("proposal", 50, 2)
    assert OpportunityHistory.objects.filter(opportunity=deal).count() == 2


def test_invalid_edit_shows_the_error_and_keeps_the_input(page, live_server, login, rep):
    account = AccountFactory(name="Hôtel du Lac SA")
    login(rep)
    page.goto(f"{live_server.url}/opportunities/new/")
    page.fill("#id_name", "Monitoring énergétique")
    page.select_option("#id_account", label=account.name)
    page.fill("#id_amount", "9000")
    page.click("form.opportunity-form button[type=submit]")
    expect(page.locator("#id_close_date_error")).to_contain_text("date de clôture")
    expect(page.locator("#id_name")).to_have_value("Monitoring énergétique")
    assert not Opportunity.objects.exists()
