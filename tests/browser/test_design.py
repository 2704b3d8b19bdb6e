"""The design system in a real browser: phones, print, navigation, themes, the forecast's fit."""

import re
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from activities.models import Activity
from opportunities.models import ForecastCategory, Stage
from pipeline_reviews.models import MarketingAction, Review, ReviewKind
from tests import clock
from tests.browser.conftest import DEMO_PASSWORD
from tests.factories import AccountFactory, LeadFactory, OpportunityFactory
from tests.factories.partners import DealRegistrationFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.dates,
    pytest.mark.time_machine(clock.NOW),
]

PHONE = {"width": 390, "height": 844}
LONG = "Installation photovoltaïque et pompe à chaleur – bâtiment administratif nord"


@pytest.fixture
def world(rep, other_rep, manager, partner_a, partner_a_user, channel):
    """Deals, to-dos, leads and registrations with long names, as a real installation has."""
    today = timezone.localdate()
    account = AccountFactory(name="Coopérative d'habitation Les Tilleuls du Haut-Lac Sàrl")
    deals = []
    for index, (owner, partner) in enumerate(
        [(rep, None), (rep, partner_a), (other_rep, partner_a), (rep, None)]
    ):
        deals.append(
            OpportunityFactory(
                name=f"{LONG} {index}",
                account=account,
                owner=owner,
                partner=partner,
                amount=Decimal("1234567.50"),
                forecast_category=ForecastCategory.COMMIT,
                next_step="Présenter l'offre révisée au comité de direction de la coopérative",
            )
        )
    for deal in deals:
        Activity.objects.create(
            subject="Relancer le comité de direction pour la décision finale",
            opportunity=deal,
            assignee=deal.owner if deal.partner_id is None else partner_a_user,
            due_date=today,
            created_by=rep,
        )
    for index in range(3):
        LeadFactory(
            first_name="Marie-Christine",
            last_name=f"Bonvin-Zurbriggen {index}",
            company="Régie immobilière du Chablais valaisan SA",
            email=f"marie-christine.bonvin{index}@regie-chablais-valaisan.ch",
            owner=rep,
        )
    DealRegistrationFactory(
        partner=partner_a, company_name="Fromagerie d'alpage du Val de Bagnes Sàrl"
    )
    return {"deals": deals}


