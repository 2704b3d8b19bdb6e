import datetime
import re
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from partners import services
from partners.models import ConflictDecision, RegistrationStatus
from tests import clock

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.dates,
    pytest.mark.time_machine(clock.NOW),
]


def _register(user, *, minutes_ago, **values):
    return services.registration_submit(
        by=user,
        at=timezone.now() - datetime.timedelta(minutes=minutes_ago),
        company_name=values.pop("company_name", "Hôtel du Lac SA"),
        contact_first_name="Léa",
        contact_last_name=values.pop("contact_last_name", "Müller"),
        contact_email=values.pop("contact_email", "lea@hoteldulac.ch"),
        need=values.pop("need", "Climatisation des chambres"),
        estimated_amount=Decimal("120000"),
        expected_close_date=clock.period_end(),
        site_address="Rue du Lac 12, 1800 Vevey",
        **values,
    )


def test_channel_manager_decides_a_conflict_and_the_refused_partner_appeals(
    page, live_server, login, partner_a_user, partner_b_user, channel, rep
):
    first = _register(
        partner_a_user, minutes_ago=90, contact_last_name="Zéphyrin", need="Besoin secret XQW"
    )
    second = _register(partner_b_user, minutes_ago=30, company_name="HOTEL DU LAC S.A.")

    # The channel manager finds the two claims grouped, compares them and picks the first.
    login(channel)
    page.goto(f"{live_server.url}/partners/registrations/conflicts/")
    group = page.locator("section.conflict-group")
    expect(group).to_have_count(1)
    expect(group).to_contain_text("Alpha Solutions SA")
    expect(group).to_contain_text("Beta Systèmes Sàrl")
    group.get_by_role("button", name="Comparer et décider").click()
    expect(page.locator("#comparison")).to_contain_text("Besoin secret XQW")
    page.check(f"#conflict-form input[name=winner][value='{first.pk}']")
    page.select_option("#conflict-form select[name=owner]", str(rep.pk))
    page.fill(
        "#conflict-form textarea[name=reason]", "Déclarée une heure plus tôt, projet détaillé"
    )
    page.click("#conflict-form button[type=submit]")
    expect(page).to_have_url(re.compile(r"/partners/registrations/conflicts/$"))
    expect(page.locator(".messages")).to_contain_text("Conflit tranché")
    expect(page.locator("#results")).to_contain_text("Aucun conflit entre partenaires")
    decision = ConflictDecision.objects.get()
    assert decision.winner_id == first.pk and decision.decided_by == channel
    second.refresh_from_db()
    assert second.status == RegistrationStatus.REJECTED

    # The refused partner reads why, without the other partner, and appeals once.
    page.context.clear_cookies()
    login(partner_b_user)
    page.goto(f"{live_server.url}/partners/registrations/{second.pk}/")
    expect(page.locator("h1 .badge").first).to_have_text("Refusée")
    expect(page.locator("#conflict-outcome")).to_contain_text(
        "Un autre partenaire a déclaré ce client en premier."
    )
    main = page.locator("main")
    for secret in ("Alpha Solutions", "Zéphyrin", "Besoin secret XQW"):
        expect(main).not_to_contain_text(secret)
    page.fill(
        "#appeal-form textarea[name=appeal]", "Le client nous a mandatés par écrit le 2 mars."
    )
    page.click("#appeal-form button[type=submit]")
    expect(page.locator(".messages")).to_contain_text("Votre recours a été envoyé")
    expect(page.locator("h1")).to_contain_text("Recours")
    expect(page.locator("#appeal-form")).to_have_count(0)

    # Back in the channel manager's queue, marked as an appeal.
    page.context.clear_cookies()
    login(channel)
    page.goto(f"{live_server.url}/partners/registrations/conflicts/")
    group = page.locator("section.conflict-group")
    expect(group).to_have_count(1)
    expect(group.locator("h2")).to_contain_text("Recours")
    expect(group).to_contain_text("Beta Systèmes Sàrl")
    expect(group).to_contain_text("Protégée jusqu'au")
