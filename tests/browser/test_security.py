"""In a real browser: the CSP holds, stored markup never runs, repeated failures lock out."""

import pytest
from django.conf import settings
from playwright.sync_api import expect

from accounts.models import Account
from tests.factories import AccountFactory, OpportunityFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PAYLOAD = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>'
PAGES = ["/", "/opportunities/", "/opportunities/pipeline/", "/leads/", "/accounts/", "/forecast/"]


def watch(page):
    """Collects CSP violations and dialogs (alert/confirm) the page raises."""
    seen = {"csp": [], "dialogs": []}
    page.on(
        "console",
        lambda msg: seen["csp"].append(msg.text) if "Content Security Policy" in msg.text else None,
    )
    page.on("dialog", lambda dialog: (seen["dialogs"].append(dialog.message), dialog.dismiss()))
    return seen


def test_the_main_pages_break_no_csp_rule(page, live_server, login, admin_user):
    OpportunityFactory(owner=admin_user)
    seen = watch(page)
    login(admin_user)
    for path in PAGES:
        response = page.goto(f"{live_server.url}{path}")
        assert response.status == 200, path
        assert "script-src 'self'" in response.headers["content-security-policy"]
        page.wait_for_load_state("networkidle")
    assert seen["csp"] == []


def test_the_csp_blocks_an_injected_inline_script(page, live_server, login, rep):
    seen = watch(page)
    login(rep)
    page.evaluate(
        """() => {
            const s = document.createElement('script');
            s.textContent = 'window.__injected = true';
            document.body.appendChild(s);
        }"""
    )
    assert page.evaluate("window.__injected") is None
    assert any("inline script" in text for text in seen["csp"])


def test_stored_markup_is_shown_as_text_and_never_runs(page, live_server, login, admin_user):
    account = AccountFactory(name="Alpine Froid SA", owner=admin_user)
    Account.objects.filter(pk=account.pk).update(name=PAYLOAD, notes=PAYLOAD, city=PAYLOAD)
    OpportunityFactory(account=account, owner=admin_user, name=PAYLOAD)
    seen = watch(page)
    login(admin_user)
    for path in (
        f"/accounts/{account.pk}/",
        "/accounts/",
        "/opportunities/",
        "/opportunities/pipeline/",
    ):
        page.goto(f"{live_server.url}{path}")
        page.wait_for_load_state("networkidle")
        assert page.evaluate("window.__xss") is None, path
    page.goto(f"{live_server.url}/accounts/{account.pk}/")
    expect(page.locator("h1")).to_contain_text("<img src=x")
    assert seen["dialogs"] == []


def test_repeated_failures_lock_the_login(page, live_server, rep):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        page.goto(f"{live_server.url}/login/")
        page.fill("input[name=username]", "rep")
        page.fill("input[name=password]", "not-the-password")
        page.click("form button[type=submit]")
    page.goto(f"{live_server.url}/login/")
    page.fill("input[name=username]", "rep")
    page.fill("input[name=password]", "climcrm-demo")
    page.click("form button[type=submit]")
    expect(page.locator("h1")).to_have_text("Trop de tentatives échouées")
    assert page.url.endswith("/login/")
