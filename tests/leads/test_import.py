import csv
import io
import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from django.urls import reverse

from leads import importing
from leads.models import ImportJob, Lead, LeadStatusChange
from tests.factories.leads import OpenLeadFactory

pytestmark = pytest.mark.django_db

HEADER_FR = ["Prénom", "Nom", "Courriel", "Téléphone", "Société", "Fonction", "Source", "Remarques"]
HEADER_EN = [
    "First name",
    "Last name",
    "E-mail",
    "Phone",
    "Company",
    "Job title",
    "Source",
    "Notes",
]
ROWS = [
    [
        "Anne",
        "Dupuis",
        "anne@regie-exemple.ch",
        "021 000 00 00",
        "Régie Exemple SA",
        "Gérante",
        "Salon",
        "Très intéressée",
    ],
    ["Jürg", "Müller", "jurg@muller-ag.ch", "", "Müller AG", "CEO", "LinkedIn", ""],
    ["Zoé", "", "zoe@exemple.ch", "", "Sans Nom Sàrl", "", "", ""],  # no last name
    ["Marc", "Bonvin", "pas-un-email", "", "Bonvin SA", "", "", ""],  # bad email
    ["Léa", "Perret", "lea@perret.ch", "", "Perret SA", "", "Pigeon voyageur", ""],  # source
    ["Paul", "Existant", "deja@connu.ch", "", "Connu SA", "", "", ""],  # existing lead
    ["Anne", "Dupuis bis", "ANNE@regie-exemple.ch", "", "", "", "", ""],  # same as row 2
    [
        "Élodie",
        "Fässler",
        "",
        "",
        "Café Crème Sàrl",
        "",
        "Event",
        "Notes; avec point-virgule, et virgule",
    ],
]
GOOD_NAMES = {"Dupuis", "Müller", "Fässler"}


def _csv_bytes(header, rows, delimiter, encoding):
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode(encoding)


@pytest.fixture(autouse=True)
def english_rep(rep):
    """The reasons are checked in English; the French catalogue is checked separately."""
    rep.language = "en"
    rep.save(update_fields=["language"])
    return rep


@pytest.fixture
def existing_lead(db):
    return OpenLeadFactory(email="deja@connu.ch", last_name="Connu")


def _upload(client, content, name="leads.csv"):
    return client.post(
        reverse("leads:import"), {"file": SimpleUploadedFile(name, content, "text/csv")}
    )


@pytest.mark.parametrize(
    ("header", "delimiter", "encoding"),
    [
        (HEADER_FR, ";", "utf-8-sig"),
        (HEADER_FR, ",", "utf-8"),
        (HEADER_EN, ";", "cp1252"),
        (HEADER_EN, ",", "cp1252"),
        (HEADER_EN, ",", "utf-8-sig"),
    ],
)
def test_preview_writes_nothing_and_confirm_imports_exactly_the_good_rows(
    client_for, rep, existing_lead, header, delimiter, encoding
):
    client = client_for(rep)
    response = _upload(client, _csv_bytes(header, ROWS, delimiter, encoding))
    job = ImportJob.objects.get()
    assert response.url == reverse("leads:import-preview", args=[job.pk])
    assert job.delimiter == delimiter
    assert job.encoding == ("windows-1252" if encoding == "cp1252" else "utf-8")

    preview = client.get(response.url)
    summary = preview.context["summary"]
    assert (summary.total, summary.valid, summary.rejected) == (8, 3, 5)
    reasons = {row.number: " ".join(row.errors) for row in summary.errors}
    assert set(reasons) == {4, 5, 6, 7, 8}
    assert "last name" in reasons[4]
    assert "pas-un-email" in reasons[5]
    assert "Pigeon voyageur" in reasons[6]
    assert "already exists" in reasons[7]
    assert "row 2" in reasons[8]
    assert Lead.objects.count() == 1  # nothing written before confirm

    rejected = client.get(reverse("leads:import-rejected", args=[job.pk]))
    rejected_text = b"".join(rejected.streaming_content).decode("utf-8")
    assert rejected_text.startswith("\ufeff") and rejected_text.count("\n") == 6

    confirm = client.post(reverse("leads:import-confirm", args=[job.pk]))
    assert confirm.url == reverse("leads:import-result", args=[job.pk])
    imported = Lead.objects.exclude(pk=existing_lead.pk)
    assert set(imported.values_list("last_name", flat=True)) == GOOD_NAMES
    anne = imported.get(last_name="Dupuis")
    assert (anne.first_name, anne.company, anne.source, anne.notes) == (
        "Anne",
        "Régie Exemple SA",
        "event",
        "Très intéressée",
    )
    assert imported.get(last_name="Fässler").notes == "Notes; avec point-virgule, et virgule"
    assert LeadStatusChange.objects.filter(lead__in=imported).count() == 3
    job.refresh_from_db()
    assert (job.status, job.imported_rows, job.rejected_rows) == ("done", 3, 5)

    # Confirming again imports nothing more.
    client.post(reverse("leads:import-confirm", args=[job.pk]))
    assert imported.count() == 3
    result_file = client.get(reverse("leads:import-rejected", args=[job.pk])).content.decode(
        "utf-8"
    )
    assert "Pigeon voyageur" in result_file and "Dupuis" in result_file  # "Dupuis bis"


