import datetime
import re
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from opportunities.kanban import COLUMN_SIZE
from opportunities.models import LossReason, Opportunity, OpportunityHistory, Stage
from opportunities.services import opportunity_move_stage
from tests import clock
from tests.factories import OpportunityFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def drag(page, source, target):
    """A real drag: press on the card, move in small steps over the column, release."""
    source.scroll_into_view_if_needed()
    start = source.locator(".kanban-card-figures").bounding_box()
    end = target.bounding_box()
    x, y = start["x"] + start["width"] / 2, start["y"] + start["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 8, y + 8, steps=4)
    page.mouse.move(end["x"] + end["width"] / 2, end["y"] + 20, steps=25)
    page.mouse.move(end["x"] + end["width"] / 2, end["y"] + 24, steps=3)
    page.mouse.up()


def open_board(page, live_server, login, user):
    login(user)
    page.goto(f"{live_server.url}/opportunities/pipeline/")
    expect(page.locator("#kanban-board")).to_be_visible()
    page.wait_for_function("window.Sortable !== undefined")


def test_drag_a_card_moves_the_deal_updates_totals_and_survives_a_reload(
    page, live_server, login, rep
):
    deal = OpportunityFactory(owner=rep, name="Climatisation Hôtel du Lac", amount=Decimal("12000"))
    OpportunityFactory(owner=rep, name="Pompe à chaleur Collège", amount=Decimal("3000"))
    open_board(page, live_server, login, rep)
    card = page.locator(f"#deal-{deal.pk}")
    proposal_head = page.locator("#kanban-head-proposal")
    expect(proposal_head.locator(".kanban-count")).to_have_text("0")

    drag(page, card, page.locator("#kanban-list-proposal"))

    expect(page.locator(f"#kanban-list-proposal #deal-{deal.pk}")).to_have_attribute(
        "data-stage", "proposal"
    )
    expect(proposal_head.locator(".kanban-count")).to_have_text("1")
    expect(proposal_head.locator(".kanban-total")).to_contain_text("12")
    expect(page.locator("#kanban-head-qualification .kanban-count")).to_have_text("1")
    expect(page.locator("#toast")).to_be_visible()
    # The new version is on the card: a second move is not refused as stale.
    expect(page.locator(f"#deal-{deal.pk}")).to_have_attribute("data-version", "2")
    deal.refresh_from_db()
    assert (deal.stage, deal.probability) == (Stage.PROPOSAL, 50)
    assert OpportunityHistory.objects.filter(opportunity=deal, tag="kanban").count() == 1

    page.reload()
    expect(page.locator(f"#kanban-list-proposal #deal-{deal.pk}")).to_have_attribute(
        "data-stage", "proposal"
    )
    expect(page.locator("#kanban-head-proposal .kanban-count")).to_have_text("1")


def test_drop_on_closed_lost_asks_the_reason(page, live_server, login, rep):
    deal = OpportunityFactory(owner=rep, name="Ventilation Garage Martin")
    open_board(page, live_server, login, rep)

    drag(page, page.locator(f"#deal-{deal.pk}"), page.locator("#kanban-list-closed_lost"))

    dialog = page.locator("#kanban-lost-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.locator(".kanban-dialog-deal")).to_have_text("Ventilation Garage Martin")
    dialog.locator("select[name=loss_reason]").select_option(label="Concurrent")
    dialog.locator("textarea").fill("Offre concurrente 10 % moins chère")
    dialog.locator("button[type=submit]").click()

    expect(dialog).to_be_hidden()
    expect(page.locator(f"#kanban-list-closed_lost #deal-{deal.pk}")).to_have_attribute(
        "data-stage", "closed_lost"
    )
    expect(page.locator("#kanban-head-closed_lost .kanban-count")).to_have_text("1")
    deal.refresh_from_db()
    assert deal.stage == Stage.CLOSED_LOST
    assert deal.loss_reason.code == "competitor"
    assert deal.loss_reason_text == "Offre concurrente 10 % moins chère"


def test_drop_back_a_stage_asks_why_and_keeps_the_reason(page, live_server, login, rep):
    deal = OpportunityFactory(
        owner=rep, name="Chaudière Ferme Rochat", stage=Stage.PROPOSAL, probability=50
    )
    open_board(page, live_server, login, rep)

    drag(page, page.locator(f"#deal-{deal.pk}"), page.locator("#kanban-list-qualification"))

    dialog = page.locator("#kanban-reason-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.locator(".kanban-dialog-deal")).to_have_text("Chaudière Ferme Rochat")
    dialog.locator("select[name=reason_code]").select_option(label="Décision du client retardée")
    dialog.locator("textarea").fill("Conseil communal reporté à mars")
    dialog.locator("button[type=submit]").click()

    expect(dialog).to_be_hidden()
    expect(page.locator(f"#kanban-list-qualification #deal-{deal.pk}")).to_have_attribute(
        "data-stage", "qualification"
    )
    row = OpportunityHistory.objects.get(opportunity=deal, version=2)
    assert (row.stage, row.reason_code.code, row.reason_text) == (
        Stage.QUALIFICATION,
        "decision_delayed",
        "Conseil communal reporté à mars",
    )


def test_cancelling_the_loss_reason_puts_the_card_back(page, live_server, login, rep):
    deal = OpportunityFactory(owner=rep, name="Chauffage Ferme Rossier")
    open_board(page, live_server, login, rep)

    drag(page, page.locator(f"#deal-{deal.pk}"), page.locator("#kanban-list-closed_lost"))
    dialog = page.locator("#kanban-lost-dialog")
    expect(dialog).to_be_visible()
    dialog.locator("[data-dialog-cancel]").click()

    expect(dialog).to_be_hidden()
    expect(page.locator(f"#kanban-list-qualification #deal-{deal.pk}")).to_be_visible()
    expect(page.locator("#kanban-head-closed_lost .kanban-count")).to_have_text("0")
    deal.refresh_from_db()
    assert deal.stage == Stage.QUALIFICATION


def test_drop_on_closed_won_without_amount_asks_for_it(page, live_server, login, rep):
    deal = OpportunityFactory(owner=rep, name="Rafraîchissement Serveurs", amount=None)
    open_board(page, live_server, login, rep)

    drag(page, page.locator(f"#deal-{deal.pk}"), page.locator("#kanban-list-closed_won"))
    dialog = page.locator("#kanban-won-dialog")
    expect(dialog).to_be_visible()
    dialog.locator("input[name=amount]").fill("48500")
    dialog.locator("button[type=submit]").click()

    expect(page.locator(f"#kanban-list-closed_won #deal-{deal.pk}")).to_have_attribute(
        "data-stage", "closed_won"
    )
    deal.refresh_from_db()
    assert (deal.stage, deal.amount) == (Stage.CLOSED_WON, Decimal("48500"))


def test_a_refused_move_puts_the_card_back_and_says_why(page, live_server, login, rep, other_rep):
    deal = OpportunityFactory(owner=other_rep, name="Affaire d'un collègue")
    open_board(page, live_server, login, rep)

    drag(page, page.locator(f"#deal-{deal.pk}"), page.locator("#kanban-list-negotiation"))

    expect(page.locator("#toast")).to_be_visible()
    expect(page.locator("#toast")).to_have_class(re.compile("toast-error"))
    expect(page.locator(f"#kanban-list-qualification #deal-{deal.pk}")).to_be_visible()
    assert Opportunity.objects.get(pk=deal.pk).stage == Stage.QUALIFICATION


def test_a_stale_card_is_refused_then_shows_the_other_change_and_moves(
    page, live_server, login, rep, manager
):
    deal = OpportunityFactory(owner=rep, name="Affaire modifiée ailleurs")
    open_board(page, live_server, login, rep)

    # Someone else moves the deal after this board was loaded.
    opportunity_move_stage(
        opportunity=deal,
        to_stage=Stage.NEEDS_ANALYSIS,
        by=manager,
        amount=Decimal("99000"),
        expected_version=deal.version,
    )

    drag(page, page.locator(f"#deal-{deal.pk}"), page.locator("#kanban-list-proposal"))

    expect(page.locator("#toast")).to_have_class(re.compile("toast-error"))
    expect(page.locator("#toast")).to_contain_text("Quelqu'un d'autre a modifié")
    # The card now shows where the other user put it, with its current version and amount.
    card = page.locator(f"#kanban-list-needs_analysis #deal-{deal.pk}")
    expect(card).to_have_attribute("data-version", "2")
    expect(card.locator(".kanban-card-amount")).to_contain_text("99")
    expect(page.locator("#kanban-head-needs_analysis .kanban-count")).to_have_text("1")
    deal.refresh_from_db()
    assert (deal.stage, deal.version) == (Stage.NEEDS_ANALYSIS, 2)

    # Moving it again from the same board now goes through.
    drag(page, card, page.locator("#kanban-list-proposal"))

    expect(page.locator(f"#kanban-list-proposal #deal-{deal.pk}")).to_have_attribute(
        "data-version", "3"
    )
    deal.refresh_from_db()
    assert (deal.stage, deal.version) == (Stage.PROPOSAL, 3)


def test_move_menu_is_the_keyboard_alternative(page, live_server, login, rep):
    deal = OpportunityFactory(owner=rep, name="Affaire au clavier", amount=Decimal("7000"))
    open_board(page, live_server, login, rep)

    menu = page.locator(f"#move-{deal.pk}")
    menu.focus()
    menu.select_option(Stage.NEGOTIATION.value)
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")

    expect(page.locator(f"#kanban-list-negotiation #deal-{deal.pk}")).to_have_attribute(
        "data-stage", "negotiation"
    )
    expect(page.locator("#kanban-head-negotiation .kanban-count")).to_have_text("1")
    deal.refresh_from_db()
    assert deal.stage == Stage.NEGOTIATION


def test_partner_user_sees_and_moves_only_their_partners_deals(
    page, live_server, login, partner_a_user, partner_a, partner_b
):
    mine = OpportunityFactory(partner=partner_a, name="Affaire Alpha")
    OpportunityFactory(partner=partner_b, name="Affaire Beta")
    open_board(page, live_server, login, partner_a_user)
    expect(page.locator(".kanban-card")).to_have_count(1)

    drag(page, page.locator(f"#deal-{mine.pk}"), page.locator("#kanban-list-needs_analysis"))

    expect(page.locator(f"#kanban-list-needs_analysis #deal-{mine.pk}")).to_have_attribute(
        "data-stage", "needs_analysis"
    )
    mine.refresh_from_db()
    assert mine.stage == Stage.NEEDS_ANALYSIS


def test_filters_swap_the_board_keep_the_url_and_cards_still_drag(
    page, live_server, login, rep, other_rep
):
    mine = OpportunityFactory(owner=rep, name="Mon affaire")
    OpportunityFactory(owner=other_rep, name="Affaire de Sophie")
    open_board(page, live_server, login, rep)
    expect(page.locator(".kanban-card")).to_have_count(2)

    page.locator("input[name=mine]").check()

    expect(page.locator(".kanban-card")).to_have_count(1)
    expect(page).to_have_url(re.compile(r"mine=on"))
    drag(page, page.locator(f"#deal-{mine.pk}"), page.locator("#kanban-list-proposal"))
    expect(page.locator(f"#kanban-list-proposal #deal-{mine.pk}")).to_have_attribute(
        "data-stage", "proposal"
    )
    mine.refresh_from_db()
    assert mine.stage == Stage.PROPOSAL


def test_a_long_column_loads_more_cards(page, live_server, login, rep):
    for i in range(COLUMN_SIZE + 6):
        OpportunityFactory(owner=rep, name=f"Affaire {i:02d}")
    open_board(page, live_server, login, rep)
    column = page.locator("#kanban-list-qualification")

    more = column.locator(".kanban-more a")
    more.scroll_into_view_if_needed()

    expect(column.locator(".kanban-card")).to_have_count(COLUMN_SIZE + 6)
    expect(column.locator(".kanban-more")).to_have_count(0)


# Cards whose box lies wholly inside the viewport and inside their column's scrolling list.
VISIBLE_CARDS = """() => {
  const vw = window.innerWidth, vh = window.innerHeight, counts = {};
  document.querySelectorAll('.kanban-column').forEach(column => {
    const list = column.querySelector('.kanban-list').getBoundingClientRect();
    counts[column.dataset.stage] = [...column.querySelectorAll('.kanban-card')].filter(card => {
      const r = card.getBoundingClientRect();
      return r.width > 0 && r.top >= Math.max(0, list.top - 1) && r.left >= 0
        && r.bottom <= Math.min(vh, list.bottom + 1) && r.right <= vw;
    }).length;
  });
  return counts;
}"""

COLUMN_EDGES = """() => [...document.querySelectorAll('.kanban-column')].map(
  c => Math.round(c.getBoundingClientRect().right))"""


def full_board(owner, per_column=8):
    """Eight deals in every column, each with a next step, as a working board has."""
    reason = LossReason.objects.get(code="price")
    for stage, probability in zip(Stage.values, (10, 25, 50, 75, 100, 0), strict=True):
        for i in range(per_column):
            OpportunityFactory(
                owner=owner,
                stage=stage,
                probability=probability,
                name=f"Pompe à chaleur {stage} {i}",
                next_step="Relancer le bureau technique",
                loss_reason=reason if stage == Stage.CLOSED_LOST else None,
                forecast_category={"closed_won": "closed", "closed_lost": "omitted"}.get(
                    stage, "pipeline"
                ),
            )


def test_five_cards_per_column_at_1440_and_six_columns_at_1280(page, live_server, login, rep):
    full_board(rep)
    page.set_viewport_size({"width": 1440, "height": 900})
    open_board(page, live_server, login, rep)
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    expect(page.locator(".kanban-card")).to_have_count(48)

    visible = page.evaluate(VISIBLE_CARDS)

    assert len(visible) == 6
    assert min(visible.values()) >= 5, visible

    page.set_viewport_size({"width": 1280, "height": 900})
    page.reload()
    expect(page.locator(".kanban-card")).to_have_count(48)
    edges = page.evaluate(COLUMN_EDGES)
    assert len(edges) == 6 and max(edges) <= 1280, edges
    widths = page.evaluate(
        "() => { const b = document.getElementById('kanban-board'); "
        "return [b.scrollWidth, b.clientWidth, document.documentElement.scrollWidth]; }"
    )
    assert widths[0] <= widths[1] and widths[2] <= 1280, widths
    assert min(page.evaluate(VISIBLE_CARDS).values()) >= 5


def test_a_closed_column_folds_and_stays_folded(page, live_server, login, rep):
    full_board(rep, per_column=2)
    open_board(page, live_server, login, rep)
    lost = page.locator("#kanban-column-closed_lost")

    lost.locator(".kanban-collapse").click()

    expect(lost).to_have_class(re.compile("is-collapsed"))
    expect(lost.locator(".kanban-card").first).to_be_hidden()
    page.reload()
    expect(lost).to_have_class(re.compile("is-collapsed"))
    expect(lost.locator(".kanban-collapse")).to_have_attribute("aria-expanded", "false")


def test_drag_starts_on_the_title_and_the_empty_states_follow(page, live_server, login, rep):
    deal = OpportunityFactory(owner=rep, name="Climatisation Hôtel du Lac")
    open_board(page, live_server, login, rep)
    source_empty = page.locator("#kanban-column-qualification .kanban-empty")
    target_empty = page.locator("#kanban-column-proposal .kanban-empty")
    expect(source_empty).to_be_hidden()
    expect(target_empty).to_be_visible()
    board_url = page.url

    title = page.locator(f"#deal-{deal.pk} .kanban-card-title a")
    box = title.bounding_box()
    end = page.locator("#kanban-list-proposal").bounding_box()
    x, y = box["x"] + 20, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 8, y + 8, steps=4)
    page.mouse.move(end["x"] + end["width"] / 2, end["y"] + 20, steps=25)
    page.mouse.move(end["x"] + end["width"] / 2, end["y"] + 24, steps=3)
    page.mouse.up()

    expect(page.locator(f"#kanban-list-proposal #deal-{deal.pk}")).to_have_attribute(
        "data-stage", "proposal"
    )
    expect(page.locator("#kanban-head-proposal .kanban-count")).to_have_text("1")
    expect(page.locator("#kanban-head-qualification .kanban-count")).to_have_text("0")
    # The card sits alone in its new column: no "no deal" next to it; the old column says it.
    expect(target_empty).to_be_hidden()
    expect(source_empty).to_be_visible()
    assert page.url == board_url
    deal.refresh_from_db()
    assert deal.stage == Stage.PROPOSAL


def test_chips_and_search_filter_the_board_in_place(page, live_server, login, rep, other_rep):
    mine = OpportunityFactory(owner=rep, name="Mon affaire du Lac")
    OpportunityFactory(owner=rep, name="Autre affaire")
    OpportunityFactory(owner=other_rep, name="Affaire de Sophie")
    open_board(page, live_server, login, rep)
    expect(page.locator(".kanban-card")).to_have_count(3)

    page.get_by_label("Seulement les miennes").check()

    expect(page.locator(".kanban-card")).to_have_count(2)
    expect(page).to_have_url(re.compile(r"mine=on"))
    expect(page.locator("#kanban-head-qualification .kanban-count")).to_have_text("2")

    page.get_by_placeholder("Rechercher dans le pipeline").fill("lac")

    expect(page.locator(".kanban-card")).to_have_count(1)
    expect(page.locator(f"#deal-{mine.pk}")).to_be_visible()
    expect(page).to_have_url(re.compile(r"q=lac"))
    expect(page.locator("#kanban-head-qualification .kanban-count")).to_have_text("1")


@pytest.mark.time_machine(clock.NOW)
def test_the_converted_deal_is_shown_and_marked(page, live_server, login, rep):
    today = timezone.localdate()
    for i in range(COLUMN_SIZE + 4):
        OpportunityFactory(owner=rep, close_date=today + datetime.timedelta(days=1 + i))
    converted = OpportunityFactory(
        owner=rep, name="Régie Exemple SA", close_date=today + datetime.timedelta(days=300)
    )
    page.set_viewport_size({"width": 1280, "height": 600})
    login(rep)

    page.goto(f"{live_server.url}/opportunities/pipeline/?highlight={converted.pk}")

    card = page.locator(f"#deal-{converted.pk}")
    expect(card).to_have_class(re.compile("is-highlighted"))
    expect(card.locator(".badge-new")).to_have_text("Nouvelle")
    expect(card).to_be_in_viewport()


def test_a_card_edits_its_figures_in_place(page, live_server, login, rep):
    deal = OpportunityFactory(owner=rep, name="Climatisation Hôtel du Lac", amount=Decimal("12000"))
    open_board(page, live_server, login, rep)

    page.locator(f"#deal-{deal.pk} .kanban-edit").click()
    form = page.locator(f"#deal-{deal.pk} .kanban-edit-form")
    form.get_by_label("Montant total").fill("30000")
    form.get_by_label("Prochaine étape").fill("Visite du site")
    form.get_by_role("button", name="Enregistrer").click()

    card = page.locator(f"#deal-{deal.pk}")
    expect(card.locator(".kanban-edit-form")).to_have_count(0)
    expect(card.locator(".kanban-card-amount")).to_contain_text("30")
    expect(card).to_have_attribute("data-version", "2")
    expect(page.locator("#kanban-head-qualification .kanban-total")).to_contain_text("30")
    expect(page.locator("#toast")).to_be_visible()
    deal.refresh_from_db()
    assert (deal.amount, deal.next_step, deal.version) == (Decimal("30000"), "Visite du site", 2)
    # The card still drags after its edit.
    drag(page, card, page.locator("#kanban-list-proposal"))
    expect(page.locator(f"#kanban-list-proposal #deal-{deal.pk}")).to_have_attribute(
        "data-version", "3"
    )
