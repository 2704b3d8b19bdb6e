"""A lead qualified to prospect, converted with its buying signals, found again on the board."""

import re

import pytest
from playwright.sync_api import expect

from leads.models import Lead, LeadStatus
from opportunities.models import Opportunity
from tests.factories import OpportunityFactory
from tests.factories.leads import OpenLeadFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_prospect_converted_carries_its_signals_and_the_board_filters_on_them(
    page, live_server, login, rep
):
    lead = OpenLeadFactory(
        owner=rep,
        first_name="Anne",
        last_name="Dupuis",
        company="Régie Signal SA",
        status=LeadStatus.MQL,
        organisation_fit=True,
        opportunity_fit=True,
    )
    OpportunityFactory(owner=rep, name="Sans signal")
    login(rep)

    # Not a prospect yet: the page names the level still missing.
    page.goto(f"{live_server.url}/leads/{lead.pk}/")
    expect(page.locator("#prospect-missing")).to_contain_text("Partie prenante")

    # Qualify the last level, note the pain and two buying signals.
    page.goto(f"{live_server.url}/leads/{lead.pk}/edit/")
    page.check("#id_stakeholder_fit")
    page.check("#id_pain_ok")
    page.fill("#id_pain_note", "Décomptes de chauffage à la main")
    page.check("#id_asked_demo")
    page.check("#id_gave_decision_date")
    page.locator("form.lead-form button[type=submit]").click()
    page.wait_for_url(re.compile(rf"/leads/{lead.pk}/$"))
    expect(page.locator("#prospect-status")).to_be_visible()
    expect(page.locator("#toggle-stakeholder_fit")).to_have_attribute("aria-checked", "true")
    assert Lead.objects.get(pk=lead.pk).reached_prospect

    # Convert: the deal carries the characteristics and the signals.
    page.click("#convert-link")
    page.fill("#id_amount", "36000")
    page.click("#convert-submit")
    page.wait_for_url(re.compile(r"/opportunities/pipeline/\?highlight=\d+$"))
    deal = Opportunity.objects.get(lead=lead)
    page.goto(f"{live_server.url}/opportunities/{deal.pk}/")
    assert deal.pain_ok and deal.pain_note == "Décomptes de chauffage à la main"
    assert deal.asked_demo and deal.gave_decision_date and not deal.asked_pricing
    expect(page.locator("#deal-signals")).to_contain_text("A demandé une démonstration")
    expect(page.locator("#deal-characteristics")).to_contain_text("Décomptes de chauffage")
    expect(page.locator("#amount-unconfirmed")).to_be_visible()

    # The board, filtered on a buying signal, shows the converted deal only.
    page.goto(f"{live_server.url}/opportunities/pipeline/")
    expect(page.locator(".kanban-card")).to_have_count(2)
    page.locator("details.kanban-more-filters summary").click()
    page.select_option("select[name=signal]", "asked_demo")
    expect(page.locator(".kanban-card")).to_have_count(1)
    expect(page.locator(f"#deal-{deal.pk}")).to_be_visible()
    expect(page).to_have_url(re.compile(r"signal=asked_demo"))
