import re

import pytest
from playwright.sync_api import expect

from imports.models import PipelineImport, SavedMapping
from opportunities.models import Opportunity, OpportunityHistory, Stage
from tests.factories import AccountFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_import_opportunities_upload_columns_dry_run_and_finish(page, live_server, login, manager):
    AccountFactory(name="Régie du Lac SA")
    content = (
        "Affaire;Compte;Étape;Montant;Fin prévue\r\n"
        "Chauffage Lac;Régie du Lac SA;Proposal;12 500,00;31.03.2027\r\n"
        "Solaire Lac;Régie du Lac SA;Signée;5000;31.02.2027\r\n"
    ).encode("cp1252")
    login(manager)
    page.click("a[href='/imports/']")
    page.check("input[name=kind][value=opportunities]")
    page.set_input_files(
        "input[name=file]",
        files=[{"name": "affaires.csv", "mimeType": "text/csv", "buffer": content}],
    )
    page.click("#import-form button[type=submit]")
    page.wait_for_url(re.compile(r"/imports/\d+/columns/$"))
    # "Affaire" and "Fin prévue" are not headers ClimCRM knows: map them by hand.
    page.select_option("#id_column_0", "name")
    page.select_option("#id_column_4", "close_date")
    page.fill("#id_save_as", "Ancien tableur")
    page.click("#mapping-form button[type=submit]")
    page.wait_for_url(re.compile(r"/imports/\d+/$"))
    expect(page.locator("#import-summary")).to_contain_text("1 nouvel enregistrement")
    expect(page.locator("#import-errors")).to_contain_text("Étape inconnue")
    expect(page.locator("#import-errors")).to_contain_text("31.02.2027")
    assert not Opportunity.objects.exists()
    page.click("#import-confirm button[type=submit]")
    page.wait_for_url(re.compile(r"/imports/\d+/result/$"))
    expect(page.locator("#import-result")).to_contain_text("Import terminé")
    deal = Opportunity.objects.get()
    assert (deal.name, deal.stage, str(deal.amount)) == (
        "Chauffage Lac",
        Stage.PROPOSAL,
        "12500.00",
    )
    assert OpportunityHistory.objects.get(opportunity=deal).tag == "imported"
    assert PipelineImport.objects.get().rejected_rows == 1
    assert SavedMapping.objects.get(name="Ancien tableur").columns["Affaire"] == "name"