def open_as(browser, live_server, user, path, **context_args):
    """A new browser context (phone or desktop), logged in as ``user``, on ``path``."""
    context = browser.new_context(locale="fr-CH", **context_args)
    page = context.new_page()
    page.goto(f"{live_server.url}/login/")
    page.fill("input[name=username]", user.username)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("form button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    page.goto(f"{live_server.url}{path}")
    page.wait_for_load_state("networkidle")
    return page


PHONE_PAGES = [
    ("partner_a_user", lambda w: "/partners/portal/"),
    ("partner_a_user", lambda w: "/partners/registrations/new/"),
    ("rep", lambda w: "/activities/mine/"),
    ("rep", lambda w: f"/opportunities/{w['deals'][0].pk}/"),
    ("manager", lambda w: "/"),
    ("rep", lambda w: "/leads/"),
]


@pytest.mark.parametrize(
    ("role", "path_of"),
    PHONE_PAGES,
    ids=["portal", "registration", "my-tasks", "opportunity", "dashboard", "leads"],
)
def test_no_page_scrolls_sideways_on_a_phone(browser, live_server, world, request, role, path_of):
    user = request.getfixturevalue(role)
    page = open_as(
        browser, live_server, user, path_of(world), viewport=PHONE, has_touch=True, is_mobile=True
    )
    expect(page.locator("h1")).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"{path_of(world)} is {width} px wide on a 390 px phone"
    # The menu is a drawer behind the menu button.
    expect(page.locator(".side-nav")).not_to_be_in_viewport()
    page.locator(".topbar-menu").click()
    expect(page.locator(".side-nav")).to_be_in_viewport()


def test_keyboard_hint_shows_with_a_mouse_and_hides_on_touch(browser, live_server, rep):
    desktop = open_as(browser, live_server, rep, "/", viewport={"width": 1280, "height": 800})
    expect(desktop.locator(".header-search .kbd-hint")).to_be_visible()
    desktop.keyboard.press("/")
    expect(desktop.locator("#palette-input")).to_be_focused()
    phone = open_as(browser, live_server, rep, "/", viewport=PHONE, has_touch=True, is_mobile=True)
    expect(phone.locator(".header-search .kbd-hint")).to_be_hidden()


@pytest.mark.parametrize("language", ["fr", "en"])
@pytest.mark.parametrize("width", [1024, 1280, 1440])
def test_navigation_fits_and_one_entry_is_active(
    browser, live_server, manager, world, language, width
):
    page = open_as(browser, live_server, manager, "/", viewport={"width": width, "height": 900})
    if language == "en":
        page.click("button.lang-button[value=en]")
    page.goto(f"{live_server.url}/opportunities/pipeline/")
    topbar = page.locator(".app-topbar").bounding_box()
    assert topbar["height"] <= 64, f"the top bar is {topbar['height']} px high"
    active = page.locator(".side-nav a[aria-current=page]")
    expect(active).to_have_count(1)
    expect(active).to_have_text("Pipeline (vue kanban)" if language == "fr" else "Pipeline")
    # Each entry of the side navigation holds on one line.
    for entry in page.locator(".side-nav a").all():
        assert entry.bounding_box()["height"] <= 40, entry.inner_text()


def test_theme_switch_applies_at_once_and_is_kept(browser, live_server, rep):
    page = open_as(browser, live_server, rep, "/", color_scheme="light")
    light = page.evaluate("getComputedStyle(document.body).backgroundColor")
    page.click("details.dropdown summary")
    page.click("[data-theme-switch] button[value=dark]")
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    dark = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert dark != light
    page.reload()
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    page.click("details.dropdown summary")
    page.click("[data-theme-switch] button[value=auto]")
    expect(page.locator("html")).not_to_have_attribute("data-theme", re.compile(".+"))
    page.reload()
    expect(page.locator("html")).not_to_have_attribute("data-theme", re.compile(".+"))


def test_the_system_theme_is_followed_by_default(browser, live_server, rep):
    light = open_as(browser, live_server, rep, "/", color_scheme="light")
    dark = open_as(browser, live_server, rep, "/", color_scheme="dark")
    script = "getComputedStyle(document.body).backgroundColor"
    assert light.evaluate(script) != dark.evaluate(script)


def test_the_forecast_table_fits_a_wide_screen(browser, live_server, manager, world):
    page = open_as(
        browser, live_server, manager, "/forecast/", viewport={"width": 1440, "height": 900}
    )
    wrap = page.locator("#report .table-wrap")
    expect(wrap).to_be_visible()
    scroll, client = wrap.evaluate("el => [el.scrollWidth, el.clientWidth]")
    assert scroll <= client, f"the forecast table is cut: {scroll} px in {client} px"
    # The open pipeline ("Pipe"), the target and the coverage, last, are in view.
    right = wrap.bounding_box()["x"] + wrap.bounding_box()["width"]
    for header in ("Pipe", "Objectif", "Couverture"):
        cell = page.locator(".forecast-table thead th", has_text=re.compile(f"^{header}$"))
        box = cell.bounding_box()
        assert box["x"] + box["width"] <= right + 1, f"{header} is cut"


def test_the_forecast_keeps_its_first_column_on_a_phone(browser, live_server, manager, world):
    page = open_as(
        browser, live_server, manager, "/forecast/", viewport=PHONE, has_touch=True, is_mobile=True
    )
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    first = page.locator(".forecast-table tbody th").first
    before = first.bounding_box()["x"]
    page.locator("#report .table-wrap").evaluate("el => { el.scrollLeft = 400; }")
    assert abs(first.bounding_box()["x"] - before) < 1


VISIBLE_CONTROLS = """() => [...document.querySelectorAll(
    'button, input:not([type=hidden]), select, textarea, [role=button], .ts-wrapper')]
  .filter(el => el.getClientRects().length && getComputedStyle(el).visibility !== 'hidden')
  .map(el => el.outerHTML.slice(0, 80))"""


@pytest.fixture
def quarterly(channel, partner_a, world):
    today = timezone.localdate()
    review = Review.objects.create(
        kind=ReviewKind.QUARTERLY,
        partner=partner_a,
        period_start=today.replace(day=1, month=((today.month - 1) // 3) * 3 + 1),
        created_by=channel,
    )
    MarketingAction.objects.create(review=review, action_type="Salon Habitat", budget=4500)
    return review


def test_the_quarterly_review_prints_its_sections_in_order_without_controls(
    browser, live_server, channel, quarterly
):
    page = open_as(browser, live_server, channel, f"/reviews/{quarterly.pk}/")
    page.fill("textarea[name=difficulties]", "Délais de livraison des pompes")
    page.click("button[form=qbr-form]")
    page.wait_for_load_state("networkidle")
    page.emulate_media(media="print")
    assert page.evaluate(VISIBLE_CONTROLS) == []
    expect(page.locator(".app-sidebar")).to_be_hidden()
    headings = [
        text.strip()
        for text in page.locator("main h2").all_inner_texts()
        if re.match(r"^\d\.", text.strip())
    ]
    numbers = [int(text[0]) for text in headings]
    assert numbers == sorted(numbers) and set(numbers) == set(range(1, 8)), headings
    # What was entered prints as text.
    expect(page.locator("main")).to_contain_text("Délais de livraison des pompes")


@pytest.mark.parametrize(
    "path_of",
    [
        lambda w: f"/opportunities/{w['deals'][0].pk}/",
        lambda w: "/opportunities/",
        lambda w: "/",
        lambda w: "/forecast/",
    ],
    ids=["opportunity", "list", "dashboard", "forecast"],
)
def test_working_pages_print_without_controls(browser, live_server, rep, world, path_of):
    page = open_as(browser, live_server, rep, path_of(world))
    page.emulate_media(media="print")
    assert page.evaluate(VISIBLE_CONTROLS) == []
    expect(page.locator("h1")).to_be_visible()


def test_a_filter_with_many_choices_is_a_multi_select_with_search(browser, live_server, rep):
    OpportunityFactory(owner=rep, name="Affaire en négociation", stage=Stage.NEGOTIATION)
    OpportunityFactory(owner=rep, name="Affaire en qualification", stage=Stage.QUALIFICATION)
    page = open_as(browser, live_server, rep, "/opportunities/")
    # The list box is replaced (kept in the form, out of sight) by a box one types in.
    expect(page.locator("select[name=stage]")).to_have_class(re.compile("ts-hidden-accessible"))
    search = page.get_by_role("combobox", name="Stage")
    search.click()
    search.fill("nego")
    page.locator(".ts-dropdown .option", has_text="Negotiation").click()
    expect(page).to_have_url(re.compile(r"stage=negotiation"))
    expect(page.locator("#results")).to_contain_text("Affaire en négociation")
    expect(page.locator("#results")).not_to_contain_text("Affaire en qualification")


def test_dialogs_open_and_give_the_focus_back(browser, live_server, admin_user):
    page = open_as(browser, live_server, admin_user, "/style/")
    opener = page.locator("[data-dialog-open=style-dialog]")
    opener.click()
    expect(page.locator("#style-dialog")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.locator("#style-dialog")).to_be_hidden()
    expect(opener).to_be_focused()
