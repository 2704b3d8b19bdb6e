"""The real queue: tasks written to the database and run by ``manage.py worker``.

The worker runs in this process against the test database (``--batch``: what is due and
waiting, then it stops), with the tests' commits real.
"""

import datetime
import io

import pytest
import time_machine
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse
from django_tasks_db.models import DBTaskResult

from climcrm.models import EmailStatus, OutgoingEmail, ScheduledRun
from leads import importing
from leads.models import ImportJob, Lead
from tests import clock
from tests.factories.partners import DealRegistrationFactory
from tests.mailbackends import FAILING, WORKING

pytestmark = [pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def database_queue(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


@pytest.fixture
def traveller():
    with time_machine.travel(clock.NOW, tick=False) as traveller:
        yield traveller


def run_worker(*options: str) -> None:
    call_command("worker", "--batch", "--no-reload", *options, stdout=io.StringIO())


def reject(client, registration):
    return client.post(
        reverse("partners:registration-reject", args=[registration.pk]),
        {"reject-reason": "Hors de la zone du partenaire"},
    )


def test_a_queued_email_waits_for_the_worker_which_sends_it_once(
    client_for, channel, partner_a, partner_a_user
):
    registration = DealRegistrationFactory(partner=partner_a, registered_by=partner_a_user)
    assert reject(client_for(channel), registration).status_code == 302
    assert mail.outbox == []
    task = DBTaskResult.objects.get()
    assert (task.task_path, task.status) == ("climcrm.outbox.send_email", "READY")

    run_worker("--no-scheduler")
    run_worker("--no-scheduler")
    assert [m.to for m in mail.outbox] == [[partner_a_user.email]]
    task.refresh_from_db()
    assert task.status == "SUCCESSFUL"
    assert OutgoingEmail.objects.get().status == EmailStatus.SENT


def test_a_failed_email_is_retried_by_a_deferred_task_once_its_back_off_is_over(
    client_for, channel, partner_a, partner_a_user, settings, traveller
):
    registration = DealRegistrationFactory(partner=partner_a, registered_by=partner_a_user)
    settings.MAILERS = FAILING
    reject(client_for(channel), registration)
    run_worker("--no-scheduler")
    row = OutgoingEmail.objects.get()
    assert (row.status, row.attempts) == (EmailStatus.PENDING, 1)
    retry = DBTaskResult.objects.get(status="READY")
    assert retry.run_after == row.next_attempt_at == clock.NOW + datetime.timedelta(minutes=1)

    settings.MAILERS = WORKING
    run_worker("--no-scheduler")  # not due yet
    assert mail.outbox == []
    traveller.shift(datetime.timedelta(minutes=1))
    run_worker("--no-scheduler")
    run_worker()
    assert [m.to for m in mail.outbox] == [[partner_a_user.email]]
    row.refresh_from_db()
    assert (row.status, row.attempts) == (EmailStatus.SENT, 2)


def test_a_confirmed_import_completes_with_nobody_watching(client_for, rep, monkeypatch):
    monkeypatch.setattr(importing, "CHUNK_ROWS", 3)
    client = client_for(rep)
    lines = ["Prénom;Nom;E-mail"] + [f"Anne;Nom{i};anne{i}@exemple.ch" for i in range(10)]
    upload = SimpleUploadedFile("leads.csv", "\r\n".join(lines).encode(), "text/csv")
    client.post(reverse("leads:import"), {"file": upload})
    job = ImportJob.objects.get()
    client.get(reverse("leads:import-preview", args=[job.pk]))
    client.post(reverse("leads:import-confirm", args=[job.pk]), headers={"HX-Request": "true"})
    # The browser is closed now: nothing asks for the progress any more.
    job.refresh_from_db()
    assert (job.status, Lead.objects.count()) == ("importing", 0)

    run_worker("--no-scheduler")
    job.refresh_from_db()
    assert (job.status, job.processed_rows, job.imported_rows) == ("done", 10, 10)
    assert Lead.objects.count() == 10
    chunks = DBTaskResult.objects.filter(task_path="leads.importing.import_leads")
    assert chunks.count() == 4 and {t.status for t in chunks} == {"SUCCESSFUL"}


def test_an_import_whose_worker_died_is_resumed_without_importing_twice(
    client_for, rep, monkeypatch, traveller
):
    monkeypatch.setattr(importing, "CHUNK_ROWS", 3)
    client = client_for(rep)
    lines = ["Prénom;Nom;E-mail"] + [f"Anne;Nom{i};anne{i}@exemple.ch" for i in range(7)]
    upload = SimpleUploadedFile("leads.csv", "\r\n".join(lines).encode(), "text/csv")
    client.post(reverse("leads:import"), {"file": upload})
    job = ImportJob.objects.get()
    client.get(reverse("leads:import-preview", args=[job.pk]))
    client.post(reverse("leads:import-confirm", args=[job.pk]))
    # The worker took the first chunk and died before queueing the next one.
    from leads.importing import import_leads

    DBTaskResult.objects.all().delete()
    importing.import_step(job=job, by=rep)
    traveller.shift(datetime.timedelta(minutes=10))
    run_worker()
    job.refresh_from_db()
    assert (job.status, job.imported_rows) == ("done", 7)
    assert Lead.objects.count() == 7
    assert import_leads.module_path in set(DBTaskResult.objects.values_list("task_path", flat=True))


def test_two_workers_start_each_periodic_job_once(traveller):
    run_worker()
    first = set(ScheduledRun.objects.values_list("job", "occurrence"))
    assert "climcrm.tasks.sweep_outbox" in {job for job, _ in first}
    run_worker()  # a second worker at the same moment
    assert set(ScheduledRun.objects.values_list("job", "occurrence")) == first
    assert DBTaskResult.objects.count() == len(first)
    assert set(DBTaskResult.objects.values_list("status", flat=True)) == {"SUCCESSFUL"}
