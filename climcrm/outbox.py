"""Emails through the outbox: written with the change, sent by a worker, exactly once.

``email_queue`` writes an ``OutgoingEmail`` row in the caller's transaction and, once it
commits, enqueues the task that sends it. ``deliver`` sends one row: a conditional UPDATE
claims it (one worker wins, on SQLite and PostgreSQL alike), the message leaves with no
transaction open (a slow mail server holds no lock), and the row is marked sent. A failure
keeps the row waiting with its error and the time of the next attempt (1, 2, 4… minutes,
at most an hour apart); ``sweep`` sends what is due, and gives back claims lost by a
worker that died while sending.

The one case an email may leave twice: the mail server accepted it and the worker died
before writing "sent" (the claim is given back after ``CLAIM_TIMEOUT``).
"""

import datetime
import logging
from collections.abc import Sequence

from django.apps import apps
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, models, transaction
from django.db.models import F, Q
from django.tasks import task
from django.utils import timezone

from climcrm.models import EmailStatus, OutboxEmail, OutgoingEmail

logger = logging.getLogger(__name__)

FIRST_RETRY = datetime.timedelta(minutes=1)
LONGEST_RETRY = datetime.timedelta(hours=1)
# Longer than any SMTP time-out: a claim this old belongs to a worker that is gone.
CLAIM_TIMEOUT = datetime.timedelta(minutes=15)
# The sweep leaves a retry this long to the task enqueued for it before sending it itself.
SWEEP_GRACE = datetime.timedelta(minutes=2)
SWEEP_BATCH = 200


def outbox_models() -> list[type[OutboxEmail]]:
    return [model for model in apps.get_models() if issubclass(model, OutboxEmail)]


def retry_delay(attempts: int) -> datetime.timedelta:
    """How long to wait after the ``attempts``-th failed attempt."""
    return min(FIRST_RETRY * 2 ** max(0, attempts - 1), LONGEST_RETRY)


def email_queue(
    *,
    to: str,
    subject: str,
    text: str,
    kind: str,
    html: str = "",
    language: str = "",
    recipient=None,
    key: str | None = None,
    sensitive: bool = False,
    send_after_commit: bool = True,
) -> OutgoingEmail | None:
    """Write an email into the outbox; None when ``key`` was written before.

    With ``send_after_commit`` (the default) its task is enqueued once the caller's
    transaction commits; otherwise the caller delivers it.
    """
    values = {
        "email": to,
        "subject": " ".join(subject.splitlines())[:255],
        "text_body": text,
        "html_body": html,
        "kind": kind,
        "language": language or settings.LANGUAGE_CODE,
        "recipient": recipient,
        "key": key,
        "sensitive": sensitive,
    }
    if key is not None:
        if OutgoingEmail.objects.filter(key=key).exists():
            return None
        try:
            with transaction.atomic():
                row = OutgoingEmail.objects.create(**values)
        except IntegrityError:  # written by someone else meanwhile
            return None
    else:
        row = OutgoingEmail.objects.create(**values)
    if send_after_commit:
        send_on_commit([row])
    return row


# Emails go before long work (an import's next chunk) waiting in the queue.
EMAIL_PRIORITY = 10


@task(priority=EMAIL_PRIORITY)
def send_email(model: str, pk: int) -> str:
    """Send one email of an outbox (``model`` is its label, e.g. "climcrm.outgoingemail")."""
    return deliver(apps.get_model(model), pk)


def send_on_commit(rows: Sequence[OutboxEmail]) -> None:
    """Enqueue the sending of ``rows`` once the current transaction commits."""
    refs = [(row._meta.label_lower, row.pk) for row in rows]
    if refs:
        transaction.on_commit(lambda: enqueue_sending(refs))


def enqueue_sending(refs: list[tuple[str, int]], *, run_after=None) -> None:
    """Enqueue one send task per row; a queue that refuses is logged (the sweep sends)."""
    task = send_email
    if run_after is not None:
        if not task.get_backend().supports_defer:
            return  # the sweep sends it when it is due
        task = task.using(run_after=run_after)
    for label, pk in refs:
        try:
            task.enqueue(label, pk)
        except Exception:  # noqa: BLE001 - the row is committed: the sweep will send it
            logger.exception("Sending of %s %s not enqueued", label, pk)


