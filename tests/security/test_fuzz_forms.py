"""Every POST endpoint of the project, fed garbage: never a 500, and a refusal writes nothing.

The endpoints are the project's named routes, found at run time; each gets the fields of the
form its page shows (or a generic set when it only takes POST). Valid submissions may go
through; a submission answered with form errors or a 4xx must leave every row as it was.
"""

import pytest
from django.test import Client
from django.urls import NoReverseMatch, reverse
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.security import crawl, fuzz

pytestmark = pytest.mark.django_db

# Not forms: session plumbing (they end or switch the session the fuzzing runs in).
NOT_FORMS = {"logout", "set_language", "login", "healthz"}
ROUTES = [r for r in crawl.project_routes() if r.name not in NOT_FORMS]
FUZZ_SETTINGS = {
    "deadline": None,
    "suppress_health_check": [HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    "database": None,
    "derandomize": True,
    # No shrinking: the falsifying example is printed as found, and a failure stays quick.
    "phases": [Phase.explicit, Phase.generate],
}


@pytest.fixture
def world(partner_a, admin_user, partner_a_user, manager, rep, channel):
    made, _missing = crawl.build_world(partner=partner_a)
    return made


def clients(admin_user, partner_a_user):
    admin = Client(raise_request_exception=True)
    admin.force_login(admin_user)
    partner = Client(raise_request_exception=True)
    partner.force_login(partner_a_user)
    return [("admin", admin), ("partner", partner), ("anonymous", Client())]


def target_query(made) -> dict:
    """The activity panel and its form name their deal in the query string."""
    from opportunities.models import Opportunity

    deal = made.get(Opportunity, [None])[0]
    return {"opportunity": deal.pk} if deal else {}


# Routes that only take POST, and the page that shows their form.
FORM_PAGES = {"activities:create": "activities:panel"}


def locate(route, made, admin_user, partner_a_user):
    """(client, url, form fields, fixed data) for the first user and object that answer."""
    pks = sorted({obj.pk for objs in made.values() for obj in objs})[:5]
    query = target_query(made)
    fallback = None
    for who, client in clients(admin_user, partner_a_user):
        for kwargs in crawl.candidate_kwargs(route, pks):
            try:
                url = reverse(route.name, kwargs=kwargs)
            except NoReverseMatch:
                continue
            if route.name in FORM_PAGES:
                page = client.get(reverse(FORM_PAGES[route.name]), query)
                if page.status_code == 200:
                    return client, url, fuzz.form_fields(page.context), query
            page = client.get(url)
            if page.status_code == 404:
                page = client.get(url, query)
            if page.status_code == 200:
                return client, url, fuzz.form_fields(page.context), {}
            if page.status_code == 405:
                return client, url, {}, {}
            if fallback is None and who == "admin":
                fallback = (client, url, {}, {})
    return fallback


@pytest.mark.parametrize("route", ROUTES, ids=[r.name for r in ROUTES])
def test_garbage_posts_never_break_and_refusals_write_nothing(
    route, world, admin_user, partner_a_user
):
    found = locate(route, world, admin_user, partner_a_user)
    assert found is not None, f"no user and object answer {route.name}"
    client, url, fields, fixed = found
    # "next" rides along everywhere: pages send it back in a hidden field to return to.
    names = {**(fields or dict.fromkeys(fuzz.GENERIC_NAMES)), "next": None}
    examples = 10 if fields else 3
    outcomes = []

    @settings(max_examples=examples, **FUZZ_SETTINGS)
    @given(data=fuzz.payloads(names), htmx=st.booleans())
    def submit(data, htmx):
        before = fuzz.snapshot()
        response = client.post(
            url, {**fixed, **data}, headers={"HX-Request": "true"} if htmx else {}
        )
        status = response.status_code
        assert status < 500, f"{url} answered {status} to {data!r}"
        refused = (
            status >= 400
            or bool(fuzz.bound_forms_with_errors(response.context))
            or fuzz.has_error_message(response)
        )
        outcomes.append("refused" if refused else f"accepted {status}")
        if refused:
            changes = fuzz.diff(before, fuzz.snapshot())
            assert not changes, f"{url} refused {data!r} ({status}) but wrote: {changes}"

    submit()
    assert outcomes, "nothing was submitted"
    if fields:
        # Garbage in a real form must be refused at least once, or the form checks nothing.
        assert "refused" in outcomes, f"{url} accepted every garbage submission: {outcomes}"
