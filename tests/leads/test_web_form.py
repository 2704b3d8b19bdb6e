import pytest
from django.test import Client, override_settings
from django.urls import reverse

from climcrm.choices import OriginChannel, Source
from leads.models import Lead, LeadStatus, PublicFormSubmission

pytestmark = pytest.mark.django_db

GOOD = {
    "first_name": "Anne",
    "last_name": "Dupuis",
    "email": "anne@regie-exemple.ch",
    "company": "Régie Exemple SA",
    "notes": "Nous avons 40 logements à équiper.",
    "website": "",
}


def test_public_names_resolve_without_namespace():
    assert reverse("web-to-lead") == "/contact/"
    assert reverse("web-to-lead-thanks") == "/contact/thanks/"
    assert reverse("leads:web-to-lead")


def test_anonymous_visitor_sees_the_form_without_internal_navigation(client, rep):
    response = client.get(reverse("web-to-lead"))
    assert response.status_code == 200
    content = response.content.decode()
    assert "csrfmiddlewaretoken" in content
    assert "nav-main" not in content and reverse("leads:list") not in content


def test_submission_creates_a_new_web_lead_and_thanks(client):
    response = client.post(reverse("web-to-lead"), GOOD)
    assert response.status_code == 302 and response.url == reverse("web-to-lead-thanks")
    lead = Lead.objects.get()
    assert (lead.status, lead.source, lead.origin) == (
        LeadStatus.NEW,
        Source.WEB_FORM,
        OriginChannel.INTERNAL,
    )
    assert lead.owner is None and lead.status_changes.count() == 1
    thanks = client.get(response.url)
    assert thanks.status_code == 200 and "Régie Exemple" not in thanks.content.decode()


def test_honeypot_filled_creates_nothing_but_looks_the_same(client):
    response = client.post(reverse("web-to-lead"), {**GOOD, "website": "http://spam.example"})
    assert response.status_code == 302 and response.url == reverse("web-to-lead-thanks")
    assert not Lead.objects.exists()


def test_invalid_submission_shows_errors(client):
    response = client.post(reverse("web-to-lead"), {**GOOD, "email": "nope", "last_name": ""})
    assert response.status_code == 200
    assert set(response.context["form"].errors) == {"email", "last_name"}
    assert not Lead.objects.exists()


def test_csrf_is_enforced():
    client = Client(enforce_csrf_checks=True)
    response = client.post(reverse("web-to-lead"), GOOD)
    assert response.status_code == 403
    assert not Lead.objects.exists()


@override_settings(CRM_PUBLIC_FORM_RATE="3/h")
def test_rate_limit_per_address(client):
    for index in range(3):
        response = client.post(
            reverse("web-to-lead"),
            {**GOOD, "email": f"a{index}@exemple.ch"},
            REMOTE_ADDR="192.0.2.7",
        )
        assert response.status_code == 302
    blocked = client.post(
        reverse("web-to-lead"), {**GOOD, "email": "a9@exemple.ch"}, REMOTE_ADDR="192.0.2.7"
    )
    assert blocked.status_code == 429
    assert Lead.objects.count() == 3
    other = client.post(
        reverse("web-to-lead"), {**GOOD, "email": "b@exemple.ch"}, REMOTE_ADDR="192.0.2.8"
    )
    assert other.status_code == 302
    assert PublicFormSubmission.objects.filter(ip_address="192.0.2.7").count() == 4


def test_logged_in_user_sees_no_internal_data_either(client_for, rep):
    response = client_for(rep).get(reverse("web-to-lead"))
    content = response.content.decode()
    assert "nav-main" not in content and str(rep) not in content
    assert reverse("logout") not in content
