"""Every free-text column of every model holds an XSS payload; no page renders it live."""

import pytest
from django.test import Client
from django.urls import NoReverseMatch, reverse

from tests.security import crawl

pytestmark = pytest.mark.django_db

LONG = '"><img src=x onerror=alert(1)><script>alert(1)</script>'
SHORT = '"><i>zq'
LIVE_MARKERS = ("<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "<i>zq")
ESCAPED_MARKERS = ("&lt;script&gt;alert(1)&lt;/script&gt;", "&lt;i&gt;zq")
NOT_PAGES = crawl.NOT_PAGES


def payload_for(field, pk) -> str | None:
    suffix = f"-{pk}" if pk != "" else ""
    for payload in (LONG, SHORT):
        value = payload + suffix
        if field.max_length is None or len(value) <= field.max_length:
            return value
    return None


def poison_every_text_field() -> list[str]:
    poisoned = []
    for model in crawl.project_models():
        for field in crawl.text_fields(model):
            if crawl.is_unique(model, field):
                for pk in model._default_manager.values_list("pk", flat=True):
                    value = payload_for(field, pk)
                    if value:
                        model._default_manager.filter(pk=pk).update(**{field.name: value})
            else:
                value = payload_for(field, "")
                if value:
                    model._default_manager.update(**{field.name: value})
            poisoned.append(f"{model._meta.label}.{field.name}")
    return poisoned


@pytest.fixture
def world(partner_a, admin_user, partner_a_user, manager, rep):
    made, missing = crawl.build_world(partner=partner_a)
    return made, missing


def fetch_all(client, routes, pks):
    """GET every page the client can see (first object that answers), then as a fragment."""
    pages, errors = {}, []
    for route in routes:
        if route.name in NOT_PAGES:
            continue
        for kwargs in crawl.candidate_kwargs(route, pks):
            try:
                url = reverse(route.name, kwargs=kwargs)
            except NoReverseMatch:
                continue
            response = client.get(url)
            if response.status_code >= 500:
                errors.append(f"{url}: {response.status_code}")
            if response.status_code != 200:
                continue
            if "html" in response.get("Content-Type", ""):
                pages[url] = response.text
            # The same URL as an HTMX request answers the fragment the page swaps in.
            fragment = client.get(url, headers={"HX-Request": "true"})
            if fragment.status_code >= 500:
                errors.append(f"{url} [htmx]: {fragment.status_code}")
            if fragment.status_code == 200 and "html" in fragment.get("Content-Type", ""):
                pages[f"{url} [htmx]"] = fragment.text
            break
    return pages, errors


def test_no_page_renders_a_stored_payload_live(world, admin_user, partner_a_user):
    made, missing = world
    poisoned = poison_every_text_field()
    assert len(poisoned) > 40, poisoned
    pks = sorted({obj.pk for objs in made.values() for obj in objs})[:5]
    routes = crawl.project_routes()
    live, all_errors, shown = [], [], []
    for user in (admin_user, partner_a_user):
        client = Client(raise_request_exception=False)
        client.force_login(user)
        pages, errors = fetch_all(client, routes, pks)
        all_errors += [f"{user.username}: {e}" for e in errors]
        for url, text in pages.items():
            for marker in LIVE_MARKERS:
                if marker in text:
                    at = text.index(marker)
                    live.append(f"{user.username} {url}: …{text[max(0, at - 80) : at + 60]}…")
            if any(marker in text for marker in ESCAPED_MARKERS):
                shown.append(url)
    assert not live, "payload rendered unescaped:\n" + "\n".join(live)
    assert not all_errors, "pages broken by stored text:\n" + "\n".join(all_errors)
    # The test is only worth something if the payload does reach the pages.
    assert len(shown) >= 10, shown
    assert not missing, f"models without a row (add a factory): {missing}"
