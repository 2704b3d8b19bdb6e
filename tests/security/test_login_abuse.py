"""Lockout after repeated failures, password rules, session expiry, logout everywhere."""

import datetime

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from climcrm.models import AuditEntry
from tests import clock

pytestmark = [pytest.mark.django_db, pytest.mark.time_machine(clock.NOW)]
PASSWORD = "climcrm-demo"


def log_in(client, username, password=PASSWORD, ip="10.0.0.1"):
    return client.post(
        reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=ip
    )


class TestLockout:
    def test_failures_below_the_limit_only_show_the_form_error(self, client, rep):
        for _ in range(settings.AXES_FAILURE_LIMIT - 1):
            response = log_in(client, "rep", "wrong")
            assert response.status_code == 200
            assert "form-errors" in response.text
        assert log_in(client, "rep").status_code == 302

    def test_the_limit_locks_the_account_even_with_the_right_password(self, client, rep):
        for _ in range(settings.AXES_FAILURE_LIMIT):
            log_in(client, "rep", "wrong")
        response = log_in(client, "rep")
        assert response.status_code == 429
        assert "Trop de tentatives" in response.text
        assert settings.SESSION_COOKIE_NAME not in response.cookies
        assert not Session.objects.exists()
        assert AccessAttempt.objects.get(username="rep").failures_since_start >= (
            settings.AXES_FAILURE_LIMIT
        )

    def test_the_locked_out_page_is_translated(self, client, rep):
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
        for _ in range(settings.AXES_FAILURE_LIMIT + 1):
            response = log_in(client, "rep", "wrong")
        assert response.status_code == 429
        assert "Too many failed attempts" in response.text
        assert 'href="/login/"' in response.text

    def test_the_lockout_is_per_username_and_address(self, client, rep, other_rep):
        for _ in range(settings.AXES_FAILURE_LIMIT):
            log_in(client, "rep", "wrong")
        # Another user from the same address, and the same user from elsewhere, still log in.
        assert log_in(Client(), "rep2").status_code == 302
        assert log_in(Client(), "rep", ip="10.9.9.9").status_code == 302

    def test_failed_attempts_are_in_the_audit_log(self, client, rep):
        log_in(client, "rep", "wrong")
        entry = AuditEntry.objects.get(action=AuditEntry.Action.LOGIN_FAILED)
        assert entry.detail == "rep"
        assert entry.ip_address == "10.0.0.1"

    def test_a_success_resets_the_counter(self, client, rep):
        for _ in range(settings.AXES_FAILURE_LIMIT - 1):
            log_in(client, "rep", "wrong")
        assert log_in(client, "rep").status_code == 302
        client.post(reverse("logout"))
        for _ in range(settings.AXES_FAILURE_LIMIT - 1):
            log_in(client, "rep", "wrong")
        assert log_in(client, "rep").status_code == 302


class TestPasswordRules:
    @pytest.mark.parametrize(
        "weak",
        ["password", "12345678", "rep", "azerty", "short1", "98765432109876"],
    )
    def test_a_weak_password_is_refused(self, client_for, rep, weak):
        client = client_for(rep)
        response = client.post(
            reverse("password_change"),
            {"old_password": PASSWORD, "new_password1": weak, "new_password2": weak},
        )
        assert response.status_code == 200
        assert "field-error" in response.text
        rep.refresh_from_db()
        assert rep.check_password(PASSWORD)
        assert not AuditEntry.objects.filter(action=AuditEntry.Action.PASSWORD_CHANGE).exists()

    def test_a_password_like_the_username_is_refused(self, client_for, rep):
        rep.username = "heloise.marchand"
        rep.save()
        response = client_for(rep).post(
            reverse("password_change"),
            {
                "old_password": PASSWORD,
                "new_password1": "Heloise.Marchand",
                "new_password2": "Heloise.Marchand",
            },
        )
        assert response.status_code == 200
        rep.refresh_from_db()
        assert rep.check_password(PASSWORD)

    def test_the_wrong_old_password_is_refused(self, client_for, rep):
        response = client_for(rep).post(
            reverse("password_change"),
            {
                "old_password": "nope",
                "new_password1": "Glacier-Tram-47-Rhone",
                "new_password2": "Glacier-Tram-47-Rhone",
            },
        )
        assert response.status_code == 200
        rep.refresh_from_db()
        assert rep.check_password(PASSWORD)


class TestSessions:
    def test_the_session_lasts_session_cookie_age(self, client, rep):
        log_in(client, "rep")
        session = Session.objects.get()
        lifetime = session.expire_date - timezone.now()
        assert abs(lifetime.total_seconds() - settings.SESSION_COOKIE_AGE) < 60
        assert settings.SESSION_COOKIE_AGE <= 12 * 3600

    def test_an_expired_session_sends_back_to_login(self, client, rep):
        log_in(client, "rep")
        assert client.get(reverse("dashboard")).status_code == 200
        Session.objects.update(expire_date=timezone.now() - datetime.timedelta(seconds=1))
        response = client.get(reverse("dashboard"))
        assert response.status_code == 302
        assert response.url.startswith(reverse("login"))

    def test_logout_ends_the_session_on_the_server(self, client, rep):
        log_in(client, "rep")
        cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
        client.post(reverse("logout"))
        assert not Session.objects.filter(session_key=cookie).exists()
        stolen = Client()
        stolen.cookies[settings.SESSION_COOKIE_NAME] = cookie
        assert stolen.get(reverse("dashboard")).status_code == 302

    def test_a_password_change_logs_out_every_other_session(self, rep):
        laptop, phone = Client(), Client()
        assert log_in(laptop, "rep").status_code == 302
        assert log_in(phone, "rep").status_code == 302
        assert phone.get(reverse("dashboard")).status_code == 200
        new = "Glacier-Tram-47-Rhone"
        response = laptop.post(
            reverse("password_change"),
            {"old_password": PASSWORD, "new_password1": new, "new_password2": new},
        )
        assert response.status_code == 302
        assert laptop.get(reverse("dashboard")).status_code == 200
        response = phone.get(reverse("dashboard"))
        assert response.status_code == 302 and response.url.startswith(reverse("login"))
        assert AuditEntry.objects.filter(
            action=AuditEntry.Action.PASSWORD_CHANGE, user=rep
        ).exists()
        # The old password no longer opens a session, the new one does.
        assert log_in(Client(), "rep").status_code == 200
        assert log_in(Client(), "rep", new).status_code == 302

    def test_the_session_id_changes_at_login(self, client, rep):
        client.get(reverse("login"))
        client.session.save()
        before = client.session.session_key
        log_in(client, "rep")
        assert client.session.session_key != before
