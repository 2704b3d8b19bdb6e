"""Password reset by email: the whole way, no account enumeration, rate limits, bad links."""

import datetime
import re

import pytest
import time_machine
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from climcrm.models import AuditEntry, OutgoingEmail, RateLimitHit
from tests.factories import UserFactory
from tests.mailbackends import FAILING

pytestmark = pytest.mark.django_db

RESET = reverse("password_reset")
SENT = reverse("password_reset_done")
NEW_PASSWORD = "Gletscher-Ventil-42"
LINK = re.compile(r"(https?://\S+/password/reset/\S+/\S+/)")
NOW = datetime.datetime(2026, 3, 10, 9, 0, tzinfo=datetime.UTC)


@pytest.fixture(autouse=True)
def fixed_clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def crm_base_url(settings):
    settings.CRM_BASE_URL = "https://crm.example.ch"
    return settings.CRM_BASE_URL


def ask(client, email, ip="10.0.0.1"):
    return client.post(RESET, {"email": email}, REMOTE_ADDR=ip)


def link_in(message) -> str:
    return LINK.search(message.body).group(1)


def page_text(response) -> str:
    """The page without what differs on every answer (the CSRF token)."""
    return re.sub(r'"X-CSRFToken": "[^"]*"', "", response.content.decode())


def log_in(password: str, username: str = "rep"):
    return Client().post(reverse("login"), {"username": username, "password": password})


def choose_new_password(client, link: str, password: str = NEW_PASSWORD):
    path = link.split("://", 1)[1].split("/", 1)[1]
    response = client.get("/" + path)
    assert response.status_code == 302  # the token moves from the URL into the session
    form_url = response["Location"]
    assert client.get(form_url).context["validlink"]
    return client.post(form_url, {"new_password1": password, "new_password2": password})