def test_the_result_page_shows_the_progress_until_the_worker_is_done(
    client_for, rep, monkeypatch, settings
):
    """Confirming only hands the import over; the page reads the job's progress, and with
    HTMX asks again every second until it is done."""
    monkeypatch.setattr(importing, "CHUNK_ROWS", 2)
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
    client = client_for(rep)
    rows = [["A", f"Nom{i}", f"n{i}@exemple.ch", "", "", "", "", ""] for i in range(5)]
    _upload(client, _csv_bytes(HEADER_FR, rows, ";", "utf-8"))
    job = ImportJob.objects.get()
    client.get(reverse("leads:import-preview", args=[job.pk]))
    confirm = client.post(reverse("leads:import-confirm", args=[job.pk]))
    result_url = reverse("leads:import-result", args=[job.pk])
    assert confirm.url == result_url
    assert Lead.objects.count() == 0  # the worker imports, not the request

    from leads.importing import import_leads

    import_leads.call(job.pk)  # a worker runs the first chunk
    page = client.get(result_url)
    assert "2 of 5 rows processed" in page.content.decode()
    status = client.get(result_url, headers={"HX-Request": "true"}).content.decode()
    assert (
        status.strip().startswith('<div id="import-status"') and 'hx-trigger="every 1s"' in status
    )
    import_leads.call(job.pk)
    import_leads.call(job.pk)
    status = client.get(result_url, headers={"HX-Request": "true"}).content.decode()
    assert "hx-trigger" not in status and "5 leads imported" in status
    assert Lead.objects.count() == 5


def test_file_without_last_name_column_is_refused(client_for, rep):
    response = _upload(client_for(rep), b"Foo;Bar\n1;2\n")
    assert response.status_code == 200
    assert "file" in response.context["form"].errors
    assert not ImportJob.objects.exists()


@override_settings(CRM_MAX_UPLOAD_BYTES=100)
def test_too_large_file_is_refused_while_uploading(client_for, rep):
    response = _upload(client_for(rep), _csv_bytes(HEADER_FR, ROWS * 5, ";", "utf-8"))
    assert response.status_code == 413
    assert "too large" in " ".join(response.context["form"].errors["file"])
    assert not ImportJob.objects.exists()


@override_settings(CRM_MAX_UPLOAD_BYTES=100)
def test_too_large_request_is_refused_before_reading_it(client_for, rep):
    content = _csv_bytes(HEADER_FR, ROWS * 2000, ";", "utf-8")
    response = _upload(client_for(rep), content)
    assert response.status_code == 413
    assert not ImportJob.objects.exists()


def test_upload_needs_the_csrf_token(rep):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(rep)
    response = _upload(client, _csv_bytes(HEADER_FR, ROWS, ";", "utf-8"))
    assert response.status_code == 403
    assert not ImportJob.objects.exists()


