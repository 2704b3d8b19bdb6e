"""Garbage in filters, sorting, paging and cursors of every page: an empty result, a 4xx or
a redirect, never a 500."""

import pytest
from django.test import Client
from django.urls import NoReverseMatch, reverse
from django_filters import FilterSet
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.security import crawl, fuzz

pytestmark = pytest.mark.django_db

ROUTES = [r for r in crawl.project_routes() if r.name not in crawl.NOT_PAGES]
# Parameters list pages commonly read, on top of the ones their filter forms declare.
COMMON_PARAMS = [
    "ordering",
    "sort",
    "order",
    "page",
    "per_page",
    "q",
    "after",
    "cursor",
    "next",
    "period",
    "year",
    "quarter",
    "start",
    "end",
    "as_of",
    "scope",
    "stage",
    "status",
    "owner",
    "partner",
    "view",
    "opportunity",
    "lead",
    "account",
]
FUZZ_SETTINGS = {
    "deadline": None,
    "suppress_health_check": [HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    "database": None,
    "derandomize": True,
    "phases": [Phase.explicit, Phase.generate],
}


@pytest.fixture
def world(partner_a, admin_user, partner_a_user, manager, rep, channel):
    made, _missing = crawl.build_world(partner=partner_a)
    return made


def filter_params(context) -> dict:
    names = {}
    for value in fuzz.context_values(context):
        if isinstance(value, FilterSet):
            for name, field in value.form.fields.items():
                names[value.form.add_prefix(name)] = field
    return names


def locate(route, made, admin_user, partner_a_user):
    pks = sorted({obj.pk for objs in made.values() for obj in objs})[:5]
    fallback = None
    for user in (admin_user, partner_a_user):
        client = Client(raise_request_exception=True)
        client.force_login(user)
        for kwargs in crawl.candidate_kwargs(route, pks):
            try:
                url = reverse(route.name, kwargs=kwargs)
            except NoReverseMatch:
                continue
            response = client.get(url)
            if response.status_code == 200:
                return client, url, filter_params(response.context), True
            fallback = fallback or (client, url, {}, False)
    return fallback


@pytest.mark.parametrize("route", ROUTES, ids=[r.name for r in ROUTES])
def test_garbage_query_strings_never_break_a_page(route, world, admin_user, partner_a_user):
    found = locate(route, world, admin_user, partner_a_user)
    assert found is not None, f"no URL for {route.name}"
    client, url, filters, answers = found
    names = {**dict.fromkeys(COMMON_PARAMS), **filters}
    statuses = []

    @settings(max_examples=10 if answers else 2, **FUZZ_SETTINGS)
    @given(params=fuzz.payloads(names), htmx=st.booleans())
    def browse(params, htmx):
        response = client.get(url, params, headers={"HX-Request": "true"} if htmx else {})
        assert response.status_code < 500, f"{url} answered {response.status_code} to {params!r}"
        statuses.append(response.status_code)

    browse()
    assert statuses
    if answers:
        # Mostly the page still answers: junk is ignored or shown as a filter error.
        assert statuses.count(200) + statuses.count(400) >= len(statuses) // 2, statuses


FIXED_JUNK = ["a\x00b", "9" * 400, "-1", "NaN", "2026-02-30", "' OR 1=1 --", "²"]


@pytest.mark.parametrize("route", ROUTES, ids=[r.name for r in ROUTES])
def test_the_classic_junk_in_every_parameter_at_once(route, world, admin_user, partner_a_user):
    """NUL bytes (PostgreSQL refuses them), out-of-range integers, NaN, impossible dates."""
    found = locate(route, world, admin_user, partner_a_user)
    assert found is not None, f"no URL for {route.name}"
    client, url, filters, _answers = found
    names = [*COMMON_PARAMS, *filters]
    for junk in FIXED_JUNK:
        response = client.get(url, dict.fromkeys(names, junk))
        assert response.status_code < 500, f"{url} answered {response.status_code} to {junk!r}"
