"""WCAG 2.2 AA in a real browser: axe-core on every main page, for every role, in French and
English, in the light and the dark theme.

The pages are the entries of each role's side navigation and the detail pages behind them
(a deal, a lead, an account, a contact, a review, a registration), on the demo data. A page
passes with no serious or critical violation; the failures are printed page by page.
"""

import importlib
import os
import random
import sys
import time
from pathlib import Path

import pytest

from tests import clock
from tests.browser.conftest import DEMO_PASSWORD

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.dates,
    pytest.mark.time_machine(clock.NOW),
]

# Copied from node_modules by scripts/vendor_assets.py; the browser runs it in every page
# the test opens (before the page's own scripts, past its Content-Security-Policy).
AXE = Path(__file__).resolve().parents[2] / "static" / "vendor" / "axe" / "axe.min.js"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
BLOCKING = ("serious", "critical")
ROLES = ("rep", "manager", "channel", "partner_a", "admin")
DEMO_SIZE = 40
# Pages outside the product's own templates.
SKIPPED_PREFIXES = ("/admin/",)
FULL = bool(os.environ.get("CLIMCRM_A11Y_FULL"))


def seed_demo_world(size: int = DEMO_SIZE):
    """The demo data (as ``manage.py seed_demo`` writes it), small by default."""
    from climcrm.demo import DemoContext
    from climcrm.management.commands.seed_demo import STEPS

    random.seed(20261124)
    ctx = DemoContext(size=size, stdout=sys.stdout)
    for step in STEPS:
        importlib.import_module(step).seed(ctx)
    return ctx


def detail_paths(username: str) -> list[str]:
    """One record of each kind the user may open, and the main forms."""
    from django.urls import reverse

    from accounts.models import Account, Contact
    from climcrm.models import User
    from climcrm.roles import is_partner_user
    from leads.models import Lead
    from opportunities.models import OPEN_STAGES, Opportunity
    from partners.models import DealRegistration
    from pipeline_reviews.models import Review

    user = User.objects.get(username=username)
    deals = Opportunity.objects.filter(stage__in=OPEN_STAGES).order_by("pk")
    registrations = DealRegistration.objects.order_by("pk")
    reviews = Review.objects.order_by("pk")
    if is_partner_user(user):
        deals = deals.filter(partner_id=user.partner_id)
        registrations = registrations.filter(partner_id=user.partner_id)
        reviews = reviews.filter(partner_id=user.partner_id)
        paths = [reverse("partners:registration-create")]
    else:
        paths = [
            reverse("leads:detail", args=[Lead.objects.order_by("pk").first().pk]),
            reverse("accounts:detail", args=[Account.objects.order_by("pk").first().pk]),
            reverse("accounts:contact-detail", args=[Contact.objects.order_by("pk").first().pk]),
            reverse("leads:create"),
            reverse("opportunities:create"),
        ]
    for name, record in (
        ("opportunities:detail", deals.first()),
        ("partners:registration-detail", registrations.first()),
        ("pipeline_reviews:detail", reviews.first()),
    ):
        if record is not None:
            paths.append(reverse(name, args=[record.pk]))
    return paths


def run_axe(page, rules=None) -> list[dict]:
    """The serious and critical violations on the page as it stands (WCAG A and AA rules,
    or only ``rules``)."""
    only = {"type": "rule", "values": rules} if rules else {"type": "tag", "values": WCAG_TAGS}
    results = page.evaluate(
        """async (only) => {
            const r = await axe.run(document, {runOnly: only, resultTypes: ['violations']});
            return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.map(n => n.target.join(' ') + ' — ' + n.failureSummary
                                    .replace(/\\s+/g, ' ').slice(0, 220))}));
        }""",
        only,
    )
    return [v for v in results if v["impact"] in BLOCKING]


def visit(page, url: str) -> None:
    """Open ``url`` and wait until the sections it loads with htmx are in."""
    page.goto(url)
    page.wait_for_function("() => !document.querySelector('.htmx-request')")


def in_dark_theme(page) -> list[dict]:
    """The contrast of the page in the dark theme: the theme switch only sets the page's
    data-theme (and keeps it in a cookie), so setting it here shows the same colours."""
    switch = """async (theme) => {
        document.documentElement.dataset.theme = theme;
        if (!window.__still) {
            window.__still = new CSSStyleSheet();
            window.__still.replaceSync('*, *::before, *::after { transition: none !important; }');
            document.adoptedStyleSheets = [...document.adoptedStyleSheets, window.__still];
        }
        await new Promise(requestAnimationFrame);
    }"""
    page.evaluate(switch, "dark")
    try:
        return run_axe(page, rules=["color-contrast"])
    finally:
        page.evaluate(switch, "light")


