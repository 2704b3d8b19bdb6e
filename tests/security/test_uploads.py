"""Uploads over settings.CRM_MAX_UPLOAD_BYTES are refused before their body is read."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from leads.models import ImportJob, Lead

pytestmark = pytest.mark.django_db
LIMIT = 10_000


class ExplodingInput:
    """A request body that fails the test if anything reads it."""

    def read(self, *args):
        raise AssertionError("the body of a too-large upload was read")

    readline = read

    def __iter__(self):
        raise AssertionError("the body of a too-large upload was read")


def post_without_body(client, url, length: int, **headers):
    """A multipart POST announcing ``length`` bytes whose body must never be read."""
    return client.generic(
        "POST",
        url,
        b"",
        content_type="multipart/form-data; boundary=xyz",
        CONTENT_LENGTH=str(length),
        **{"wsgi.input": ExplodingInput()},
        headers=headers,
    )


@pytest.fixture
def importer(admin_user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    return client


@pytest.fixture(autouse=True)
def small_limit(settings):
    settings.CRM_MAX_UPLOAD_BYTES = LIMIT


class TestLeadImport:
    """The import reads its own body under a limit so that the error shows in its form."""

    def test_a_too_large_upload_is_refused_with_the_form_error(self, importer):
        page = importer.get(reverse("leads:import"))
        token = page.cookies["csrftoken"].value
        rows = "Nom;Prénom;E-mail;Entreprise\n" + "Dupont;Anne;anne@example.ch;ACME SA\n" * 2000
        upload = SimpleUploadedFile("leads.csv", rows.encode(), content_type="text/csv")
        response = importer.post(
            reverse("leads:import"), {"file": upload, "csrfmiddlewaretoken": token}
        )
        assert response.status_code == 413
        assert "trop volumineux" in response.text
        assert not ImportJob.objects.exists()
        assert not Lead.objects.exists()

    def test_an_excel_unicode_text_file_goes_through_with_its_nul_bytes(self, importer):
        """UTF-16 holds a NUL byte beside every Latin letter: the file is read, not refused."""
        page = importer.get(reverse("leads:import"))
        token = page.cookies["csrftoken"].value
        rows = "Nom\tPrénom\tE-mail\r\nDupont\tAnne\tanne@example.ch\r\n"
        content = b"\xff\xfe" + rows.encode("utf-16-le")
        upload = SimpleUploadedFile("leads.txt", content, content_type="text/plain")
        response = importer.post(
            reverse("leads:import"), {"file": upload, "csrfmiddlewaretoken": token}
        )
        assert response.status_code == 302
        job = ImportJob.objects.get()
        assert (job.encoding, job.delimiter, job.content.split("\n")[1]) == (
            "utf-16-le",
            "\t",
            "Dupont\tAnne\tanne@example.ch",
        )

    def test_a_file_under_the_limit_still_goes_through(self, admin_user):
        client = Client()
        client.force_login(admin_user)
        rows = "Nom;Prénom;E-mail;Entreprise\nDupont;Anne;anne@example.ch;ACME SA\n"
        upload = SimpleUploadedFile("leads.csv", rows.encode(), content_type="text/csv")
        response = client.post(reverse("leads:import"), {"file": upload})
        assert response.status_code == 302
        assert ImportJob.objects.count() == 1


class TestEveryOtherEndpoint:
    """Elsewhere the CSRF check would spool the body to disk: refused from Content-Length."""

    def test_a_logged_in_post_is_refused_unread(self, importer):
        response = post_without_body(importer, reverse("accounts:create"), 50_000_000)
        assert response.status_code == 413
        assert "trop volumineux" in response.text
        assert response["Connection"] == "close"

    def test_an_htmx_post_gets_a_toast(self, importer):
        response = post_without_body(
            importer, reverse("opportunities:create"), 50_000_000, HX_Request="true"
        )
        assert response.status_code == 413
        assert "toast" in response["HX-Trigger"]

    def test_anonymous_posts_to_the_public_form_are_refused_unread(self):
        response = post_without_body(Client(), reverse("web-to-lead"), 50_000_000)
        assert response.status_code == 413
        assert not Lead.objects.exists()

    def test_a_garbage_content_length_is_a_bad_request(self, importer):
        response = importer.generic("POST", reverse("accounts:create"), b"", CONTENT_LENGTH="12abc")
        assert response.status_code == 400

    def test_a_body_under_the_limit_is_not_affected(self, admin_user):
        client = Client()
        client.force_login(admin_user)
        response = client.post(reverse("accounts:create"), {"name": ""})
        assert response.status_code == 200


def test_ordinary_form_bodies_stay_small(admin_user, settings):
    """Non-file fields over DATA_UPLOAD_MAX_MEMORY_SIZE are refused by Django (400)."""
    settings.CRM_MAX_UPLOAD_BYTES = 20 * 1024 * 1024
    client = Client()
    client.force_login(admin_user)
    response = client.post(reverse("accounts:create"), {"name": "x" * 3_000_000})
    assert response.status_code == 400
    from accounts.models import Account

    assert not Account.objects.filter(name__startswith="xxx").exists()


class TestNulCharacters:
    """PostgreSQL refuses text with NUL: such parameters never reach a query."""

    def test_a_nul_in_a_search_is_a_bad_request(self, client_for, rep):
        response = client_for(rep).get(reverse("search"), {"q": "ab\x00c"})
        assert response.status_code == 400

    def test_a_nul_in_a_list_filter_is_a_bad_request(self, client_for, rep):
        response = client_for(rep).get(reverse("opportunities:list"), {"q": "\x00"})
        assert response.status_code == 400

    def test_a_nul_in_a_posted_field_writes_nothing(self, client_for, admin_user):
        from accounts.models import Account

        response = client_for(admin_user).post(reverse("accounts:create"), {"name": "A\x00B"})
        assert response.status_code == 400
        assert not Account.objects.exists()

    def test_ordinary_text_goes_through(self, client_for, rep):
        assert client_for(rep).get(reverse("search"), {"q": "Zürich €"}).status_code == 200
