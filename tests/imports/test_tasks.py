"""The import's background work: chained chunks, and imports resumed after their worker died."""

import datetime

import pytest
from django.utils import timezone

from accounts.models import Account
from imports import tasks
from imports.models import ImportKind, PipelineImport
from tests import clock

pytestmark = [pytest.mark.dates, pytest.mark.time_machine(clock.NOW)]


def _job(manager, status) -> PipelineImport:
    job = PipelineImport.objects.create(
        created_by=manager,
        kind=ImportKind.ACCOUNTS,
        status=status,
        filename="comptes.csv",
        encoding="utf-8",
        delimiter=";",
        content="Nom;Ville\nRégie du Lac SA;Morges\nImmo Nord Sàrl;Yverdon\n",
        header=["Nom", "Ville"],
        mapping={"0": "name", "1": "city"},
        rejected_content="Ligne;Nom;Ville;Motifs\r\n",
    )
    PipelineImport.objects.filter(pk=job.pk).update(
        updated_at=timezone.now() - datetime.timedelta(minutes=10)
    )
    return job


def test_stalled_imports_and_dry_runs_are_taken_up_again(manager):
    importing = _job(manager, PipelineImport.Status.IMPORTING)
    checking = _job(manager, PipelineImport.Status.CHECKING)
    fresh = _job(manager, PipelineImport.Status.IMPORTING)
    PipelineImport.objects.filter(pk=fresh.pk).update(updated_at=timezone.now())

    resumed = tasks.resume_stalled_imports.call()

    assert sorted(resumed) == sorted([importing.pk, checking.pk])
    importing.refresh_from_db()
    checking.refresh_from_db()
    fresh.refresh_from_db()
    assert (importing.status, importing.created_rows) == ("done", 2)
    assert checking.status == "checked"
    assert checking.dry_run["new"] + checking.dry_run["existing"] == 2
    assert fresh.status == "importing"
    assert Account.objects.count() == 2


def test_a_task_for_an_import_not_confirmed_does_nothing(manager):
    job = _job(manager, PipelineImport.Status.CHECKED)
    assert tasks.run_import.call(job.pk) == {"status": "nothing to do"}
    assert not Account.objects.exists()
