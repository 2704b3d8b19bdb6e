"""Playwright against Django's live server, in Debian's Chromium (no browser download)."""

import os

import pytest
from django.core.servers.basehttp import WSGIServer
from django.test.testcases import LiveServerThread

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")


class OneRequestAtATime(WSGIServer):
    """The live server answers one request at a time. On SQLite the test database lives in
    memory and every request shares its one connection: two requests at once (htmx loads
    two sections of a page together) would use it from two threads and fail at random."""

    def __init__(self, *args, connections_override=None, **kwargs):
        # LiveServerThread.run() already hands the shared connections to its own thread.
        super().__init__(*args, **kwargs)


LiveServerThread.server_class = OneRequestAtATime
DEMO_PASSWORD = "climcrm-demo"


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "headless": True,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ],
    }


@pytest.fixture
def browser_context_args(browser_context_args):
    return {**browser_context_args, "locale": "fr-CH", "viewport": {"width": 1400, "height": 900}}


@pytest.fixture(autouse=True)
def reference_data(transactional_db):
    """Transactional tests flush the tables between tests: put back what migrations load."""
    import importlib

    from django.apps import apps as django_apps

    from climcrm.roles import Role

    reference = importlib.import_module("opportunities.migrations.0002_reference_data")
    Group = django_apps.get_model("auth", "Group")
    for name in Role.values:
        Group.objects.get_or_create(name=name)
    reference.load(django_apps, None)
    seed = importlib.import_module("opportunities.migrations.0019_reason_codes_seed")
    ReasonCode = django_apps.get_model("opportunities", "ReasonCode")
    for code, label_en, label_fr, position in seed.REASON_CODES:
        ReasonCode.objects.get_or_create(
            code=code, defaults={"label_en": label_en, "label_fr": label_fr, "position": position}
        )


@pytest.fixture
def login(page, live_server):
    """login(user) logs in through the real form and returns the page on the dashboard."""

    def do_login(user, password: str = DEMO_PASSWORD):
        page.goto(f"{live_server.url}/login/")
        page.fill("input[name=username]", user.username)
        page.fill("input[name=password]", password)
        page.click("form button[type=submit]")
        page.wait_for_url(f"{live_server.url}/")
        return page

    return do_login