def test_reasons_are_translated_for_french_users(client_for, other_rep):
    client = client_for(other_rep)
    _upload(client, _csv_bytes(HEADER_FR, ROWS[2:3], ";", "utf-8"))
    job = ImportJob.objects.get()
    preview = client.get(reverse("leads:import-preview", args=[job.pk]))
    assert "Le nom manque." in preview.content.decode()


def test_template_download(client_for, rep):
    response = client_for(rep).get(reverse("leads:import-template"))
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeffFirst name;Last name;Email")
    french = client_for(rep)
    french.cookies["django_language"] = "fr"
    text = french.get(reverse("leads:import-template")).content.decode("utf-8")
    assert text.startswith("\ufeffPrénom;Nom;E-mail")


def test_partner_users_cannot_import_nor_see_jobs(client_for, rep, partner_a_user):
    client = client_for(rep)
    _upload(client, _csv_bytes(HEADER_FR, ROWS[:1], ";", "utf-8"))
    job = ImportJob.objects.get()
    partner = client_for(partner_a_user)
    assert partner.get(reverse("leads:import")).status_code == 404
    assert partner.get(reverse("leads:import-preview", args=[job.pk])).status_code == 404
    assert partner.post(reverse("leads:import-confirm", args=[job.pk])).status_code == 404


def test_another_users_job_is_404(client_for, rep, other_rep):
    _upload(client_for(rep), _csv_bytes(HEADER_FR, ROWS[:1], ";", "utf-8"))
    job = ImportJob.objects.get()
    assert (
        client_for(other_rep).get(reverse("leads:import-preview", args=[job.pk])).status_code == 404
    )


def test_fifty_thousand_rows_import_in_seconds(rep):
    rows = [
        [f"P{i}", f"Nom{i}", f"lead{i}@exemple{i % 97}.ch", "", f"Société {i} SA", "", "", ""]
        for i in range(50_000)
    ]
    upload = SimpleUploadedFile("big.csv", _csv_bytes(HEADER_FR, rows, ";", "utf-8"))
    started = time.monotonic()
    job, _ignored, _nuls = importing.create_job(upload=upload, by=rep)
    summary = importing.preview(job)
    assert summary.valid == 50_000
    job = importing.import_all(job=job, by=rep)
    elapsed = time.monotonic() - started
    assert Lead.objects.count() == 50_000
    assert job.imported_rows == 50_000
    assert elapsed < 60, elapsed


# --- files as spreadsheet programs really write them ----------------------------------

ACCENTED_ROWS = [
    ["Hélène", "Bérard", "helene@berard.ch", "Régie Bérard SA", "Salon", "Très intéressée"],
    ["François", "Crèvecœur", "francois@crevecoeur.ch", "Façades Crèvecœur Sàrl", "", ""],
    ["Jürg", "Müller", "jurg@mueller.ch", "Müller Söhne AG", "LinkedIn", ""],
    ["Noël", "D’Aubigné", "", "L’Atelier d’Yverdon Sàrl", "", "Rappeler l’an prochain"],
]
ACCENTED_HEADER = ["Prénom", "Nom", "E-mail", "Entreprise", "Source", "Notes"]
ACCENTED_NAMES = {"Bérard", "Crèvecœur", "Müller", "D’Aubigné"}


