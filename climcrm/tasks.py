"""The core's background tasks: the outbox sweep, password reset emails, housekeeping (the
task sending one email is ``outbox.send_email``)."""

import datetime

from django.apps import apps
from django.conf import settings
from django.tasks import task
from django.utils import timezone

from climcrm import outbox
from climcrm.forms import PasswordResetForm
from climcrm.models import ScheduledRun
from climcrm.outbox import EMAIL_PRIORITY
from climcrm.scheduling import Daily, Every, periodic

# Finished task runs and periodic job runs are kept this long for the admin to read.
HISTORY_DAYS = 30


@periodic(Every(minutes=1))
@task(priority=EMAIL_PRIORITY)
def sweep_outbox() -> dict[str, int]:
    """Send the emails due whose task was lost or never ran, review recaps included."""
    return outbox.sweep()


@task(priority=EMAIL_PRIORITY)
def send_password_reset(email: str) -> int:
    """Write and send the reset email of each active user with this address."""
    form = PasswordResetForm({"email": email})
    if not form.is_valid():
        return 0
    form.save(
        domain_override=settings.CRM_BASE_URL.split("://", 1)[-1],
        use_https=settings.CRM_BASE_URL.startswith("https://"),
        subject_template_name="registration/password_reset_subject.txt",
        email_template_name="registration/password_reset_email.txt",
    )
    return sum(outbox.deliver(type(row), row.pk) == "sent" for row in form.outbox)


@periodic(Daily(at=datetime.time(3, 30)))
@task
def prune_task_history() -> dict[str, int]:
    """Forget finished task runs and periodic job runs older than HISTORY_DAYS."""
    before = timezone.now() - datetime.timedelta(days=HISTORY_DAYS)
    runs, _ = ScheduledRun.objects.filter(occurrence__lt=before).delete()
    results = 0
    if apps.is_installed("django_tasks_db"):
        # Only when the database backend is installed (its models are loaded then).
        from django_tasks_db.models import DBTaskResult

        results, _ = DBTaskResult.objects.finished().filter(finished_at__lt=before).delete()
    return {"scheduled_runs": runs, "task_results": results}
