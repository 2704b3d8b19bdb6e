import datetime
import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from opportunities.models import Opportunity, OpportunityHistory
from opportunities.services import opportunity_update
from tests import clock
from tests.factories import AccountFactory, ContactFactory, OpportunityFactory

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

    expect(page.locator(".messages")).to_contain_text("L'opportunité a été enregistrée.")
    latest = page.locator("#history > li").first
    expect(latest).to_contain_text("Qualification")
    expect(latest).to_contain_text("Proposal")
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


def test_a_stale_edit_tab_is_refused_with_what_changed_and_saves_on_the_second_try(
    page, live_server, login, rep, manager
):
    deal = OpportunityFactory(owner=rep, name="Ventilation Collège de Sion")
    login(rep)
    page.goto(f"{live_server.url}/opportunities/{deal.pk}/edit/")
    # The manager saves a new amount while the rep's tab is open.
    opportunity_update(
        opportunity=deal,
        by=manager,
        changes={"amount": Decimal("77000")},
        expected_version=deal.version,
    )
    page.fill("#id_next_step", "Rappeler jeudi")
    page.click("form.opportunity-form button[type=submit]")

    notice = page.locator(".stale-notice")
    expect(notice).to_be_visible()
    expect(notice).to_contain_text(str(manager))
    expect(page.locator(".form-errors")).to_contain_text("Quelqu'un d'autre a modifié")
    expect(page.locator("#id_next_step")).to_have_value("Rappeler jeudi")
    deal.refresh_from_db()
    assert (deal.next_step, deal.version) == ("", 2)

    # The rep takes the manager's amount and saves again from the same tab.
    page.fill("#id_amount", "77000.00")
    page.click("form.opportunity-form button[type=submit]")

    expect(page).to_have_url(re.compile(rf"/opportunities/{deal.pk}/$"))
    deal.refresh_from_db()
    assert (deal.next_step, deal.amount, deal.version) == ("Rappeler jeudi", Decimal("77000"), 3)


def test_the_reason_appears_when_the_change_goes_backward_and_is_kept(
    page, live_server, login, rep
):
    deal = OpportunityFactory(owner=rep, name="Chauffage Salle Polyvalente", amount=Decimal(10000))
    login(rep)
    page.goto(f"{live_server.url}/opportunities/{deal.pk}/edit/")
    reason = page.locator('[data-section="reason"]')
    expect(reason).to_be_hidden()

    page.fill("#id_amount", "8000")
    expect(reason).to_be_visible()
    page.fill("#id_amount", "12000")
    expect(reason).to_be_hidden()

    page.fill("#id_amount", "8000")
    page.select_option("#id_reason_code", label="Périmètre réduit")
    page.fill("#id_reason_text", "Une seule chaudière au lieu de deux")
    page.click("form.opportunity-form button[type=submit]")

    expect(page).to_have_url(re.compile(rf"/opportunities/{deal.pk}/$"))
    row = OpportunityHistory.objects.get(opportunity=deal, version=2)
    assert (row.amount, row.reason_code.code, row.reason_text) == (
        Decimal(8000),
        "scope_reduced",
        "Une seule chaudière au lieu de deux",
    )
