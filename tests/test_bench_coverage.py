"""Every page a user opens is in the benchmark and answers on its data (run once, not at
each moment of tests/clock.py: the benchmark's data follows the clock it is built at)."""

import json

import pytest
from django.core.management import call_command

from tests import clock

pytestmark = [pytest.mark.django_db, pytest.mark.time_machine(clock.NOW)]


def test_every_page_answers_on_the_benchmark_data(tmp_path):
    """Every page, as every role that opens it, answers on the benchmark's data."""
    call_command("build_dataset", size="50", verbosity=0)

    call_command("bench_pages", requests=1, warmup=0, output_dir=str(tmp_path))

    pages = {page["key"]: page for page in json.loads((tmp_path / "50.json").read_text())["pages"]}
    unmeasured = {key: page["note"] for key, page in pages.items() if not page["available"]}
    assert unmeasured == {}
    failed = {key: page["status"] for key, page in pages.items() if page["status"] != 200}
    assert failed == {}
    assert all(p["median_ms"] > 0 and p["queries"] >= 1 for p in pages.values())


def _url_names(resolver, namespace=""):
    from django.urls import URLResolver

    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            if pattern.namespace != "admin":
                inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
                yield from _url_names(pattern, inner)
        elif pattern.name:
            yield namespace + pattern.name


def test_every_url_is_a_measured_page_or_said_not_to_be_one():
    """A new page cannot escape the benchmark: each URL name is measured, or NOT_PAGES says
    why it is not a page a user opens."""
    from django.urls import get_resolver

    from bench.measure import NOT_PAGES, PAGES

    names = set(_url_names(get_resolver()))
    measured = {name for page in PAGES for name in page.url_names}
    assert sorted(names - measured - set(NOT_PAGES)) == []
    assert sorted(set(NOT_PAGES) - names) == []  # no reason kept for a URL that is gone
    assert sorted(set(NOT_PAGES) & measured) == []
    admin_pages = {name for name in measured if name.startswith("admin:")}
    assert admin_pages == {
        "admin:opportunities_opportunity_changelist",
        "admin:leads_lead_changelist",
        "admin:accounts_account_changelist",
    }