class TestTheWholeWay:
    def test_the_login_page_links_to_it(self, client):
        assert f'href="{RESET}"' in client.get(reverse("login")).content.decode()

    def test_request_email_link_new_password_login(self, client, rep, crm_base_url):
        response = ask(client, rep.email)
        assert (response.status_code, response["Location"]) == (302, SENT)
        assert len(mail.outbox) == 1
        message = mail.outbox[0]
        assert message.to == [rep.email]
        link = link_in(message)
        assert link.startswith(crm_base_url + "/password/reset/")
        assert rep.username in message.body

        done = choose_new_password(client, link)
        assert (done.status_code, done["Location"]) == (302, reverse("password_reset_complete"))
        assert log_in(NEW_PASSWORD).status_code == 302
        assert log_in("climcrm-demo").status_code == 200  # the old one is gone
        entry = AuditEntry.objects.get(action=AuditEntry.Action.PASSWORD_RESET)
        assert (entry.user, entry.ip_address) == (rep, "127.0.0.1")

    def test_the_link_works_once(self, client, rep):
        ask(client, rep.email)
        link = link_in(mail.outbox[0])
        choose_new_password(client, link)
        path = "/" + link.split("://", 1)[1].split("/", 1)[1]
        response = Client().get(path)
        assert response.status_code == 200
        assert not response.context["validlink"]
        assert reverse("password_reset") in response.content.decode()

    def test_an_expired_link_opens_nothing(self, client, rep, fixed_clock):
        ask(client, rep.email)
        link = link_in(mail.outbox[0])
        fixed_clock.shift(datetime.timedelta(seconds=settings.PASSWORD_RESET_TIMEOUT + 60))
        path = "/" + link.split("://", 1)[1].split("/", 1)[1]
        assert not Client().get(path).context["validlink"]

    def test_a_made_up_token_opens_nothing_and_changes_nothing(self, client, rep):
        uid = urlsafe_base64_encode(force_bytes(rep.pk))
        for token in ("abc-123", "set-password"):
            url = reverse("password_reset_confirm", args=[uid, token])
            response = client.get(url)
            assert response.status_code == 200 and not response.context["validlink"]
            client.post(url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
        assert log_in("climcrm-demo").status_code == 302

    def test_the_email_speaks_the_users_language_not_the_pages(self, rep, other_rep):
        other_rep.language = "en"
        other_rep.save()
        client = Client()
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
        ask(client, rep.email)
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = "fr"
        ask(client, other_rep.email)
        french, english = mail.outbox
        assert "mot de passe" in french.subject and "Bonjour" in french.body
        assert "password" in english.subject and "Hello" in english.body

    def test_a_partner_user_resets_theirs(self, client, partner_a_user):
        ask(client, partner_a_user.email.upper())
        assert mail.outbox[0].to == [partner_a_user.email]
        choose_new_password(client, link_in(mail.outbox[0]))
        assert log_in(NEW_PASSWORD, partner_a_user.username).status_code == 302

    def test_a_reset_lifts_the_lockout_of_failed_logins(self, client, rep):
        for _ in range(settings.AXES_FAILURE_LIMIT):
            log_in("wrong")
        assert log_in("climcrm-demo").status_code == 429
        ask(client, rep.email)
        choose_new_password(client, link_in(mail.outbox[0]))
        assert log_in(NEW_PASSWORD).status_code == 302


class TestNoAccountEnumeration:
    def test_an_unknown_address_gets_the_same_answer_and_no_email(self, rep):
        known, unknown = Client(), Client()
        answers = [ask(known, rep.email), ask(unknown, "personne@example.ch")]
        assert [(a.status_code, a["Location"]) for a in answers] == [(302, SENT)] * 2
        pages = [known.get(SENT), unknown.get(SENT)]
        assert page_text(pages[0]) == page_text(pages[1])
        assert [m.to for m in mail.outbox] == [[rep.email]]

    @pytest.mark.parametrize("state", ["inactive", "without a usable password"])
    def test_inactive_users_get_nothing(self, client, state):
        user = UserFactory(username="left", roles=["sales_rep"])
        if state == "inactive":
            user.is_active = False
        else:
            user.set_unusable_password()
        user.save()
        response = ask(client, user.email)
        assert (response.status_code, response["Location"]) == (302, SENT)
        assert mail.outbox == []

    def test_a_link_sent_before_the_account_was_closed_opens_nothing(self, client, rep):
        ask(client, rep.email)
        get_user_model().objects.filter(pk=rep.pk).update(is_active=False)
        path = "/" + link_in(mail.outbox[0]).split("://", 1)[1].split("/", 1)[1]
        assert not client.get(path).context["validlink"]

    def test_the_answer_only_queues_the_address_known_or_not(self, rep, settings):
        """The page looks nobody up: a worker does, after the answer has left."""
        settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
        from django.tasks import default_task_backend

        from climcrm.tasks import send_password_reset

        for email in (rep.email, "personne@example.ch"):
            response = ask(Client(), email)
            assert (response.status_code, response["Location"]) == (302, SENT)
        assert mail.outbox == [] and not OutgoingEmail.objects.exists()
        queued = default_task_backend.results
        assert [(r.task.name, r.args) for r in queued] == [
            ("send_password_reset", [rep.email]),
            ("send_password_reset", ["personne@example.ch"]),
        ]
        assert [send_password_reset.call(*r.args) for r in queued] == [1, 0]
        assert [m.to for m in mail.outbox] == [[rep.email]]

    def test_a_mail_server_down_is_no_error_page(self, client, rep, settings):
        settings.MAILERS = FAILING
        response = ask(client, rep.email)
        assert (response.status_code, response["Location"]) == (302, SENT)
        assert client.get(SENT).status_code == 200
        waiting = OutgoingEmail.objects.get(recipient=rep)
        assert (
            waiting.status == "pending" and "Connection unexpectedly closed" in waiting.last_error
        )


class TestRateLimits:
    @pytest.fixture(autouse=True)
    def small_limits(self, settings):
        settings.CRM_PASSWORD_RESET_RATE_IP = "4/h"
        settings.CRM_PASSWORD_RESET_RATE_EMAIL = "2/h"

    def test_one_address_is_limited_known_or_not(self, client, rep, fixed_clock):
        for email in (rep.email, "personne@example.ch"):
            statuses = [ask(client, email, ip=f"10.0.0.{n}").status_code for n in range(3)]
            assert statuses == [302, 302, 429]
        assert len(mail.outbox) == 2
        # An hour later the address may ask again.
        fixed_clock.shift(datetime.timedelta(hours=1, seconds=1))
        assert ask(client, rep.email, ip="10.0.0.9").status_code == 302
        assert len(mail.outbox) == 3

    def test_one_ip_address_is_limited_whatever_it_asks_for(self, client, rep):
        for n in range(4):
            assert ask(client, f"quelquun{n}@example.ch").status_code == 302
        response = ask(client, rep.email)
        assert response.status_code == 429
        assert "Trop de demandes" in response.content.decode()
        assert mail.outbox == []
        # Another address is not held back by this one.
        assert ask(client, rep.email, ip="10.0.0.2").status_code == 302

    def test_the_counts_keep_no_address_in_clear(self, client, rep):
        ask(client, rep.email)
        keys = " ".join(RateLimitHit.objects.values_list("key", flat=True))
        assert rep.email not in keys and "10.0.0.1" not in keys
        assert RateLimitHit.objects.count() == 2
