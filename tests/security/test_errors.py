"""Failures answer cleanly: a 503 with Retry-After while the database is unreachable."""

from unittest import mock

import pytest
from django.db import OperationalError
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db


@pytest.fixture
def client_no_raise(rep):
    client = Client(raise_request_exception=False)
    client.force_login(rep)
    return client


def test_an_unreachable_database_is_a_503_to_retry(client_no_raise):
    with mock.patch(
        "dashboard.selectors.dashboard_context",
        side_effect=OperationalError("connection to server at 127.0.0.1 failed"),
    ):
        response = client_no_raise.get(reverse("dashboard"))
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert "brièvement indisponible" in response.text
    assert "127.0.0.1" not in response.text  # no detail of the failure leaks


def test_the_503_page_needs_no_database(client_no_raise):
    """Every query fails, the session load included: the page still renders."""
    with mock.patch(
        "django.db.backends.utils.CursorWrapper.execute",
        side_effect=OperationalError("server closed the connection unexpectedly"),
    ):
        response = client_no_raise.get(reverse("opportunities:list"))
    assert response.status_code == 503
    assert "<h1>Momentanément indisponible</h1>" in response.text


def test_an_htmx_request_gets_a_toast(client_no_raise):
    with mock.patch("dashboard.selectors.dashboard_context", side_effect=OperationalError("x")):
        response = client_no_raise.get(reverse("dashboard"), headers={"HX-Request": "true"})
    assert response.status_code == 503
    assert "toast" in response["HX-Trigger"]


def test_any_other_error_is_a_plain_500_page(client_no_raise):
    with mock.patch("dashboard.selectors.dashboard_context", side_effect=KeyError("secret")):
        response = client_no_raise.get(reverse("dashboard"))
    assert response.status_code == 500
    assert "Retry-After" not in response
    assert "secret" not in response.text
    assert "Erreur du serveur" in response.text
