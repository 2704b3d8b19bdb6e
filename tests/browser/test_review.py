import datetime
import re
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from opportunities.models import ForecastCategory, Opportunity, Stage
from opportunities.services import opportunity_update
from pipeline_reviews import services
from pipeline_reviews.models import RecapEmail, ReviewKind, ReviewStatus
from tests import clock
from tests.factories import OpportunityFactory, UserFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.dates,
    pytest.mark.time_machine(clock.NOW),
]


@pytest.fixture
def review_setup(channel, partner_a, rep):
    director = UserFactory(
        username="director_a",
        first_name="Anne",
        last_name="Zufferey",
        roles=["partner_user"],
        partner=partner_a,
        partner_title="sales_director",
    )
    soon = timezone.localdate() + datetime.timedelta(days=10)
    deals = [
        OpportunityFactory(
            name=name,
            partner=partner_a,
            owner=rep,
            stage=stage,
            probability=probability,
            amount=Decimal(amount),
            forecast_category=category,
            close_date=soon + datetime.timedelta(days=index),
        )
        for index, (name, stage, probability, amount, category) in enumerate(
            [
                (
                    "Pompe à chaleur Sion",
                    Stage.QUALIFICATION,
                    10,
                    "10000",
                    ForecastCategory.PIPELINE,
                ),
                (
                    "Régulation CVC Martigny",
                    Stage.PROPOSAL,
                    50,
                    "20000",
                    ForecastCategory.BEST_CASE,
                ),
                ("Ventilation Monthey", Stage.NEGOTIATION, 75, "40000", ForecastCategory.COMMIT),
            ]
        )
    ]
    review = services.review_create(
        by=channel,
        kind=ReviewKind.MONTHLY_PARTNER,
        partner=partner_a,
        period=timezone.localdate(),
        attendees=[director],
    )
    return review, deals, director


def test_a_whole_monthly_review(page, live_server, login, channel, review_setup):
    review, deals, director = review_setup
    login(channel)
    page.goto(f"{live_server.url}/reviews/{review.pk}/")
    panel = page.locator("#deal-panel")
    expect(panel.locator(".deal-name")).to_have_text(deals[0].name)

    # Walk the deals: keyboard to the second, button to the third, back with the keyboard.
    page.locator("body").press("j")
    expect(panel.locator(".deal-name")).to_have_text(deals[1].name)
    panel.locator("[data-review-next]").click()
    expect(panel.locator(".deal-name")).to_have_text(deals[2].name)
    page.locator("body").press("k")
    expect(panel.locator(".deal-name")).to_have_text(deals[1].name)
    expect(page).to_have_url(re.compile(r"position=2"))

    # Change the stage of the second deal.
    panel.locator("select[name=stage]").select_option(Stage.NEGOTIATION)
    panel.locator("input[name=probability]").fill("80")
    panel.locator("#save-deal").click()
    expect(page.locator("#toast")).to_be_visible()
    expect(page.locator('#pipeline tr[data-stage="negotiation"] td').first).to_have_text("2")
    deal = Opportunity.objects.get(pk=deals[1].pk)
    assert (deal.stage, deal.probability) == (Stage.NEGOTIATION, 80)
    assert deal.history.order_by("-version").first().tag == f"review:{review.pk}"

    # Add a to-do on the third deal.
    page.locator("body").press("ArrowRight")
    expect(panel.locator(".deal-name")).to_have_text(deals[2].name)
    panel.locator("input[name=subject]").fill("Envoyer le contrat signé")
    panel.locator("select[name=assignee]").select_option(str(director.pk))
    panel.locator("input[name=due_date]").fill("2030-01-15")
    panel.locator("#add-todo").click()
    expect(panel.locator(".review-todos")).to_contain_text("Envoyer le contrat signé")

    # Set the commit, jumping to its section with the keyboard.
    page.locator("body").press("5")
    commit = page.locator("#commit")
    commit.locator("input[name=commit_amount]").fill("75000")
    commit.locator("textarea[name=commit_note]").fill("Deux affaires en négociation")
    commit.locator("#save-commit").click()
    expect(page.locator("#saved-commit")).to_contain_text("75")

    # Close and read the recap.
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("#close-review").click()
    expect(page).to_have_url(re.compile(rf"/reviews/{review.pk}/recap/"))
    expect(page.locator("#recap-commit")).to_contain_text("75")
    expect(page.locator(".recap-todos")).to_contain_text("Envoyer le contrat signé")
    expect(page.locator('.recap-by-stage tr[data-stage="negotiation"] td').first).to_have_text("2")
    expect(page.locator(".recap-deals")).to_contain_text(deals[1].name)

    review.refresh_from_db()
    assert review.status == ReviewStatus.CLOSED
    assert review.snapshot.data["commit"]["amount"] == "75000.00"
    assert {row.email for row in RecapEmail.objects.filter(review=review)} == {
        director.email,
        channel.email,
    }