def audit(browser, live_server, username: str, seen: set) -> dict:
    """{(theme, language, path): [violations]} over the user's main pages.

    Every page in French with every WCAG rule in the light theme, and its contrast in the
    dark theme; in English every rule again. ``seen`` holds the (check, path) pairs already
    done for another role: the dark theme and English are checked once per page unless
    CLIMCRM_A11Y_FULL is set (then every role, every page, both languages: ~3 minutes).
    """
    context = browser.new_context(
        locale="fr-CH", viewport={"width": 1440, "height": 900}, color_scheme="light"
    )
    context.add_init_script(path=AXE)
    page = context.new_page()
    page.set_default_timeout(10_000)
    base = live_server.url
    found = {}

    def once(check: str, path: str) -> bool:
        if FULL or (check, path) not in seen:
            seen.add((check, path))
            return True
        return False

    page.goto(f"{base}/login/")
    found[("light", "fr", "/login/")] = run_axe(page)
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("form button[type=submit]")
    page.wait_for_url(f"{base}/")
    navigation = page.eval_on_selector_all(
        ".side-nav a", "links => links.map(a => a.getAttribute('href'))"
    )
    paths = [p for p in dict.fromkeys(navigation) if not p.startswith(SKIPPED_PREFIXES)]
    paths += detail_paths(username)
    page.click("button.lang-button[value=fr]")  # some demo users read English
    page.wait_for_load_state()
    for path in paths:
        visit(page, f"{base}{path}")
        assert page.evaluate("document.documentElement.lang") == "fr", path
        found[("light", "fr", path)] = run_axe(page)
        if once("dark", path):
            found[("dark", "fr", path)] = in_dark_theme(page)
    english = [path for path in paths if once("en", path)]
    if english:
        page.click("button.lang-button[value=en]")
        page.wait_for_load_state()
        for path in english:
            visit(page, f"{base}{path}")
            assert page.evaluate("document.documentElement.lang") == "en", path
            found[("light", "en", path)] = run_axe(page)
        page.click("button.lang-button[value=fr]")
        page.wait_for_load_state()
    context.close()
    return found


def report(found: dict, username: str) -> list[str]:
    lines = []
    for (theme, language, path), violations in found.items():
        for violation in violations:
            lines.append(
                f"{username} {theme} {language} {path}: {violation['id']} ({violation['impact']})"
                f" {violation['help']}"
            )
            lines += [f"      {node}" for node in violation["nodes"][:4]]
    return lines


def test_no_serious_or_critical_axe_violation_on_any_main_page(browser, live_server):
    seed_demo_world()
    started = time.monotonic()
    problems, audits, seen = [], {}, set()
    for username in ROLES:
        found = audit(browser, live_server, username, seen)
        audits[username] = found
        problems += report(found, username)
    count = sum(1 for line in problems if not line.startswith("      "))
    print(f"\naxe: {sum(map(len, audits.values()))} audits in {time.monotonic() - started:.1f} s")
    for username, found in audits.items():
        for (theme, language, path), violations in found.items():
            print(f"  {username:<10} {theme:<5} {language} {path:<40} {len(violations)}")
    assert not problems, f"{count} serious or critical axe violations:\n" + "\n".join(problems)


@pytest.mark.parametrize("language", ["fr", "en"])
def test_the_command_palette_views_menu_and_shortcuts_have_no_violation(
    browser, live_server, language
):
    """The states a page does not show when it loads: the command palette open on records,
    the shortcuts help, and a list's saved views menu."""
    seed_demo_world(size=12)
    context = browser.new_context(
        locale="fr-CH", viewport={"width": 1440, "height": 900}, color_scheme="light"
    )
    context.add_init_script(path=AXE)
    page = context.new_page()
    page.set_default_timeout(10_000)
    base = live_server.url
    page.goto(f"{base}/login/")
    page.fill("input[name=username]", "manager")
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("form button[type=submit]")
    page.wait_for_url(f"{base}/")
    page.click(f"button.lang-button[value={language}]")
    page.wait_for_load_state()
    visit(page, f"{base}/opportunities/")
    found = {}
    page.keyboard.press("Control+k")
    page.wait_for_selector("#command-palette[data-ready] [role=option]")
    found["palette"] = run_axe(page)
    page.fill("#palette-input", "sa")
    page.wait_for_selector("#palette-listbox [role=option][data-href*='/accounts/']")
    page.keyboard.press("ArrowDown")
    found["palette with records"] = run_axe(page)
    found["palette, dark"] = in_dark_theme(page)
    page.keyboard.press("Escape")
    page.wait_for_selector("#command-palette", state="hidden")
    page.locator("h1").click()
    page.keyboard.press("?")
    page.wait_for_selector("#shortcuts-help[open]")
    found["shortcuts"] = run_axe(page)
    page.keyboard.press("Escape")
    page.click(".views-menu summary")
    page.wait_for_selector(".views-panel #view-menu")
    found["views menu"] = run_axe(page)
    found["views menu, dark"] = in_dark_theme(page)
    context.close()
    problems = report({("light", language, state): v for state, v in found.items()}, "manager")
    assert not problems, "\n".join(problems)
