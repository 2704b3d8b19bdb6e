import re

import pytest
from playwright.sync_api import expect

from leads.models import Lead, LeadStatus
from opportunities.models import Opportunity, Stage
from tests.factories import AccountFactory
from tests.factories.leads import OpenLeadFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_convert_a_lead_end_to_end_shows_the_new_opportunity_on_the_board(
    page, live_server, login, rep
):
    AccountFactory(name="Autre Régie SA")
    lead = OpenLeadFactory(
        owner=rep,
        first_name="Anne",
        last_name="Dupuis",
        email="anne@regie-exemple.ch",
        company="Régie Exemple SA",
        status=LeadStatus.MQL,
        budget_ok=True,
        budget_note="Budget voté",
    )
    login(rep)
    page.goto(f"{live_server.url}/leads/")
    page.click(f"a[href='/leads/{lead.pk}/']")
    page.click("#convert-link")
    expect(page.locator("h1")).to_be_visible()
    expect(page.locator("#account-new")).to_be_checked()
    expect(page.locator("#id_opportunity_name")).to_have_value("Régie Exemple SA")
    page.fill("#id_amount", "48000")
    page.click("#convert-submit")

    # The board opens with the new deal marked and in view; its card opens the deal.
    page.wait_for_url(re.compile(r"/opportunities/pipeline/\?highlight=\d+$"))
    opportunity = Opportunity.objects.get()
    card = page.locator(f"#deal-{opportunity.pk}")
    expect(card).to_have_class(re.compile(r"is-highlighted"))
    expect(card).to_be_in_viewport()
    page.goto(f"{live_server.url}/opportunities/{opportunity.pk}/")
    assert opportunity.stage == Stage.QUALIFICATION
    assert str(opportunity.amount) == "48000.00"
    assert opportunity.budget_ok and opportunity.budget_note == "Budget voté"
    expect(page.locator("body")).to_contain_text("Régie Exemple SA")
    lead.refresh_from_db()
    assert lead.status == LeadStatus.CONVERTED
    assert lead.converted_opportunity == opportunity

    # Back to the form and submitting again creates nothing new.
    page.go_back()
    page.goto(f"{live_server.url}/leads/{lead.pk}/convert/")
    page.wait_for_url(re.compile(rf"/opportunities/{opportunity.pk}/$"))
    assert Opportunity.objects.count() == 1
    assert Lead.objects.get(pk=lead.pk).status_changes.filter(to_status="converted").count() == 1


def test_bulk_status_change_from_the_list(page, live_server, login, rep):
    leads = [OpenLeadFactory(owner=rep, last_name=f"Bulk{i}") for i in range(3)]
    login(rep)
    page.goto(f"{live_server.url}/leads/")
    page.check("#select-all")
    page.select_option("select[name=action]", "status")
    page.select_option("#bulk-form select[name=status]", "working")
    page.click("#bulk-form button[type=submit]")
    expect(page.locator(".messages")).to_contain_text("3")
    assert all(Lead.objects.get(pk=lead.pk).status == LeadStatus.WORKING for lead in leads)


def test_search_filters_the_list_in_place(page, live_server, login, rep):
    OpenLeadFactory(last_name="Zurbriggen", company="Alpes Immo SA")
    OpenLeadFactory(last_name="Favre", company="Lac Régie SA")
    login(rep)
    page.goto(f"{live_server.url}/leads/")
    expect(page.locator("#results")).to_contain_text("Favre")
    page.fill("#lead-filters input[name=q]", "alpes")
    expect(page.locator("#results")).not_to_contain_text("Favre")
    expect(page.locator("#results")).to_contain_text("Zurbriggen")
    expect(page).to_have_url(re.compile(r"q=alpes"))
    assert "q=alpes" in page.get_attribute("#export-link", "href")


def test_import_a_csv_with_preview_and_progress(page, live_server, login, rep):
    OpenLeadFactory(email="deja@connu.ch", last_name="Connu")
    content = (
        "Prénom;Nom;E-mail;Entreprise;Source\r\n"
        "Anne;Dupuis;anne@regie-exemple.ch;Régie Exemple SA;Salon\r\n"
        "Zoé;;zoe@exemple.ch;Sans Nom;\r\n"
        "Paul;Connu;deja@connu.ch;Connu SA;\r\n"
    ).encode("cp1252")
    login(rep)
    page.goto(f"{live_server.url}/leads/import/")
    page.set_input_files(
        "input[name=file]",
        files=[{"name": "pistes.csv", "mimeType": "text/csv", "buffer": content}],
    )
    page.click("#import-form button[type=submit]")
    expect(page.locator("#import-summary")).to_contain_text("3")
    expect(page.locator("#import-errors")).to_contain_text("Connu")
    assert Lead.objects.count() == 1
    page.click("#import-confirm button[type=submit]")
    page.wait_for_url(re.compile(r"/leads/import/\d+/result/$"))
    expect(page.locator("#import-result")).to_be_visible()
    assert set(Lead.objects.values_list("last_name", flat=True)) == {"Dupuis", "Connu"}
    assert Lead.objects.get(last_name="Dupuis").company == "Régie Exemple SA"