def _text(header, rows, delimiter):
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n").writerows([header, *rows])
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("content", "encoding", "delimiter"),
    [
        (_text(ACCENTED_HEADER, ACCENTED_ROWS, ";").encode("utf-8"), "utf-8", ";"),
        (_text(ACCENTED_HEADER, ACCENTED_ROWS, ";").encode("utf-8-sig"), "utf-8", ";"),
        # Excel's "Unicode text": UTF-16 little-endian with its BOM, columns separated by tabs.
        (
            b"\xff\xfe" + _text(ACCENTED_HEADER, ACCENTED_ROWS, "\t").encode("utf-16-le"),
            "utf-16-le",
            "\t",
        ),
        (
            b"\xfe\xff" + _text(ACCENTED_HEADER, ACCENTED_ROWS, ",").encode("utf-16-be"),
            "utf-16-be",
            ",",
        ),
        # Without a BOM, UTF-16 still shows by its NUL bytes next to every ASCII letter.
        (_text(ACCENTED_HEADER, ACCENTED_ROWS, "\t").encode("utf-16-le"), "utf-16-le", "\t"),
        (_text(ACCENTED_HEADER, ACCENTED_ROWS, "\t").encode("utf-16-be"), "utf-16-be", "\t"),
        # "CSV (separated by semicolons)" from a Swiss or French Excel: Windows-1252.
        (_text(ACCENTED_HEADER, ACCENTED_ROWS, ";").encode("cp1252"), "windows-1252", ";"),
    ],
    ids=["utf-8", "utf-8-bom", "utf-16-le-excel", "utf-16-be", "utf-16-le-no-bom",
         "utf-16-be-no-bom", "windows-1252"],
)  # fmt: skip
def test_every_encoding_gives_the_names_as_typed(client_for, rep, content, encoding, delimiter):
    client = client_for(rep)
    response = _upload(client, content)
    job = ImportJob.objects.get()
    assert response.url == reverse("leads:import-preview", args=[job.pk])
    assert (job.encoding, job.delimiter) == (encoding, delimiter)
    assert "\x00" not in job.content

    preview = client.get(response.url)
    assert preview.context["summary"].valid == 4
    client.post(reverse("leads:import-confirm", args=[job.pk]))
    assert set(Lead.objects.values_list("last_name", flat=True)) == ACCENTED_NAMES
    noel = Lead.objects.get(first_name="Noël")
    assert (noel.company, noel.notes) == ("L’Atelier d’Yverdon Sàrl", "Rappeler l’an prochain")
    assert Lead.objects.get(last_name="Crèvecœur").company == "Façades Crèvecœur Sàrl"


@pytest.mark.parametrize(
    ("content", "shown"),
    [
        (b"\xff\xfe" + _text(ACCENTED_HEADER, ACCENTED_ROWS, "\t").encode("utf-16-le"),
         ["UTF-16 LE", "tab"]),
        (_text(ACCENTED_HEADER, ACCENTED_ROWS, ";").encode("cp1252"),
         ["Windows-1252", "semicolon"]),
        (_text(ACCENTED_HEADER, ACCENTED_ROWS, ",").encode("utf-8"), ["UTF-8", "comma"]),
    ],
)  # fmt: skip
def test_preview_names_the_encoding_and_separator_it_read(client_for, rep, content, shown):
    client = client_for(rep)
    response = _upload(client, content)
    page = client.get(response.url).content.decode()
    summary = page[page.index('id="import-format"') :]
    for words in shown:
        assert words in summary[: summary.index("</p>")]


_ACCENTED_TEXT = _text(ACCENTED_HEADER, ACCENTED_ROWS, ";")


