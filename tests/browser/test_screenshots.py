"""The README's screenshots, taken from the demo data in a real browser.

Skipped unless asked for:

    CLIMCRM_SCREENSHOTS=docs/screenshots \\
        make test PYTEST_ARGS="-n 0 tests/browser/test_screenshots.py"

writes docs/screenshots/<page>.png at 1440 px in French. CLIMCRM_SCREENSHOT_WIDTHS
(``1440,1280,390``) and CLIMCRM_SCREENSHOT_LANGUAGES (``fr,en``) take more; the extra ones
are named <page>-<language>-<width>.png.
"""

import os
from pathlib import Path

import pytest

from tests import clock
from tests.browser.conftest import DEMO_PASSWORD
from tests.browser.test_accessibility import seed_demo_world

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.dates,
    pytest.mark.time_machine(clock.NOW),
]

TARGET = os.environ.get("CLIMCRM_SCREENSHOTS", "")
WIDTHS = [int(w) for w in os.environ.get("CLIMCRM_SCREENSHOT_WIDTHS", "1440").split(",")]
LANGUAGES = os.environ.get("CLIMCRM_SCREENSHOT_LANGUAGES", "fr").split(",")


def pages():
    """(name, user, path) of each screenshot."""
    from django.urls import reverse

    from pipeline_reviews.models import Review, ReviewKind

    review = Review.objects.filter(kind=ReviewKind.MONTHLY_PARTNER, closed_at__isnull=True).first()
    return [
        ("dashboard", "manager", reverse("dashboard")),
        ("board", "manager", reverse("opportunities:kanban")),
        ("forecast", "manager", reverse("forecasting:forecast")),
        ("review", "channel", reverse("pipeline_reviews:detail", args=[review.pk])),
        ("portal", "partner_a", reverse("partners:portal")),
    ]


@pytest.mark.skipif(not TARGET, reason="set CLIMCRM_SCREENSHOTS to a folder to take them")
def test_take_the_readme_screenshots(browser, live_server):
    seed_demo_world(size=300)
    target = Path(TARGET)
    target.mkdir(parents=True, exist_ok=True)
    for name, username, path in pages():
        for width in WIDTHS:
            context = browser.new_context(
                locale="fr-CH",
                viewport={"width": width, "height": 900 if width > 600 else 844},
                color_scheme="light",
                is_mobile=width <= 600,
                has_touch=width <= 600,
            )
            page = context.new_page()
            page.goto(f"{live_server.url}/login/")
            page.fill("input[name=username]", username)
            page.fill("input[name=password]", DEMO_PASSWORD)
            page.click("form button[type=submit]")
            page.wait_for_url(f"{live_server.url}/")
            for language in LANGUAGES:
                page.click(f"button.lang-button[value={language}]")
                page.wait_for_load_state()
                page.goto(f"{live_server.url}{path}")
                page.wait_for_load_state("networkidle")
                suffix = "" if (language, width) == ("fr", 1440) else f"-{language}-{width}"
                page.screenshot(path=target / f"{name}{suffix}.png")
            context.close()
