"""Hostile query strings and bodies on every API list: a 4xx JSON answer, never a 500."""

import pytest
from django.urls import reverse

from tests import clock
from tests.factories import LeadFactory, OpportunityFactory

pytestmark = [pytest.mark.django_db, pytest.mark.dates, pytest.mark.time_machine(clock.NOW)]

LISTS = [
    "api:lead-list",
    "api:account-list",
    "api:contact-list",
    "api:opportunity-list",
    "api:activity-list",
    "api:registration-list",
    "api:forecast",
]
HOSTILE_PARAMS = [
    {"ordering": "password"},
    {"ordering": "-owner__password"},
    {"cursor": "bm9wZQ=="},
    {"cursor": "%%%"},
    {"page_size": "-5"},
    {"page_size": "99999999999999999999"},
    {"owner": "abc"},
    {"updated_after": "hier"},
    {"close_date_after": "2027-13-45"},
    {"status": "x" * 5000},
    {"period": "9999-Q9", "scope": "team:abc", "group": "nope", "kind": "x"},
]


@pytest.mark.parametrize("name", LISTS)
def test_hostile_query_strings_never_fail_the_server(api_for, rep, name):
    OpportunityFactory(owner=rep)
    LeadFactory(owner=rep)
    api = api_for(rep)
    for params in HOSTILE_PARAMS:
        response = api.get(reverse(name), params)
        assert response.status_code in (200, 400, 404), (params, response.status_code)
        assert response["Content-Type"].startswith("application/json"), params


@pytest.mark.parametrize(
    "body",
    [
        {"last_name": None},
        {"last_name": ["Favre"]},
        {"last_name": {"x": 1}},
        {"last_name": "Favre", "owner": "me"},
        {"last_name": "Favre", "owner": 10**30},
        {"last_name": "Favre", "email": "pas-un-email"},
        {"last_name": "x" * 101},
        {"last_name": "Fa\x00vre"},
    ],
)
def test_hostile_lead_bodies_are_refused_with_the_field(api_for, rep, body):
    from leads.models import Lead

    response = api_for(rep).post("/api/v1/leads/", body)
    assert response.status_code == 400, response.content
    assert "errors" in response.json()
    assert not Lead.objects.exists()
