"""Keyboard first in a real browser: the command palette, the shortcuts help, j/k on lists
and the saved views menu."""

import pytest
from playwright.sync_api import expect

from tests import clock
from tests.browser.conftest import DEMO_PASSWORD
from tests.factories import AccountFactory, OpportunityFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.dates,
    pytest.mark.time_machine(clock.NOW),
]


def open_as(browser, live_server, user, path="/", **context_args):
    context = browser.new_context(
        locale="fr-CH", viewport={"width": 1440, "height": 900}, **context_args
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.goto(f"{live_server.url}/login/")
    page.fill("input[name=username]", user.username)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("form button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    if path != "/":
        page.goto(f"{live_server.url}{path}")
    page.wait_for_load_state("networkidle")
    return page


def selected_text(page) -> str:
    combobox = page.locator("#palette-input")
    active = combobox.get_attribute("aria-activedescendant")
    return page.locator(f"#{active}").inner_text()


def test_the_palette_finds_a_record_and_opens_it_with_the_keyboard(
    browser, live_server, rep, partner_a, partner_b
):
    OpportunityFactory(name="Chaufferie Beaulieu", owner=rep, partner=partner_a)
    OpportunityFactory(name="Chaufferie Montchoisi", owner=rep, partner=partner_b)
    page = open_as(browser, live_server, rep)
    page.keyboard.press("Control+k")
    palette = page.locator("#command-palette")
    expect(palette).to_be_visible()
    combobox = page.locator("#palette-input")
    expect(combobox).to_be_focused()
    expect(combobox).to_have_attribute("role", "combobox")
    expect(page.locator("#palette-listbox")).to_have_attribute("role", "listbox")
    # Actions and pages first, the first one chosen.
    expect(page.locator("#palette-listbox [role=option]").first).to_have_attribute(
        "aria-selected", "true"
    )
    combobox.fill("chaufferie")
    expect(page.locator("#palette-listbox")).to_contain_text("Chaufferie Montchoisi")
    # Down arrow to the second record, Enter opens it.
    while "Chaufferie" not in selected_text(page):
        page.keyboard.press("ArrowDown")
    first = selected_text(page)
    page.keyboard.press("ArrowDown")
    second = selected_text(page)
    assert first != second and "Chaufferie" in second
    page.keyboard.press("Enter")
    page.wait_for_url("**/opportunities/*/")
    expect(page.locator("h1")).to_contain_text(second.split("\n")[0].strip())


def test_escape_closes_the_palette_and_the_focus_returns(browser, live_server, rep):
    AccountFactory(name="Gland Énergie SA")
    page = open_as(browser, live_server, rep, "/accounts/")
    export = page.locator(".page-actions a[download]")
    export.focus()
    page.keyboard.press("/")
    expect(page.locator("#command-palette")).to_be_visible()
    expect(page.locator("#palette-input")).to_be_focused()
    page.keyboard.press("Escape")
    expect(page.locator("#command-palette")).to_be_hidden()
    expect(export).to_be_focused()


def test_question_mark_lists_the_shortcuts(browser, live_server, rep):
    page = open_as(browser, live_server, rep)
    page.locator("body").click()
    page.keyboard.press("?")
    help_dialog = page.locator("#shortcuts-help")
    expect(help_dialog).to_be_visible()
    expect(help_dialog).to_contain_text("Ouvrir la palette de commandes")
    page.keyboard.press("Escape")
    expect(help_dialog).to_be_hidden()


def test_a_page_is_reached_by_typing_its_name(browser, live_server, partner_a_user):
    page = open_as(browser, live_server, partner_a_user)
    page.keyboard.press("Control+k")
    page.locator("#palette-input").fill("portail")
    expect(page.locator("#palette-listbox")).to_contain_text("Portail partenaire")
    expect(page.locator("#palette-listbox")).not_to_contain_text("Nouvelle opportunité")
    page.keyboard.press("Enter")
    page.wait_for_url("**/partners/portal/")


def test_j_and_k_walk_the_rows_of_a_list(browser, live_server, rep):
    for name in ("Alpha Chauffage SA", "Bêta Froid SA", "Gamma Solaire SA"):
        AccountFactory(name=name)
    page = open_as(browser, live_server, rep, "/accounts/?ordering=name")
    page.locator("h1").click()
    page.keyboard.press("j")
    expect(page.locator(":focus")).to_have_text("Alpha Chauffage SA")
    page.keyboard.press("j")
    expect(page.locator(":focus")).to_have_text("Bêta Froid SA")
    page.keyboard.press("k")
    expect(page.locator(":focus")).to_have_text("Alpha Chauffage SA")


def test_a_view_is_saved_from_the_list_and_opened_again(browser, live_server, rep):
    OpportunityFactory(name="Pompe à chaleur Vevey", owner=rep, stage="proposal", probability=50)
    page = open_as(browser, live_server, rep, "/opportunities/?stage=proposal")
    page.locator(".views-menu summary").click()
    name = page.locator(".views-panel input[name=name]")
    expect(name).to_be_visible()
    name.fill("Mes propositions")
    page.locator(".views-panel input[name=default]").check()
    page.locator(".view-create button[type=submit]").click()
    expect(page.locator(".views-panel")).to_contain_text("Mes propositions")
    expect(page.locator(".views-panel a[aria-current=true]")).to_contain_text("Mes propositions")
    page.goto(f"{live_server.url}/opportunities/")
    page.wait_for_url("**/opportunities/?stage=proposal")
