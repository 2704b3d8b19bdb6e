import datetime
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from opportunities.models import Opportunity
from partners.models import DealRegistration, RegistrationStatus
from tests import clock

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.dates,
    pytest.mark.time_machine(clock.NOW),
]


def test_partner_registers_channel_manager_accepts_partner_sees_the_deal(
    page, live_server, login, partner_a_user, channel, rep
):
    # The partner registers a deal.
    login(partner_a_user)
    page.goto(f"{live_server.url}/partners/registrations/new/")
    page.fill("input[name=company_name]", "Laiterie du Jura SA")
    page.fill("input[name=project_name]", "Froid industriel Laiterie du Jura")
    page.fill("input[name=contact_first_name]", "Yves")
    page.fill("input[name=contact_last_name]", "Chappuis")
    page.fill("input[name=contact_email]", "y.chappuis@laiterie-jura.ch")
    page.fill("textarea[name=need]", "Remplacer les groupes froids de la cave d'affinage")
    page.fill("input[name=estimated_amount]", "87000")
    close = timezone.localdate() + datetime.timedelta(days=60)
    page.fill("input[name=expected_close_date]", close.isoformat())
    page.click("form.registration-form button[type=submit]")
    expect(page).to_have_url(re.compile(r"/partners/registrations/\d+/$"))
    expect(page.locator("h1")).to_contain_text("Laiterie du Jura SA")
    expect(page.locator("h1 .badge")).to_have_text("Soumise")
    registration = DealRegistration.objects.get()

    # The channel manager accepts it from the queue.
    page.context.clear_cookies()
    login(channel)
    page.goto(f"{live_server.url}/partners/registrations/")
    page.click("text=Laiterie du Jura SA")
    page.select_option("#accept-form select[name=owner]", str(rep.pk))
    page.click("#accept-form button[type=submit]")
    expect(page.locator(".messages")).to_contain_text("Froid industriel Laiterie du Jura")
    expect(page.locator("h1 .badge").first).to_have_text("Acceptée")
    registration.refresh_from_db()
    assert registration.status == RegistrationStatus.ACCEPTED
    deal = Opportunity.objects.get()
    assert deal.partner == partner_a_user.partner and deal.owner == rep

    # The partner sees the deal in the portal and on the pipeline board.
    page.context.clear_cookies()
    login(partner_a_user)
    page.goto(f"{live_server.url}/partners/portal/")
    expect(page.locator("#deals")).to_contain_text("Froid industriel Laiterie du Jura")
    expect(page.locator("#registrations")).to_contain_text("Acceptée")
    page.goto(f"{live_server.url}/opportunities/pipeline/")
    expect(page.locator("main")).to_contain_text("Froid industriel Laiterie du Jura")
