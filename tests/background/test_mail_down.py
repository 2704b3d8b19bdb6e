"""With the mail server down, every page answers normally and each email waits in the
outbox; once the server is back, each email leaves exactly once.

The requests run with real commits (``transaction=True``) so that what happens after the
commit happens inside the request, as in production.
"""

import datetime

import pytest
import time_machine
from django.core import mail
from django.urls import reverse

from climcrm import outbox
from climcrm.models import EmailStatus, OutgoingEmail
from pipeline_reviews import services as reviews
from pipeline_reviews.models import RecapEmail, ReviewKind
from tests import clock
from tests.factories import UserFactory
from tests.factories.partners import DealRegistrationFactory
from tests.mailbackends import FAILING, WORKING

pytestmark = [pytest.mark.django_db(transaction=True)]


@pytest.fixture
def clock_at_now():
    with time_machine.travel(clock.NOW, tick=False) as traveller:
        yield traveller


def _mail_back_and_sweep(settings, traveller) -> None:
    settings.MAILERS = WORKING
    traveller.shift(outbox.LONGEST_RETRY)
    outbox.sweep()


def test_rejecting_a_registration_answers_and_the_email_leaves_once_mail_is_back(
    client_for, channel, partner_a, partner_a_user, settings, clock_at_now
):
    registration = DealRegistrationFactory(partner=partner_a, registered_by=partner_a_user)
    settings.MAILERS = FAILING
    response = client_for(channel).post(
        reverse("partners:registration-reject", args=[registration.pk]),
        {"reject-reason": "Projet déjà suivi par un autre intégrateur"},
    )
    assert response.status_code == 302
    registration.refresh_from_db()
    assert registration.status == "rejected"
    row = OutgoingEmail.objects.get(kind="registration_decision")
    assert (row.status, row.attempts, row.email) == (EmailStatus.PENDING, 1, partner_a_user.email)
    assert "Connection unexpectedly closed" in row.last_error
    assert mail.outbox == []

    _mail_back_and_sweep(settings, clock_at_now)
    (message,) = mail.outbox
    assert message.to == [partner_a_user.email]
    assert "Projet déjà suivi" in message.body
    outbox.sweep()
    clock_at_now.shift(datetime.timedelta(hours=2))
    outbox.sweep()
    assert len(mail.outbox) == 1
    row.refresh_from_db()
    assert (row.status, row.attempts) == (EmailStatus.SENT, 2)


def test_asking_for_a_password_reset_answers_and_the_link_leaves_once_mail_is_back(
    client, rep, settings, clock_at_now
):
    settings.MAILERS = FAILING
    response = client.post(reverse("password_reset"), {"email": rep.email})
    assert (response.status_code, response["Location"]) == (302, reverse("password_reset_done"))
    assert client.get(response["Location"]).status_code == 200
    row = OutgoingEmail.objects.get(kind="password_reset")
    assert row.status == EmailStatus.PENDING and "/password/reset/" in row.text_body

    _mail_back_and_sweep(settings, clock_at_now)
    outbox.sweep()
    (message,) = mail.outbox
    assert message.to == [rep.email] and "/password/reset/" in message.body
    row.refresh_from_db()
    # The link opens the account: it is not kept once sent.
    assert (row.status, row.text_body) == (EmailStatus.SENT, "")


def test_closing_a_review_answers_and_each_recap_leaves_once_mail_is_back(
    client_for, channel, partner_a, partner_a_user, settings, clock_at_now
):
    director = UserFactory(
        username="director_a", roles=["partner_user"], partner=partner_a,
        partner_title="sales_director",
    )  # fmt: skip
    review = reviews.review_create(
        by=channel,
        kind=ReviewKind.MONTHLY_PARTNER,
        partner=partner_a,
        period=clock.today().replace(day=1),
    )
    settings.MAILERS = FAILING
    response = client_for(channel).post(reverse("pipeline_reviews:close", args=[review.pk]))
    assert response.status_code == 302
    recaps = RecapEmail.objects.filter(review=review)
    assert {r.email for r in recaps} == {partner_a_user.email, director.email, channel.email}
    assert {r.status for r in recaps} == {EmailStatus.PENDING}
    assert mail.outbox == []

    _mail_back_and_sweep(settings, clock_at_now)
    outbox.sweep()
    assert sorted(m.to[0] for m in mail.outbox) == sorted(r.email for r in recaps)
    assert {r.status for r in RecapEmail.objects.filter(review=review)} == {EmailStatus.SENT}
