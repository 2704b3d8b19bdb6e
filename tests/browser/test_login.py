import re

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_log_in_switch_language_and_log_out(page, live_server, login, rep):
    login(rep)
    expect(page.locator("h1")).to_have_text("Tableau de bord")

    page.click("button.lang-button[value=en]")
    expect(page.locator("h1")).to_have_text("Dashboard")
    page.reload()
    expect(page.locator("h1")).to_have_text("Dashboard")

    page.click("button.lang-button[value=fr]")
    expect(page.locator("h1")).to_have_text("Tableau de bord")

    page.click("details.dropdown summary")
    page.click("text=Se déconnecter")
    expect(page).to_have_url(re.compile(r"/login/"))


def test_wrong_password_shows_an_error_and_keeps_the_username(page, live_server, rep):
    page.goto(f"{live_server.url}/login/")
    page.fill("input[name=username]", "rep")
    page.fill("input[name=password]", "not-the-password")
    page.click("form button[type=submit]")
    expect(page.locator(".form-errors")).to_be_visible()
    expect(page.locator("input[name=username]")).to_have_value("rep")