def test_load_more_leads_then_walk_the_deals_with_the_keyboard(
    page, live_server, login, channel, partner_a, review_setup
):
    from pipeline_reviews.selectors.common import SECTION_PAGE_SIZE
    from tests.factories import LeadFactory

    review, deals, _director = review_setup
    leads = [
        LeadFactory(partner=partner_a, last_name=f"Piste {i:02}")
        for i in range(SECTION_PAGE_SIZE + 2)
    ]
    login(channel)
    page.goto(f"{live_server.url}/reviews/{review.pk}/")
    rows = page.locator("#leads tbody tr[id^=lead-]")
    expect(rows).to_have_count(SECTION_PAGE_SIZE)
    expect(page.locator("#lead-count")).to_have_text(f"({len(leads)})")

    page.locator("#leads-more a").click()
    expect(rows).to_have_count(len(leads))
    expect(page.locator("#leads-more")).to_have_count(0)

    # A loaded row is edited in place like the first ones.
    last = page.locator(f"#lead-{leads[-1].pk}")
    last.locator("textarea").fill("Visite sur site")
    last.locator("button[type=submit]").click()
    expect(page.locator("#toast")).to_be_visible()
    leads[-1].refresh_from_db()
    assert leads[-1].planned_actions == "Visite sur site"

    # The keyboard still walks the deals.
    page.locator("body").press("j")
    expect(page.locator("#deal-panel .deal-name")).to_have_text(deals[1].name)


def test_a_stale_deal_panel_is_refused_shows_the_deal_as_it_is_now_then_saves(
    page, live_server, login, channel, rep, review_setup
):
    review, deals, _director = review_setup
    login(channel)
    page.goto(f"{live_server.url}/reviews/{review.pk}/")
    panel = page.locator("#deal-panel")
    expect(panel.locator(".deal-name")).to_have_text(deals[0].name)

    # The rep changes the deal while the review screen is open.
    opportunity_update(
        opportunity=deals[0],
        by=rep,
        changes={"amount": Decimal("99000")},
        expected_version=deals[0].version,
    )
    panel.locator("input[name=next_step]").fill("Visite sur site")
    panel.locator("#save-deal").click()

    expect(page.locator("#toast")).to_have_class(re.compile("toast-error"))
    expect(page.locator("#toast")).to_contain_text("Quelqu'un d'autre a modifié")
    expect(panel.locator(".form-errors")).to_contain_text("Rien n'a été enregistré")
    expect(panel.locator("input[name=amount]")).to_have_value("99000.00")
    expect(panel.locator("input[name=version]")).to_have_value("2")
    deal = Opportunity.objects.get(pk=deals[0].pk)
    assert (deal.next_step, deal.version) == ("", 2)

    # Saving again from the same screen goes through on the version now shown.
    panel.locator("input[name=next_step]").fill("Visite sur site")
    panel.locator("#save-deal").click()

    expect(page.locator("#toast")).to_have_class(re.compile("toast-success"))
    expect(panel.locator("input[name=version]")).to_have_value("3")
    deal.refresh_from_db()
    assert (deal.next_step, deal.amount, deal.version) == ("Visite sur site", Decimal("99000"), 3)
