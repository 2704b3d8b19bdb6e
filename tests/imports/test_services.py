"""The pipeline import's services: mapping, dry run, row errors, idempotency, round trip,
row-by-row against all-or-nothing, and the kept totals after an import."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import RequestFactory
from django.utils import timezone, translation

from accounts.models import Account, Contact
from forecasting import kept
from imports import services
from imports.models import ImportKind, ImportMode, PipelineImport, SavedMapping
from opportunities.models import (
    ForecastCategory,
    LossReason,
    Opportunity,
    OpportunityHistory,
    Stage,
)
from tests import clock
from tests.factories import AccountFactory, OpportunityFactory
from tests.forecasting.test_month_changes import kept_rows, kept_totals
from tests.forecasting.test_summaries import table

pytestmark = [pytest.mark.dates, pytest.mark.time_machine(clock.NOW)]

DEALS_HEADER = (
    "ID externe;Nom;Compte;Propriétaire;Partenaire;Étape;Montant;Probabilité;"
    "Date de clôture;Livraison prévue;Catégorie de prévision;Type;Raison de la perte;Créée"
)


def upload(text: str, *, encoding="utf-8", name="deals.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, text.encode(encoding), content_type="text/csv")


def start(by, kind, text, *, encoding="utf-8", mode=ImportMode.PER_ROW, mapping=None):
    job = services.import_create(upload=upload(text, encoding=encoding), kind=kind, by=by)
    return services.import_set_mapping(job=job, mapping=mapping or job.mapping, mode=mode, by=by)


def run(by, kind, text, **kwargs) -> PipelineImport:
    return services.import_all(job=start(by, kind, text, **kwargs))


@pytest.fixture
def customers(db):
    return [AccountFactory(name="Régie du Lac SA"), AccountFactory(name="Immo Nord Sàrl")]


def deals_file(rows: list[str]) -> str:
    return "\r\n".join([DEALS_HEADER, *rows]) + "\r\n"


GOOD_ROWS = [
    "D-1;Chauffage Lac;Régie du Lac SA;rep;;Proposal;12 500,00;50;31.03.2026;;;;;05.01.2026",
    "D-2;PAC Nord;Immo Nord Sàrl;;;Stage 4;8000;;15.04.2026;30.06.2026;Commit;Existing business;;",
    "D-3;Solaire Lac;Régie du Lac SA;rep;;Closed Won;20’000.50;;10.11.2025;;;;;01.10.2025",
]


def test_a_french_excel_file_maps_itself_and_imports_every_good_row(customers, rep, manager):
    job = run(manager, ImportKind.OPPORTUNITIES, deals_file(GOOD_ROWS), encoding="cp1252")
    assert job.encoding == "windows-1252"
    assert (job.status, job.created_rows, job.rejected_rows) == ("done", 3, 0)
    lac = Opportunity.objects.get(external_id="D-1")
    assert (lac.stage, lac.amount, lac.probability, lac.owner) == (
        Stage.PROPOSAL,
        Decimal("12500.00"),
        50,
        rep,
    )
    assert lac.close_date == date(2026, 3, 31)
    nord = Opportunity.objects.get(external_id="D-2")
    assert (nord.stage, nord.owner, nord.forecast_category, nord.type) == (
        Stage.NEGOTIATION,
        manager,
        ForecastCategory.COMMIT,
        "existing_business",
    )
    assert nord.expected_delivery == date(2026, 6, 30)
    won = Opportunity.objects.get(external_id="D-3")
    assert (won.stage, won.probability, won.amount) == (
        Stage.CLOSED_WON,
        100,
        Decimal("20000.50"),
    )
    assert won.closed_at is not None


def test_each_imported_deal_has_one_history_row_tagged_imported(customers, rep, manager):
    run(manager, ImportKind.OPPORTUNITIES, deals_file(GOOD_ROWS))
    rows = OpportunityHistory.objects.filter(opportunity__external_id__in=["D-1", "D-2", "D-3"])
    assert rows.count() == 3
    assert set(rows.values_list("tag", "is_creation", "version")) == {("imported", True, 1)}
    first = rows.get(opportunity__external_id="D-1")
    assert first.changed_at == first.opportunity.created_at
    assert timezone.localtime(first.changed_at).date() == date(2026, 1, 5)


def test_kept_totals_after_an_import_equal_a_rebuild(changed_book, customers, rep, manager):
    loss = LossReason.objects.first()
    rows = [
        *GOOD_ROWS,
        f"D-4;Perdue;Immo Nord Sàrl;rep;;Closed Lost;3000;;01.12.2025;;;;{loss.code};01.12.2025",
        "D-5;Sans montant;Immo Nord Sàrl;rep;Alpha Solutions SA;Qualification;;;30.01.2026;;;;;",
    ]
    job = run(manager, ImportKind.OPPORTUNITIES, deals_file(rows))
    assert job.created_rows == 5
    kept_summaries, kept_months, kept_month_totals = table(), kept_rows(), kept_totals()
    kept.rebuild()
    assert table() == kept_summaries
    assert kept_rows() == kept_months
    assert kept_totals() == kept_month_totals


def test_the_same_file_twice_changes_nothing(customers, rep, manager):
    text = deals_file(GOOD_ROWS)
    run(manager, ImportKind.OPPORTUNITIES, text)
    before = (Opportunity.objects.count(), OpportunityHistory.objects.count(), table())
    again = run(manager, ImportKind.OPPORTUNITIES, text)
    assert (again.created_rows, again.existing_rows, again.rejected_rows) == (0, 3, 0)
    assert (Opportunity.objects.count(), OpportunityHistory.objects.count(), table()) == before


def test_rows_without_external_id_match_by_account_and_name(customers, rep, manager):
    OpportunityFactory(name="Chauffage Lac", account=customers[0])
    text = deals_file([";Chauffage Lac;Régie du Lac SA;;;;1000;;31.03.2026;;;;;"])
    job = run(manager, ImportKind.OPPORTUNITIES, text)
    assert (job.created_rows, job.existing_rows) == (0, 1)


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (";X;Régie du Lac SA;;;Signed;100;;31.03.2026;;;;;", "Unknown stage"),
        (";X;Régie du Lac SA;;;;-100;;31.03.2026;;;;;", "negative"),
        (";X;Régie du Lac SA;;;;100;;31.02.2026;;;;;", "is not a date"),
        (";=HYPERLINK(1);Régie du Lac SA;;;;100;;31.03.2026;;;;;", "formula"),
        (";X;Régie du Lac SA;@SUM(A1);;;100;;31.03.2026;;;;;", "formula"),
        (";X;Nobody SA;;;;100;;31.03.2026;;;;;", "Unknown account"),
        (";X;Régie du Lac SA;;;;100;120;31.03.2026;;;;;", "between 0 and 100"),
        (";X;Régie du Lac SA;;;Closed Lost;100;;31.03.2026;;;;;", "loss reason"),
        (";X;Régie du Lac SA;;;;100;;;;;;;", "close date is missing"),
        (";X;Régie du Lac SA;ghost;;;100;;31.03.2026;;;;;", "Unknown owner"),
        ("X;Régie du Lac SA;;;;100;;31.03.2026", "separator"),
    ],
)
def test_a_bad_row_is_refused_with_its_reason_and_writes_nothing(customers, manager, row, message):
    with translation.override("en"):
        job = start(manager, ImportKind.OPPORTUNITIES, deals_file([row]))
        summary = services.dry_run(job)
        assert (summary.new, summary.refused) == (0, 1)
        assert message in " ".join(summary.errors[0].errors)
        job = services.import_all(job=job)
    assert (job.created_rows, job.rejected_rows) == (0, 1)
    assert not Opportunity.objects.exists()
    assert message in job.rejected_content


def test_row_errors_are_in_french_by_default(customers, manager):
    with translation.override("fr"):
        job = start(
            manager,
            ImportKind.OPPORTUNITIES,
            deals_file([";X;Régie du Lac SA;;;Signé;100;;31.02.2026;;;;;"]),
        )
        errors = " ".join(services.dry_run(job).errors[0].errors)
    assert "Étape inconnue" in errors
    assert "n’est pas une date" in errors


def test_the_dry_run_writes_nothing_and_counts_new_existing_and_refused(customers, rep, manager):
    OpportunityFactory(name="Chauffage Lac", account=customers[0], external_id="D-1")
    job = start(
        manager,
        ImportKind.OPPORTUNITIES,
        deals_file([*GOOD_ROWS, ";Y;Régie du Lac SA;;;;-5;;31.03.2026;;;;;"]),
    )
    summary = services.dry_run(job)
    assert (summary.total, summary.new, summary.existing, summary.refused) == (4, 2, 1, 1)
    assert Opportunity.objects.count() == 1
    assert summary.errors[0].number == 5


def test_row_by_row_imports_the_good_rows_and_all_or_nothing_none(customers, rep, manager):
    text = deals_file([*GOOD_ROWS, ";Y;Régie du Lac SA;;;;-5;;31.03.2026;;;;;"])
    whole = run(manager, ImportKind.OPPORTUNITIES, text, mode=ImportMode.WHOLE_FILE)
    assert (whole.status, whole.created_rows, whole.rejected_rows) == ("refused", 0, 1)
    assert not Opportunity.objects.exists()
    per_row = run(manager, ImportKind.OPPORTUNITIES, text, mode=ImportMode.PER_ROW)
    assert (per_row.status, per_row.created_rows, per_row.rejected_rows) == ("done", 3, 1)


def test_a_duplicate_inside_the_file_is_refused(customers, manager):
    row = "D-9;Même;Régie du Lac SA;;;;100;;31.03.2026;;;;;"
    job = run(manager, ImportKind.OPPORTUNITIES, deals_file([row, row]))
    assert (job.created_rows, job.rejected_rows) == (1, 1)
    assert "row 2" in job.rejected_content or "ligne 2" in job.rejected_content


def test_a_saved_mapping_is_applied_to_the_next_file(customers, manager):
    text = "Affaire;Client;Fin\r\nChauffage;Régie du Lac SA;31.03.2026\r\n"
    job = services.import_create(upload=upload(text), kind=ImportKind.OPPORTUNITIES, by=manager)
    assert services.missing_fields(job.kind, job.mapping)
    mapping = {"0": "name", "1": "account", "2": "close_date"}
    services.import_set_mapping(
        job=job, mapping=mapping, mode=ImportMode.PER_ROW, save_as="Ancien CRM", by=manager
    )
    saved = SavedMapping.objects.get(name="Ancien CRM")
    again = services.import_create(
        upload=upload(text), kind=ImportKind.OPPORTUNITIES, by=manager, saved=saved
    )
    assert again.mapping == mapping


def test_a_mapping_without_a_required_field_is_refused(customers, manager):
    job = services.import_create(
        upload=upload("Nom;Compte\r\nX;Régie du Lac SA\r\n"),
        kind=ImportKind.OPPORTUNITIES,
        by=manager,
    )
    with pytest.raises(ValueError):
        services.import_set_mapping(
            job=job, mapping=job.mapping, mode=ImportMode.PER_ROW, by=manager
        )


def test_a_file_with_a_single_column_is_refused_at_upload(manager):
    with pytest.raises(services.ImportFileError):
        services.import_create(
            upload=upload("Nom|Compte\nX|Y\n"), kind=ImportKind.ACCOUNTS, by=manager
        )


def test_utf16_files_are_read(manager):
    text = "\ufeffNom;Ville\r\nRégie Zoé SA;Genève\r\n"
    job = run(manager, ImportKind.ACCOUNTS, text, encoding="utf-16-le")
    assert job.created_rows == 1
    assert Account.objects.get(name="Régie Zoé SA").city == "Genève"


def test_accounts_match_by_external_id_then_name(manager):
    AccountFactory(name="Régie du Lac SA")
    text = "ID externe;Nom;Ville\r\nA-1;Régie du Lac S.A.;Morges\r\nA-2;Nouvelle SA;Nyon\r\n"
    job = run(manager, ImportKind.ACCOUNTS, text)
    assert (job.created_rows, job.existing_rows) == (1, 1)
    again = run(manager, ImportKind.ACCOUNTS, text)
    assert (again.created_rows, again.existing_rows) == (0, 2)


def test_contacts_match_by_email_and_need_a_known_account(customers, manager):
    text = (
        "Prénom;Nom;E-mail;Téléphone;Compte;Décideur\r\n"
        "Anne;Dupuis;anne@lac.ch;+41 21 555 01 01;Régie du Lac SA;oui\r\n"
        "Marc;Bonvin;marc@x.ch;;Inconnue SA;non\r\n"
    )
    job = run(manager, ImportKind.CONTACTS, text)
    assert (job.created_rows, job.rejected_rows) == (1, 1)
    anne = Contact.objects.get(email="anne@lac.ch")
    assert (anne.phone, anne.is_decision_maker) == ("+41 21 555 01 01", True)
    again = run(manager, ImportKind.CONTACTS, text)
    assert (again.created_rows, again.existing_rows) == (0, 1)


def _export(view, user, path) -> str:
    request = RequestFactory().get(path)
    request.user = user
    request.htmx = False
    response = view(request)
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return body.decode("utf-8")


@pytest.mark.parametrize("language", ["fr", "en"])
def test_an_export_imported_again_changes_nothing(changed_book, manager, language):
    from accounts.views import account_export, contact_export
    from opportunities.views import opportunity_export

    Contact.objects.create(account=Account.objects.first(), last_name="Dupuis", email="anne@lac.ch")
    Contact.objects.create(account=Account.objects.first(), last_name="Sansmail")
    counts = (Account.objects.count(), Contact.objects.count(), Opportunity.objects.count())
    history = OpportunityHistory.objects.count()
    totals = table()
    with translation.override(language):
        for kind, view, path in (
            (ImportKind.ACCOUNTS, account_export, "/accounts/export.csv"),
            (ImportKind.CONTACTS, contact_export, "/accounts/contacts/export.csv"),
            (ImportKind.OPPORTUNITIES, opportunity_export, "/opportunities/export.csv"),
        ):
            text = _export(view, manager, path)
            job = run(manager, kind, text)
            assert job.rejected_rows == 0, job.rejected_content
            assert job.created_rows == 0
            assert job.existing_rows == text.count("\n") - 1
    assert (Account.objects.count(), Contact.objects.count(), Opportunity.objects.count()) == (
        counts
    )
    assert OpportunityHistory.objects.count() == history
    assert table() == totals


def _many_deals(count: int) -> str:
    return deals_file(
        [
            f"Q-{count}-{i};Projet {i};Régie du Lac SA;rep;Alpha Solutions SA;Proposal;"
            f"{1000 + i};;31.03.2026;;;;;05.01.2026"
            for i in range(count)
        ]
    )


def _queries(callable_) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        callable_()
    return len(captured)


def test_the_queries_of_an_import_do_not_grow_with_its_rows(customers, rep, manager, partner_a):
    small = start(manager, ImportKind.OPPORTUNITIES, _many_deals(5))
    large = start(manager, ImportKind.OPPORTUNITIES, _many_deals(300))
    dry_small = _queries(lambda: services.dry_run(small))
    dry_large = _queries(lambda: services.dry_run(large))
    assert dry_small == dry_large
    run_small = _queries(lambda: services.import_all(job=small))
    run_large = _queries(lambda: services.import_all(job=large))
    assert Opportunity.objects.count() == 305
    assert run_small == run_large


def test_an_import_in_chunks_imports_each_row_once(customers, rep, manager):
    text = deals_file([*GOOD_ROWS, ";Y;Régie du Lac SA;;;;-5;;31.03.2026;;;;;", *GOOD_ROWS[:1]])
    job = start(manager, ImportKind.OPPORTUNITIES, text)
    PipelineImport.objects.filter(pk=job.pk).update(status=PipelineImport.Status.IMPORTING)
    steps = 0
    while job.status != PipelineImport.Status.DONE:
        job = services.import_step(job=job, chunk_rows=2)
        steps += 1
    assert steps == 3
    # The last row repeats the first, imported by then: found, not created twice.
    assert (job.processed_rows, job.created_rows, job.existing_rows, job.rejected_rows) == (
        5,
        3,
        1,
        1,
    )
    assert Opportunity.objects.count() == 3
    assert services.import_step(job=job).created_rows == 3


def test_unreadable_characters_are_a_row_error_naming_the_encoding(manager):
    raw = "Nom;Ville\r\nRégie SA;Genève\r\n".encode("cp1252") + b"Caf\x81 SA;Sion\r\n"
    job = services.import_create(
        upload=SimpleUploadedFile("a.csv", raw), kind=ImportKind.ACCOUNTS, by=manager
    )
    job = services.import_set_mapping(
        job=job, mapping=job.mapping, mode=ImportMode.PER_ROW, by=manager
    )
    with translation.override("en"):
        summary = services.dry_run(job)
    assert (summary.new, summary.refused) == (1, 1)
    assert "CSV UTF-8" in " ".join(summary.errors[0].errors)


def test_a_formula_cell_is_refused_but_an_exported_one_is_text(manager):
    text = "Nom;Ville\r\n=CMD();Sion\r\n'=Régie SA;Sion\r\n"
    job = run(manager, ImportKind.ACCOUNTS, text)
    assert (job.created_rows, job.rejected_rows) == (1, 1)
    assert Account.objects.get().name == "=Régie SA"
