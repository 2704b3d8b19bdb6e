"""The opportunity page's stage path and inline edit, in the browser, by mouse and keyboard."""

import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from opportunities.models import LossReason, Opportunity, Stage
from opportunities.services import opportunity_update
from tests import clock
from tests.factories import OpportunityFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.time_machine(clock.NOW),
]


def test_the_stage_path_moves_the_deal_and_asks_why_it_was_lost(page, live_server, login, rep):
    deal = OpportunityFactory(owner=rep, name="Chaufferie – bâtiment C", amount=Decimal("40000"))
    reason = LossReason.objects.filter(is_active=True).first()
    login(rep)
    page.goto(f"{live_server.url}/opportunities/{deal.pk}/")
    expect(page.locator("#stage-path [aria-current=step]")).to_contain_text("Qualification")

    page.click("#path-needs_analysis")
    expect(page.locator("#stage-path [aria-current=step]")).to_contain_text("Needs Analysis")
    expect(page.locator(".messages")).to_contain_text("Needs Analysis")
    # The page reloaded: its deferred scripts (which open the dialogs) run before "load".
    page.wait_for_load_state()
    deal.refresh_from_db()
    assert (deal.stage, deal.probability, deal.version) == (Stage.NEEDS_ANALYSIS, 25, 2)

    # Closed Lost asks for the reason first; cancelling changes nothing.
    page.click("#path-closed_lost")
    dialog = page.locator("#stage-lost-dialog")
    expect(dialog).to_be_visible()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    assert Opportunity.objects.get(pk=deal.pk).stage == Stage.NEEDS_ANALYSIS

    page.click("#path-closed_lost")
    page.select_option("#stage-loss-reason", str(reason.pk))
    page.fill("#stage-loss-text", "Le concurrent a baissé son prix")
    dialog.locator("button[type=submit]").click()
    expect(page.locator("#stage-path [aria-current=step]")).to_contain_text("Closed Lost")
    deal.refresh_from_db()
    assert (deal.stage, deal.loss_reason_id) == (Stage.CLOSED_LOST, reason.pk)


def test_inline_edit_by_keyboard_saves_cancels_and_refuses(page, live_server, login, rep, manager):
    deal = OpportunityFactory(owner=rep, amount=Decimal("10000"), probability=10)
    login(rep)
    page.goto(f"{live_server.url}/opportunities/{deal.pk}/")

    # Enter on the value opens the form; Enter in the form saves; the focus comes back.
    amount = page.locator(f"#deal-{deal.pk}-amount")
    amount.locator(".inline-value").focus()
    page.keyboard.press("Enter")
    field = amount.locator("input.inline-input")
    expect(field).to_be_focused()
    field.fill("25000")
    page.keyboard.press("Enter")
    expect(amount.locator(".inline-value")).to_contain_text("25’000.00")
    expect(amount.locator(".inline-value")).to_be_focused()
    expect(page.locator("#deal-figures")).to_contain_text("2’500.00")  # weighted, refreshed
    deal.refresh_from_db()
    assert (deal.amount, deal.version) == (Decimal("25000"), 2)

    # Escape cancels: nothing saved, the focus is back on the value.
    probability = page.locator(f"#deal-{deal.pk}-probability")
    probability.locator(".inline-value").click()
    # The form is ready (htmx has taken it over) once its input has the focus.
    expect(probability.locator("input.inline-input")).to_be_focused()
    probability.locator("input.inline-input").fill("90")
    page.keyboard.press("Escape")
    expect(probability.locator(".inline-value")).to_be_focused()
    expect(probability).to_contain_text("10")
    assert Opportunity.objects.get(pk=deal.pk).probability == 10

    # Invalid: the error sits under the field, in French, and the input keeps the focus.
    probability.locator(".inline-value").click()
    expect(probability.locator("input.inline-input")).to_be_focused()
    probability.locator("input.inline-input").fill("140")
    page.keyboard.press("Enter")
    expect(probability.locator(".inline-error")).to_contain_text("inférieure ou égale à 100")
    expect(probability.locator("input.inline-input")).to_be_focused()
    page.keyboard.press("Escape")

    # Stale: someone else saves while the form is open; the save is refused with the value
    # as it is now.
    next_step = page.locator(f"#deal-{deal.pk}-next_step")
    next_step.locator(".inline-value").click()
    expect(next_step.locator("input.inline-input")).to_be_focused()
    next_step.locator("input.inline-input").fill("Rappeler vendredi")
    current = Opportunity.objects.get(pk=deal.pk)
    opportunity_update(
        opportunity=current,
        by=manager,
        changes={"next_step": "Visite du site"},
        expected_version=current.version,
    )
    page.keyboard.press("Enter")
    expect(next_step.locator(".inline-message")).to_contain_text(re.compile("Rien n.a été"))
    expect(next_step.locator(".inline-value")).to_contain_text("Visite du site")
    assert Opportunity.objects.get(pk=deal.pk).next_step == "Visite du site"
