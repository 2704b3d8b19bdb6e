"""Every API endpoint, for every role of the cast, with that role's bearer token: the same
expectations as the session matrix (tests/test_visibility_matrix.py RULES), so a partner's
token gets 404 for the other partner's and internal records, in lists and details."""

import pytest
from django.urls import reverse

from api.services import api_token_create
from tests import clock
from tests.test_visibility_matrix import (
    MARK,
    PARTNER_ROLES,
    ROLES,
    ROUTE_NAMES,
    RULES,
    _assert_no_leak,
    _cases,
    _side_of,
    world,  # noqa: F401  (the fixture)
)

pytestmark = [pytest.mark.dates, pytest.mark.time_machine(clock.NOW)]

API_ROUTES = [n for n in ROUTE_NAMES if n.startswith("api:") and "token" not in n]


def test_every_api_route_is_covered_here():
    assert len(API_ROUTES) == 17
    assert {"api:lead-list", "api:opportunity-history", "api:forecast"} <= set(API_ROUTES)


@pytest.mark.parametrize("name", API_ROUTES)
def test_api_visibility_with_tokens(name, world, client):  # noqa: F811
    rule = RULES[name]
    for role in ROLES:
        user = world.users[role]
        headers = {}
        if user is not None:
            headers["Authorization"] = f"Bearer {api_token_create(user=user, name=role).secret}"
        for label, records, expected in _cases(rule, role, world):
            kwargs = {k: v.pk for k, v in records.items()}
            url = reverse(name, kwargs={**dict(rule.static), **kwargs} or None)
            response = client.get(url, headers=headers)
            where = f"{name} as {role} ({label}) {url}"
            assert response.status_code in expected, (
                f"{where}: got {response.status_code}, expected {sorted(expected)}"
            )
            if role in PARTNER_ROLES and response.status_code == 200:
                text = _assert_no_leak(response, role, world, where)
                if rule.partner_must_show and label == "own":
                    assert MARK[_side_of(role)] in text, f"{where}: own records missing"
            if response.status_code == 404:
                assert response.json() == {"detail": response.json()["detail"]}


def test_a_partner_token_lists_only_its_partner_s_deals(world, client):  # noqa: F811
    secret = api_token_create(user=world.users["partner_a"], name="ERP").secret
    response = client.get(
        reverse("api:opportunity-list"), headers={"Authorization": f"Bearer {secret}"}
    )
    names = {row["name"] for row in response.json()["results"]}
    assert names == {f"{MARK['a']} Affaire", f"{MARK['a']} Gagnée"}


WRITABLE = {
    "api:lead-detail": ("lead", {"company": "x"}),
    "api:account-detail": ("account", {"city": "x"}),
    "api:contact-detail": ("contact", {"job_title": "x"}),
    "api:opportunity-detail": ("opportunity", {"name": "x", "version": 1}),
    "api:activity-detail": ("activity", {"subject": "x"}),
}


@pytest.mark.parametrize("name", sorted(WRITABLE))
def test_a_partner_token_changes_nothing_outside_its_scope(name, world, client):  # noqa: F811
    kind, change = WRITABLE[name]
    secret = api_token_create(user=world.users["partner_a"], name="ERP").secret
    for side in ("b", "internal"):
        record = world.records[kind][side]
        before = type(record).objects.filter(pk=record.pk).values().get()
        response = client.patch(
            reverse(name, args=[record.pk]),
            change,
            content_type="application/json",
            headers={"Authorization": f"Bearer {secret}"},
        )
        assert response.status_code == 404, f"{name} on {side}: {response.status_code}"
        assert type(record).objects.filter(pk=record.pk).values().get() == before
