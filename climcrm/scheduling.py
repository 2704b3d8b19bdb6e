"""Periodic jobs without a host cron: each worker looks at the schedule now and then.

A job is a task with a schedule (``@periodic(Daily(at=...))`` above ``@task``), declared in
an app's ``tasks`` module. ``tick`` computes each job's latest occurrence (in the
installation's time zone, TIME_ZONE) and starts it by writing a ``ScheduledRun`` row for
(job, occurrence) together with its task: the unique pair means that with two workers, or
two ticks, an occurrence starts once. A worker that was stopped at the scheduled time
starts the missed occurrence when it comes back (only the latest one).
"""

import datetime
import logging
import zoneinfo
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.tasks import Task
from django.utils import timezone
from django.utils.module_loading import autodiscover_modules

from climcrm.models import ScheduledRun

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Daily:
    """Every day at a wall-clock time of the installation's time zone."""

    at: datetime.time

    def occurrence(self, now: datetime.datetime) -> datetime.datetime:
        zone = zoneinfo.ZoneInfo(settings.TIME_ZONE)
        local = now.astimezone(zone)
        day = local.date()
        if local.time() < self.at:
            day -= datetime.timedelta(days=1)
        return datetime.datetime.combine(day, self.at, tzinfo=zone)


@dataclass(frozen=True)
class Every:
    """Every so many minutes, counted from midnight UTC."""

    minutes: int

    def occurrence(self, now: datetime.datetime) -> datetime.datetime:
        step = self.minutes * 60
        seconds = int(now.timestamp()) // step * step
        return datetime.datetime.fromtimestamp(seconds, tz=datetime.UTC)


@dataclass(frozen=True)
class Job:
    name: str
    schedule: Daily | Every
    task: Task


JOBS: dict[str, Job] = {}


def periodic(schedule: Daily | Every):
    """Run the decorated task on ``schedule`` (place it above ``@task``)."""

    def register(task: Task) -> Task:
        JOBS[task.module_path] = Job(task.module_path, schedule, task)
        return task

    return register


def discover() -> dict[str, Job]:
    """Import every installed app's ``tasks`` module, where the jobs are declared."""
    autodiscover_modules("tasks")
    return JOBS


def tick(*, now: datetime.datetime | None = None) -> list[str]:
    """Start every job whose latest occurrence has not started yet; their names."""
    now = now or timezone.now()
    started = []
    for job in list(JOBS.values()):
        occurrence = job.schedule.occurrence(now)
        try:
            with transaction.atomic():
                run = ScheduledRun.objects.create(job=job.name, occurrence=occurrence)
                # With the database backend the task row commits with the run row: an
                # occurrence is either started and queued, or neither.
                result = job.task.enqueue()
                ScheduledRun.objects.filter(pk=run.pk).update(task_id=str(result.id)[:64])
        except IntegrityError:
            continue  # already started, by this worker or another
        except Exception:  # noqa: BLE001 - one job's failure must not stop the others
            logger.exception("Periodic job %s not started", job.name)
            continue
        started.append(job.name)
    return started