def _message(row: OutboxEmail) -> EmailMultiAlternatives:
    message = EmailMultiAlternatives(
        subject=row.subject,
        body=row.text_body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[row.email],
        headers=row.headers(),
    )
    if row.html_body:
        message.attach_alternative(row.html_body, "text/html")
    return message


def deliver(model: type[OutboxEmail], pk: int, *, now_or_failed: bool = False) -> str:
    """Send one email of the outbox if it is due; "sent", "retry", "failed" or "skipped".

    ``now_or_failed`` sends it even before its next attempt is due, and a failed one too
    (a person asked for it).
    """
    now = timezone.now()
    if now_or_failed:
        due = Q(status__in=[EmailStatus.PENDING, EmailStatus.FAILED])
    else:
        due = Q(status=EmailStatus.PENDING, next_attempt_at__lte=now)
    claimed = model._default_manager.filter(due, pk=pk, sent_at__isnull=True).update(
        status=EmailStatus.SENDING, claimed_at=now, attempts=F("attempts") + 1
    )
    if not claimed:
        return "skipped"
    row = model._default_manager.get(pk=pk)
    try:
        _message(row).send()
    except Exception as exc:  # noqa: BLE001 - any mail failure is retried later
        return _failed(model, row, exc)
    done: dict = {"status": EmailStatus.SENT, "sent_at": timezone.now(), "claimed_at": None}
    done["last_error"] = ""
    if getattr(row, "sensitive", False):
        done.update(text_body="", html_body="")
    model._default_manager.filter(pk=pk, status=EmailStatus.SENDING).update(**done)
    return "sent"


def _failed(model: type[OutboxEmail], row: OutboxEmail, exc: Exception) -> str:
    error = f"{type(exc).__name__}: {exc}"[:500]
    gives_up = row.attempts >= settings.CRM_EMAIL_MAX_ATTEMPTS
    next_attempt = timezone.now() + retry_delay(row.attempts)
    logger.warning(
        "Email %s %s to %s not sent (attempt %s): %s",
        row._meta.label_lower,
        row.pk,
        row.email,
        row.attempts,
        error,
    )
    model._default_manager.filter(pk=row.pk, status=EmailStatus.SENDING).update(
        status=EmailStatus.FAILED if gives_up else EmailStatus.PENDING,
        next_attempt_at=next_attempt,
        claimed_at=None,
        last_error=error,
    )
    if gives_up:
        return "failed"
    enqueue_sending([(row._meta.label_lower, row.pk)], run_after=next_attempt)
    return "retry"


def sweep(*, now: datetime.datetime | None = None) -> dict[str, int]:
    """Send what is due and not taken care of; give back claims lost with their worker.

    Stops at the first failure: the mail server is likely down, and every email due stays
    due for the next sweep.
    """
    now = now or timezone.now()
    result = {"sent": 0, "failed": 0, "released": 0}
    for model in outbox_models():
        result["released"] += model._default_manager.filter(
            status=EmailStatus.SENDING, claimed_at__lt=now - CLAIM_TIMEOUT
        ).update(status=EmailStatus.PENDING, claimed_at=None)
    for model in outbox_models():
        due = (
            model._default_manager.filter(
                status=EmailStatus.PENDING, next_attempt_at__lte=now - _grace(model)
            )
            .order_by("next_attempt_at", "pk")
            .values_list("pk", flat=True)[:SWEEP_BATCH]
        )
        for pk in list(due):
            outcome = deliver(model, pk)
            if outcome == "sent":
                result["sent"] += 1
            elif outcome in ("retry", "failed"):
                result["failed"] += 1
                return result
    return result


def _grace(model) -> datetime.timedelta:
    # Without deferred tasks (the immediate backend) nothing else retries: no grace.
    return SWEEP_GRACE if send_email.get_backend().supports_defer else datetime.timedelta(0)


def retry_now(rows: models.QuerySet) -> int:
    """Make waiting or failed emails due now and enqueue them (the admin's action)."""
    ids = list(
        rows.filter(status__in=[EmailStatus.PENDING, EmailStatus.FAILED]).values_list(
            "pk", flat=True
        )
    )
    # A new series of attempts, as for a new email.
    rows.model._default_manager.filter(pk__in=ids).update(
        status=EmailStatus.PENDING, next_attempt_at=timezone.now(), attempts=0
    )
    label = rows.model._meta.label_lower
    transaction.on_commit(lambda: enqueue_sending([(label, pk) for pk in ids]))
    return len(ids)
