"""The pipeline import's pages, per role, and the page flow upload → columns → dry run →
import → result."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from accounts.models import Account
from imports.models import ImportKind, PipelineImport, SavedMapping
from opportunities.models import Opportunity
from tests import clock
from tests.factories import AccountFactory

pytestmark = [pytest.mark.dates, pytest.mark.time_machine(clock.NOW)]

ACCOUNTS = "Nom;Ville;Pays\r\nRégie du Lac SA;Morges;CH\r\nImmo Nord Sàrl;Yverdon;CH\r\n"


def csv_file(text: str, encoding="utf-8") -> SimpleUploadedFile:
    return SimpleUploadedFile("comptes.csv", text.encode(encoding), content_type="text/csv")


@pytest.mark.parametrize("role", ["rep", "channel", "partner_a_user"])
def test_only_managers_and_admins_may_import(client, request, role):
    client.force_login(request.getfixturevalue(role))
    assert client.get(reverse("imports:start")).status_code == 404
    response = client.post(
        reverse("imports:start"), {"kind": "accounts", "file": csv_file(ACCOUNTS)}
    )
    assert response.status_code == 404
    assert not PipelineImport.objects.exists()


@pytest.mark.parametrize("role", ["manager", "admin_user"])
def test_managers_and_admins_see_the_import_in_the_navigation(client, request, role):
    client.force_login(request.getfixturevalue(role))
    response = client.get(reverse("dashboard"))
    assert reverse("imports:start") in response.content.decode()


def test_a_rep_has_no_import_in_the_navigation(client, rep):
    client.force_login(rep)
    assert reverse("imports:start") not in client.get(reverse("dashboard")).content.decode()


def test_an_import_belongs_to_whoever_uploaded_it(client, manager, admin_user):
    client.force_login(manager)
    client.post(reverse("imports:start"), {"kind": "accounts", "file": csv_file(ACCOUNTS)})
    job = PipelineImport.objects.get()
    client.force_login(admin_user)
    assert client.get(reverse("imports:mapping", args=[job.pk])).status_code == 404
    assert client.post(reverse("imports:confirm", args=[job.pk])).status_code == 404


def test_upload_columns_dry_run_and_import(client, manager, django_capture_on_commit_callbacks):
    client.force_login(manager)
    response = client.post(
        reverse("imports:start"),
        {"kind": "accounts", "file": csv_file(ACCOUNTS, encoding="cp1252")},
    )
    job = PipelineImport.objects.get()
    assert response.url == reverse("imports:mapping", args=[job.pk])
    page = client.get(response.url)
    assert page.status_code == 200
    assert "Régie du Lac SA" in page.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("imports:mapping", args=[job.pk]),
            {
                "column_0": "name",
                "column_1": "city",
                "column_2": "country",
                "mode": "row",
                "save_as": "Mon tableur",
            },
        )
    assert response.url == reverse("imports:dry-run", args=[job.pk])
    assert SavedMapping.objects.get(name="Mon tableur").columns == {
        "Nom": "name",
        "Ville": "city",
        "Pays": "country",
    }
    dry = client.get(response.url)
    assert dry.status_code == 200
    assert 'id="import-confirm"' in dry.content.decode()
    assert not Account.objects.exists()
    response = client.post(reverse("imports:confirm", args=[job.pk]))
    assert response.url == reverse("imports:result", args=[job.pk])
    job.refresh_from_db()
    assert (job.status, job.created_rows) == ("done", 2)
    result = client.get(response.url, headers={"HX-Request": "true"})
    assert 'id="import-status"' in result.content.decode()
    assert "hx-trigger" not in result.content.decode()
    assert Account.objects.get(name="Immo Nord Sàrl").city == "Yverdon"


def test_the_progress_region_asks_again_while_the_import_runs(client, manager):
    client.force_login(manager)
    job = PipelineImport.objects.create(
        created_by=manager,
        kind=ImportKind.ACCOUNTS,
        status=PipelineImport.Status.IMPORTING,
        filename="a.csv",
        encoding="utf-8",
        delimiter=";",
        content="Nom\nA\n",
        header=["Nom"],
        mapping={"0": "name"},
        total_rows=10,
        processed_rows=4,
    )
    full = client.get(reverse("imports:result", args=[job.pk]))
    partial = client.get(reverse("imports:result", args=[job.pk]), headers={"HX-Request": "true"})
    for response in (full, partial):
        assert 'hx-trigger="every 1s"' in response.content.decode()
    assert "<html" in full.content.decode()
    assert "<html" not in partial.content.decode()


def test_a_missing_required_column_keeps_the_mapping_page(client, manager):
    client.force_login(manager)
    client.post(reverse("imports:start"), {"kind": "accounts", "file": csv_file(ACCOUNTS)})
    job = PipelineImport.objects.get()
    response = client.post(
        reverse("imports:mapping", args=[job.pk]),
        {"column_0": "", "column_1": "city", "column_2": "", "mode": "row"},
    )
    assert response.status_code == 200
    assert "form-errors" in response.content.decode()


def test_all_or_nothing_with_a_refused_row_offers_no_import(
    client, manager, django_capture_on_commit_callbacks
):
    AccountFactory(name="Régie du Lac SA")
    client.force_login(manager)
    text = (
        "Nom;Compte;Date de clôture;Montant\r\n"
        "Chauffage;Régie du Lac SA;31.03.2026;1000\r\n"
        "Solaire;Régie du Lac SA;31.02.2026;-5\r\n"
    )
    client.post(reverse("imports:start"), {"kind": "opportunities", "file": csv_file(text)})
    job = PipelineImport.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("imports:mapping", args=[job.pk]),
            {
                "column_0": "name",
                "column_1": "account",
                "column_2": "close_date",
                "column_3": "amount",
                "mode": "file",
            },
        )
    page = client.get(reverse("imports:dry-run", args=[job.pk])).content.decode()
    assert 'id="import-blocked"' in page
    assert 'id="import-confirm"' not in page
    assert "31.02.2026" in page
    client.post(reverse("imports:confirm", args=[job.pk]))
    job.refresh_from_db()
    assert job.status == "refused"
    assert not Opportunity.objects.exists()
    refused = client.get(reverse("imports:refused", args=[job.pk]))
    assert "31.02.2026" in b"".join([refused.content]).decode("utf-8-sig")


def test_an_unreadable_file_is_refused_at_upload(client, manager):
    client.force_login(manager)
    response = client.post(
        reverse("imports:start"),
        {"kind": "accounts", "file": csv_file("Nom|Ville\nA|B\n")},
    )
    assert response.status_code == 200
    assert not PipelineImport.objects.exists()


def test_the_dry_run_page_asks_again_while_a_worker_checks_the_rows(client, manager):
    client.force_login(manager)
    job = PipelineImport.objects.create(
        created_by=manager,
        kind=ImportKind.ACCOUNTS,
        status=PipelineImport.Status.CHECKING,
        filename="a.csv",
        encoding="utf-8",
        delimiter=";",
        content="Nom;Ville\nA;B\n",
        header=["Nom", "Ville"],
        mapping={"0": "name"},
        checked_rows=5000,
    )
    url = reverse("imports:dry-run", args=[job.pk])
    full = client.get(url)
    partial = client.get(url, headers={"HX-Request": "true"})
    for response in (full, partial):
        assert 'hx-trigger="every 1s"' in response.content.decode()
        assert 'id="import-confirm"' not in response.content.decode()
    assert "<html" not in partial.content.decode()
    assert client.post(reverse("imports:confirm", args=[job.pk])).status_code == 302
    job.refresh_from_db()
    assert job.status == PipelineImport.Status.CHECKING