@pytest.mark.parametrize(
    ("content", "removed"),
    [
        # One NUL inside a name, as a database export with a stray byte leaves it.
        (_ACCENTED_TEXT.replace("Bérard;", "Bé\x00rard;", 1).encode(), 1),
        # Lines padded with NUL up to a fixed width, and a file padded to a whole block.
        (_ACCENTED_TEXT.replace("\r\n", "\x00" * 8 + "\r\n").encode(), 40),
        (_ACCENTED_TEXT.encode() + bytes(512), 512),
        # UTF-32: NULs stand beside every character once read.
        (_ACCENTED_TEXT.encode("utf-32"), 0),
    ],
    ids=["inside-a-name", "padded-lines", "padded-file", "utf-32"],
)
def test_nul_characters_are_removed_and_said_never_stored(client_for, rep, content, removed):
    client = client_for(rep)
    response = _upload(client, content)
    job = ImportJob.objects.get()
    assert "\x00" not in job.content
    page = client.get(response.url).content.decode()
    if removed == 1:
        assert "1 invisible NUL character was removed from the file." in page
    elif removed:
        assert f"{removed} invisible NUL characters were removed from the file." in page
    else:
        assert "NUL" not in page
    client.post(reverse("leads:import-confirm", args=[job.pk]))
    assert set(Lead.objects.values_list("last_name", flat=True)) == ACCENTED_NAMES
    stored = Lead.objects.values_list("first_name", "last_name", "company", "notes")
    assert not any("\x00" in value for row in stored for value in row)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        # A workbook renamed to .csv.
        (b"PK\x03\x04\x14\x00\x06\x00" + bytes(range(256)) * 4, "spreadsheet workbook"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(512), "spreadsheet workbook"),
        # A UTF-16 file cut in the middle of a character, a UTF-8 one with a foreign byte.
        (b"\xff\xfe" + "Nom;Prénom\r\nDupuis;Anne\r\n".encode("utf-16-le") + b"D", "UTF-16 LE"),
        ("Nom;Prénom\r\n".encode("utf-8-sig") + "Bérard;Anne\r\n".encode("cp1252"), "line 2"),
        # Anything else without a last name column in its first row.
        (bytes(range(256)) * 8, "No last name column"),
    ],
    ids=["xlsx", "xls", "truncated-utf-16", "utf-8-bom-with-cp1252", "binary"],
)
def test_files_that_are_not_csv_text_are_refused_with_a_reason(client_for, rep, content, message):
    response = _upload(client_for(rep), content)
    assert response.status_code == 200
    errors = " ".join(response.context["form"].errors["file"])
    assert message in errors
    assert not ImportJob.objects.exists()
    assert not Lead.objects.exists()


def test_a_cell_too_long_for_the_csv_reader_is_a_form_error(client_for, rep):
    content = _text(["Nom", "Notes"], [["Dupuis", "x" * 200_000]], ";").encode()
    response = _upload(client_for(rep), content)
    assert response.status_code == 200
    assert "line 2" in " ".join(response.context["form"].errors["file"])
    assert not ImportJob.objects.exists()


def test_a_too_long_note_rejects_the_row_with_the_reason(client_for, rep):
    client = client_for(rep)
    rows = [["Anne", "Dupuis", "", "", "", "x" * 5001], ["Marc", "Bonvin", "", "", "", "x" * 5000]]
    response = _upload(client, _text(ACCENTED_HEADER, rows, ";").encode())
    job = ImportJob.objects.get()
    summary = client.get(response.url).context["summary"]
    assert (summary.valid, summary.rejected) == (1, 1)
    assert "Notes is longer than 5000 characters." in summary.errors[0].errors
    client.post(reverse("leads:import-confirm", args=[job.pk]))
    assert list(Lead.objects.values_list("last_name", flat=True)) == ["Bonvin"]


def test_when_most_rows_fail_the_preview_points_at_the_encoding_or_separator(client_for, rep):
    # The header was typed with commas, the rows exported with semicolons.
    header = ",".join(ACCENTED_HEADER)
    body = "\r\n".join(";".join(row) for row in ACCENTED_ROWS)
    client = client_for(rep)
    response = _upload(client, f"{header}\r\n{body}\r\n".encode())
    preview = client.get(response.url)
    assert preview.context["summary"].rejected == 4
    hint = preview.content.decode()
    assert 'id="import-likely-cause"' in hint
    assert "encoding or the separator" in hint and "comma" in hint


def test_rows_refused_as_duplicates_do_not_blame_the_encoding(client_for, rep):
    client = client_for(rep)
    content = _text(ACCENTED_HEADER, ACCENTED_ROWS[:3], ";").encode()
    job = importing.import_all(
        job=importing.create_job(upload=SimpleUploadedFile("a.csv", content), by=rep)[0], by=rep
    )
    assert job.imported_rows == 3
    response = _upload(client, content)
    preview = client.get(response.url)
    assert preview.context["summary"].rejected == 3
    assert 'id="import-likely-cause"' not in preview.content.decode()


def test_nothing_typed_in_the_upload_form_reaches_the_database_with_nul(client_for, rep):
    content = _text(ACCENTED_HEADER, ACCENTED_ROWS, ";").encode()
    response = _upload(client_for(rep), content, name="le\x00ads.csv")
    assert response.status_code == 302
    assert "\x00" not in ImportJob.objects.get().filename
