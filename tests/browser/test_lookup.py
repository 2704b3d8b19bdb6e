"""Picking an account and a contact by typing, when there are too many to list."""

import pytest
from playwright.sync_api import expect

from opportunities.models import Opportunity
from tests import clock
from tests.browser.test_accessibility import AXE, run_axe
from tests.factories import AccountFactory, ContactFactory, OpportunityFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.time_machine(clock.NOW),
]


def answered(page, select_id: str, first: str) -> None:
    """Wait for the lookup's answer: the first row is highlighted, nothing is loading."""
    expect(page.locator(f"#{select_id}-ts-dropdown .option.active")).to_have_text(first)
    expect(page.locator(".ts-wrapper.loading")).to_have_count(0)


def test_pick_the_deals_account_and_contact_by_typing(page, live_server, login, rep, settings):
    settings.CRM_LOOKUP_THRESHOLD = 3
    deal = OpportunityFactory(owner=rep, name="Chaufferie", account__name="Choisie SA")
    for name in ("Bâtiments Sud", "Hôtel Solaris", "Garage Central"):
        ContactFactory(account=AccountFactory(name=name))
    target = AccountFactory(name="Clinique des Alpes SA")
    anne = ContactFactory(account=target, first_name="Anne", last_name="Berset")
    page.add_init_script(path=AXE)
    login(rep)

    page.goto(f"{live_server.url}/opportunities/{deal.pk}/edit/")
    account = page.locator("#id_account")
    expect(account).to_have_attribute("data-lookup-url", "/accounts/lookup/")
    # Only the chosen account is in the page.
    expect(account.locator("option")).to_have_count(2)
    # The search box carries the field's label.
    search = page.locator("input").and_(page.get_by_role("combobox", name="Compte"))
    # By keyboard: the search box takes the focus, the typed text asks the lookup.
    search.focus()
    search.press_sequentially("clini")
    answered(page, "id_account", "Clinique des Alpes SA")
    assert run_axe(page) == []
    search.press("Enter")
    expect(account).to_have_value(str(target.pk))

    # The contact lookup is narrowed to the account just chosen.
    contact = page.locator("input").and_(page.get_by_role("combobox", name="Contact principal"))
    contact.focus()
    answered(page, "id_primary_contact", "Anne Berset")
    expect(page.locator("#id_primary_contact-ts-dropdown [role=option]")).to_have_count(1)
    contact.press("Enter")
    expect(page.locator("#id_primary_contact")).to_have_value(str(anne.pk))

    page.click("form.opportunity-form button[type=submit]")
    expect(page.locator(".messages")).to_contain_text("L'opportunité a été enregistrée.")
    deal = Opportunity.objects.get(pk=deal.pk)
    assert (deal.account_id, deal.primary_contact_id) == (target.pk, anne.pk)
