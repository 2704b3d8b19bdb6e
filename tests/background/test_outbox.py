"""The outbox: written with the change, sent once, retried with back-off, visible to admins."""

import datetime

import pytest
import time_machine
from django.core import mail
from django.db import transaction
from django.urls import reverse

from climcrm import outbox
from climcrm.models import EmailStatus, OutgoingEmail
from tests import clock
from tests.mailbackends import FAILING, WORKING

pytestmark = [pytest.mark.django_db]

MINUTE = datetime.timedelta(minutes=1)


@pytest.fixture
def traveller():
    with time_machine.travel(clock.NOW, tick=False) as traveller:
        yield traveller


def _queue(**values) -> OutgoingEmail:
    return outbox.email_queue(
        **{"to": "anne@example.ch", "subject": "Bonjour", "text": "Corps", "kind": "test"} | values
    )


def _deliver(row) -> str:
    return outbox.deliver(OutgoingEmail, row.pk)


class TestWrittenWithTheChange:
    def test_it_leaves_once_the_transaction_commits(self, django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
            row = _queue()
            assert mail.outbox == []
        assert [m.to for m in mail.outbox] == [["anne@example.ch"]]
        row.refresh_from_db()
        assert (row.status, row.attempts) == (EmailStatus.SENT, 1)
        assert mail.outbox[0].extra_headers["X-ClimCRM-Outbox"] == f"climcrm.outgoingemail:{row.pk}"

    def test_a_change_rolled_back_sends_nothing(self, django_capture_on_commit_callbacks):
        with (
            django_capture_on_commit_callbacks(execute=True) as callbacks,
            pytest.raises(RuntimeError),
            transaction.atomic(),
        ):
            _queue()
            raise RuntimeError("the change fails after writing its email")
        assert callbacks == []
        assert not OutgoingEmail.objects.exists()
        assert mail.outbox == []

    def test_the_same_key_is_written_once(self):
        assert _queue(key="reminder:1") is not None
        assert _queue(key="reminder:1") is None
        assert OutgoingEmail.objects.filter(key="reminder:1").count() == 1


class TestSentOnce:
    def test_a_second_delivery_sends_nothing(self):
        row = _queue(send_after_commit=False)
        assert [_deliver(row), _deliver(row)] == ["sent", "skipped"]
        assert len(mail.outbox) == 1

    def test_an_email_another_worker_is_sending_is_left_to_it(self, traveller):
        row = _queue(send_after_commit=False)
        OutgoingEmail.objects.filter(pk=row.pk).update(
            status=EmailStatus.SENDING, claimed_at=clock.NOW
        )
        assert _deliver(row) == "skipped"
        assert outbox.sweep()["released"] == 0
        assert mail.outbox == []

    def test_a_claim_lost_with_its_worker_is_given_back_and_sent(self, traveller):
        row = _queue(send_after_commit=False)
        OutgoingEmail.objects.filter(pk=row.pk).update(
            status=EmailStatus.SENDING, claimed_at=clock.NOW, attempts=1
        )
        traveller.shift(outbox.CLAIM_TIMEOUT + MINUTE)
        assert outbox.sweep() == {"sent": 1, "failed": 0, "released": 1}
        assert len(mail.outbox) == 1


class TestRetries:
    def test_failures_wait_longer_and_longer_then_every_hour(self, settings, traveller):
        settings.MAILERS = FAILING
        row = _queue(send_after_commit=False)
        waits = []
        for _attempt in range(9):
            failed_at = datetime.datetime.now(datetime.UTC)
            assert _deliver(row) == "retry"
            row.refresh_from_db()
            waits.append((row.next_attempt_at - failed_at) / MINUTE)
            assert _deliver(row) == "skipped"  # not due yet
            traveller.move_to(row.next_attempt_at)
        assert waits == [1, 2, 4, 8, 16, 32, 60, 60, 60]
        assert row.attempts == 9 and "Connection unexpectedly closed" in row.last_error
        assert mail.outbox == []

    def test_after_the_last_attempt_it_is_failed_until_an_admin_retries(
        self, settings, traveller, client_for, admin_user, django_capture_on_commit_callbacks
    ):
        settings.MAILERS = FAILING
        settings.CRM_EMAIL_MAX_ATTEMPTS = 3
        row = _queue(send_after_commit=False)
        outcomes = []
        for _attempt in range(3):
            outcomes.append(_deliver(row))
            traveller.shift(outbox.LONGEST_RETRY)
        assert outcomes == ["retry", "retry", "failed"]
        assert outbox.sweep()["sent"] == 0
        row.refresh_from_db()
        assert row.status == EmailStatus.FAILED

        settings.MAILERS = WORKING
        with django_capture_on_commit_callbacks(execute=True):
            response = client_for(admin_user).post(
                reverse("admin:climcrm_outgoingemail_changelist"),
                {"action": "retry_now", "_selected_action": [row.pk]},
            )
        assert response.status_code == 302
        row.refresh_from_db()
        assert (row.status, len(mail.outbox)) == (EmailStatus.SENT, 1)

    def test_a_sweep_stops_at_the_first_failure(self, settings, traveller):
        settings.MAILERS = FAILING
        rows = [_queue(send_after_commit=False, to=f"p{n}@example.ch") for n in range(3)]
        assert outbox.sweep() == {"sent": 0, "failed": 1, "released": 0}
        attempts = sorted(OutgoingEmail.objects.values_list("attempts", flat=True))
        assert attempts == [0, 0, 1]
        settings.MAILERS = WORKING
        assert outbox.sweep()["sent"] == 2
        traveller.shift(MINUTE)
        assert outbox.sweep()["sent"] == 1
        assert sorted(m.to[0] for m in mail.outbox) == sorted(r.email for r in rows)


class TestVisibleToAdmins:
    def test_the_outbox_recaps_periodic_runs_and_task_runs_are_listed(self, client_for, admin_user):
        _queue(send_after_commit=False)
        client = client_for(admin_user)
        for name in (
            "admin:climcrm_outgoingemail_changelist",
            "admin:pipeline_reviews_recapemail_changelist",
            "admin:climcrm_scheduledrun_changelist",
            "admin:django_tasks_database_dbtaskresult_changelist",
        ):
            assert client.get(reverse(name)).status_code == 200, name

    def test_a_password_reset_link_is_not_shown(self, client_for, admin_user):
        row = _queue(text="https://crm.example.ch/password/reset/secret/", sensitive=True)
        page = client_for(admin_user).get(
            reverse("admin:climcrm_outgoingemail_change", args=[row.pk])
        )
        assert page.status_code == 200
        assert "secret" not in page.content.decode()
