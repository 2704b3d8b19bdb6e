"""Periodic jobs without a host cron: each occurrence starts once, at the installation's
time, and a missed one starts when a worker comes back."""

import datetime
import zoneinfo

import pytest
import time_machine
from django.core import mail
from django.tasks import task

from climcrm import scheduling
from climcrm.models import ScheduledRun
from forecasting.models import ForecastSnapshot
from partners.models import RegistrationStatus
from tests.factories.partners import DealRegistrationFactory

pytestmark = [pytest.mark.django_db]

ZURICH = zoneinfo.ZoneInfo("Europe/Zurich")
RUNS: list[str] = []


@task
def count_a_run() -> None:
    RUNS.append("ran")


@pytest.fixture
def only_job(monkeypatch):
    """The schedule holds one job, the counting one, every day at 07:00."""
    RUNS.clear()
    monkeypatch.setattr(scheduling, "JOBS", {})
    scheduling.periodic(scheduling.Daily(at=datetime.time(7, 0)))(count_a_run)
    return scheduling.JOBS


def at(*args) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=ZURICH)


class TestOccurrences:
    @pytest.mark.parametrize(
        ("now", "expected"),
        [
            # 22:30 UTC on 31 March is 00:30 on 1 April in Zurich: today's 00:15 has passed.
            (datetime.datetime(2027, 3, 31, 22, 30, tzinfo=datetime.UTC), at(2027, 4, 1, 0, 15)),
            # 22:10 UTC on 31 March is 00:10 on 1 April in Zurich: still the day before's.
            (datetime.datetime(2027, 3, 31, 22, 10, tzinfo=datetime.UTC), at(2027, 3, 31, 0, 15)),
            # The clocks go back: 02:30 (CET) on 31 October.
            (datetime.datetime(2027, 10, 31, 1, 30, tzinfo=datetime.UTC), at(2027, 10, 31, 0, 15)),
        ],
    )
    def test_daily_is_read_in_the_installations_time_zone(self, now, expected):
        assert scheduling.Daily(at=datetime.time(0, 15)).occurrence(now) == expected

    def test_every_few_minutes_counts_whole_steps(self):
        now = datetime.datetime(2027, 3, 31, 22, 37, 59, tzinfo=datetime.UTC)
        assert scheduling.Every(minutes=5).occurrence(now) == now.replace(minute=35, second=0)


class TestStartedOnce:
    def test_two_workers_looking_at_the_same_moment_start_it_once(self, only_job):
        with time_machine.travel(at(2027, 5, 3, 7, 0, 30), tick=False):
            assert scheduling.tick() == [count_a_run.module_path]
            assert scheduling.tick() == []  # the other worker's look
        assert RUNS == ["ran"]
        run = ScheduledRun.objects.get()
        assert (run.job, run.occurrence) == (count_a_run.module_path, at(2027, 5, 3, 7, 0))

    def test_it_waits_for_its_time_and_a_missed_one_starts_when_a_worker_is_back(self, only_job):
        with time_machine.travel(at(2027, 5, 3, 7, 0, 30), tick=False) as traveller:
            scheduling.tick()
            traveller.move_to(at(2027, 5, 4, 6, 59))
            assert scheduling.tick() == []  # before 07:00 in Zurich
            traveller.move_to(at(2027, 5, 4, 11, 0))  # no worker ran at 07:00, one is back
            assert scheduling.tick() == [count_a_run.module_path]
            traveller.move_to(at(2027, 5, 4, 12, 0))
            assert scheduling.tick() == []
        occurrences = ScheduledRun.objects.order_by("occurrence").values_list(
            "occurrence", flat=True
        )
        assert list(occurrences) == [at(2027, 5, 3, 7, 0), at(2027, 5, 4, 7, 0)]
        assert RUNS == ["ran", "ran"]

    def test_the_products_jobs_are_declared(self):
        names = set(scheduling.discover())
        assert {
            "forecasting.tasks.snapshot_forecast",
            "partners.tasks.registration_protection_notices",
            "climcrm.tasks.sweep_outbox",
            "leads.tasks.resume_stalled_imports",
            "climcrm.tasks.prune_task_history",
        } <= names


class TestForecastSnapshot:
    def test_the_first_look_after_midnight_freezes_the_new_month_and_quarter(self, rep):
        scheduling.discover()
        with time_machine.travel(at(2027, 4, 1, 0, 20), tick=False):
            scheduling.tick()
            scheduling.tick()
        kinds = set(ForecastSnapshot.objects.values_list("period_kind", "period_start"))
        assert kinds == {
            ("month", datetime.date(2027, 4, 1)),
            ("quarter", datetime.date(2027, 4, 1)),
        }
        assert ScheduledRun.objects.filter(job="forecasting.tasks.snapshot_forecast").count() == 1


class TestRegistrationProtection:
    @pytest.fixture
    def accepted(self, partner_a, partner_a_user, channel):
        with time_machine.travel(at(2027, 5, 3, 9, 0), tick=False):
            return DealRegistrationFactory(
                partner=partner_a,
                registered_by=partner_a_user,
                status=RegistrationStatus.ACCEPTED,
                protected_until=datetime.date(2027, 5, 20),
            )

    @pytest.fixture(autouse=True)
    def commits(self, django_capture_on_commit_callbacks):
        self.capture = django_capture_on_commit_callbacks

    def _day(self, day, month=5):
        from partners.tasks import registration_protection_notices

        with (
            time_machine.travel(at(2027, month, day, 7, 5), tick=False),
            self.capture(execute=True),
        ):
            registration_protection_notices.call()

    def test_the_partner_and_channel_manager_are_reminded_once_then_told_once(
        self, accepted, partner_a_user, channel
    ):
        self._day(5)  # 15 days before: nothing yet
        assert mail.outbox == []
        self._day(6)
        self._day(7)
        assert sorted(m.to[0] for m in mail.outbox) == sorted([partner_a_user.email, channel.email])
        assert all("20.05.2027" in m.body for m in mail.outbox)
        mail.outbox.clear()
        self._day(20)  # still protected that day
        assert mail.outbox == []
        self._day(21)
        self._day(22)
        assert sorted(m.to[0] for m in mail.outbox) == sorted([partner_a_user.email, channel.email])
        # Each in the recipient's language (both French here).
        assert {m.subject for m in mail.outbox} == {
            f"Protection de la déclaration d'opportunité terminée : {accepted.company_name}"
        }

    def test_a_renewed_protection_is_reminded_again_before_its_new_end(self, accepted, channel):
        self._day(10)
        accepted.protected_until = datetime.date(2027, 8, 18)
        accepted.save()
        mail.outbox.clear()
        self._day(11)
        assert mail.outbox == []
        self._day(10, month=8)
        assert len(mail.outbox) == 2 and all("18.08.2027" in m.body for m in mail.outbox)
