"""Webhooks: each event is written as one delivery per subscribed endpoint whose owner sees
the record, in the transaction of the change; a worker sends it once it commits.

A delivery is sent like an email of the outbox (``climcrm.outbox``): a conditional UPDATE
claims the row (one worker wins), the request leaves with no transaction open, and the row
records the answer: status code, response time, last error. A failure waits 1, 2, 4…
minutes (at most an hour) before the next attempt; after ``CRM_WEBHOOK_MAX_ATTEMPTS`` the
delivery is failed and waits for an administrator ("Send again"). One row per (endpoint,
event id), so an event is delivered once per endpoint; the event id travels in the
``X-ClimCRM-Event-Id`` header for receivers to recognise a delivery sent again by hand.

Signature: ``X-ClimCRM-Signature: t=<unix time>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>``.
"""

import datetime
import hashlib
import hmac
import json
import logging
import time
import urllib.error
import urllib.request
from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models, transaction
from django.db.models import F, QuerySet
from django.tasks import task
from django.utils import timezone

from climcrm import events
from climcrm.outbox import CLAIM_TIMEOUT, SWEEP_BATCH, SWEEP_GRACE, retry_delay
from integrations.addresses import check_url
from integrations.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from leads.models import Lead
from leads.visibility import visible_leads
from opportunities.changes import DealChange
from opportunities.models import Opportunity, Stage
from opportunities.visibility import visible_opportunities
from partners.models import DealRegistration
from partners.selectors import visible_registrations
from pipeline_reviews.models import Review
from pipeline_reviews.visibility import visible_reviews

logger = logging.getLogger(__name__)

# The kind of record named in a payload, and who may see one (the pages' own scoping).
RECORD_TYPES: dict[type[models.Model], tuple[str, Callable[..., QuerySet]]] = {
    Lead: ("lead", visible_leads),
    Opportunity: ("opportunity", visible_opportunities),
    DealRegistration: ("registration", visible_registrations),
    Review: ("review", visible_reviews),
}
USER_AGENT = "ClimCRM-Webhooks/1"


# --- events → deliveries ---------------------------------------------------------------


def on_deal_change(change: DealChange) -> None:
    """The deal changes the outside world hears about: a new stage, a win, a loss."""
    if not change.stage_changed:
        return
    stage = change.after["stage"]
    names = [events.DEAL_STAGE_CHANGED]
    if stage == Stage.CLOSED_WON:
        names.append(events.DEAL_WON)
    elif stage == Stage.CLOSED_LOST:
        names.append(events.DEAL_LOST)
    for name in names:
        events.publish(
            name,
            record=change.deal,
            before=change.before,
            after=change.after,
            by=change.by,
            at=change.at,
        )


def owner_sees(endpoint: WebhookEndpoint, record: models.Model) -> bool:
    known = RECORD_TYPES.get(type(record))
    if known is None or not endpoint.owner.is_active:
        return False
    return known[1](endpoint.owner).filter(pk=record.pk).exists()


def _jsonable(value):
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))


def payload_of(event: events.Event) -> dict:
    kind = RECORD_TYPES.get(type(event.record), (event.record._meta.model_name, None))[0]
    return _jsonable(
        {
            "id": str(event.id),
            "event": event.name,
            "occurred_at": event.at,
            "record": {"type": kind, "id": event.record.pk},
            "by": getattr(event.by, "pk", None),
            "before": dict(event.before) if event.before is not None else None,
            "after": dict(event.after),
        }
    )


def on_event(event: events.Event) -> None:
    """Write a delivery for each active endpoint subscribed to the event whose owner sees
    the record; enqueue their sending once the transaction commits."""
    endpoints = [
        endpoint
        for endpoint in WebhookEndpoint.objects.filter(active=True).select_related("owner")
        if event.name in (endpoint.events or [])
    ]
    rows = [
        WebhookDelivery.objects.create(
            endpoint=endpoint, event_id=event.id, event=event.name, payload=payload_of(event)
        )
        for endpoint in endpoints
        if owner_sees(endpoint, event.record)
    ]
    if rows:
        ids = [row.pk for row in rows]
        transaction.on_commit(lambda: enqueue_deliveries(ids))


# --- sending ---------------------------------------------------------------------------


@task
def send_delivery(pk: int) -> str:
    """Send one webhook delivery if it is due."""
    return deliver(pk)


def enqueue_deliveries(ids: list[int], *, run_after: datetime.datetime | None = None) -> None:
    """Enqueue one task per delivery; a queue that refuses is logged (the sweep sends)."""
    sender = send_delivery
    if run_after is not None:
        if not sender.get_backend().supports_defer:
            return  # the sweep sends it when it is due
        sender = sender.using(run_after=run_after)
    for pk in ids:
        try:
            sender.enqueue(pk)
        except Exception:  # noqa: BLE001 - the row is committed: the sweep will send it
            logger.exception("Webhook delivery %s not enqueued", pk)


def body_of(payload: dict) -> bytes:
    return json.dumps(payload, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode()


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The value of the X-ClimCRM-Signature header."""
    signed = f"{timestamp}.".encode() + body
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    # A redirection could lead to an address never checked: it counts as a failure.
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


# No proxy from the environment: the address checked is the address reached.
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect())


def _post(url: str, body: bytes, headers: dict[str, str]) -> int:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with _opener.open(request, timeout=settings.CRM_WEBHOOK_TIMEOUT) as response:
            response.read(1024)
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def deliver(pk: int, *, now_or_failed: bool = False) -> str:
    """Send one delivery if it is due: "delivered", "retry", "failed" or "skipped".

    ``now_or_failed`` sends it even before its next attempt, and a failed one too (an
    administrator asked for it).
    """
    now = timezone.now()
    due = models.Q(status=DeliveryStatus.PENDING)
    if now_or_failed:
        due |= models.Q(status=DeliveryStatus.FAILED)
    else:
        due &= models.Q(next_attempt_at__lte=now)
    claimed = WebhookDelivery.objects.filter(due, pk=pk).update(
        status=DeliveryStatus.SENDING, claimed_at=now, attempts=F("attempts") + 1
    )
    if not claimed:
        return "skipped"
    row = WebhookDelivery.objects.select_related("endpoint").get(pk=pk)
    endpoint = row.endpoint
    body = body_of(row.payload)
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": USER_AGENT,
        "X-ClimCRM-Event": row.event,
        "X-ClimCRM-Event-Id": str(row.event_id),
        "X-ClimCRM-Signature": signature(endpoint.secret, timestamp, body),
    }
    started = time.monotonic()
    status_code = None
    try:
        if not endpoint.active:
            raise RuntimeError("the endpoint is inactive")
        check_url(endpoint.url, allow_private=endpoint.allow_private)
        status_code = _post(endpoint.url, body, headers)
        error = "" if 200 <= status_code < 300 else f"HTTP {status_code}"
    except ValidationError as exc:
        error = f"Refused: {' '.join(exc.messages)}"
    except Exception as exc:  # noqa: BLE001 - any failure to reach the receiver is retried
        error = f"{type(exc).__name__}: {exc}"
    answered = {
        "status_code": status_code,
        "response_ms": round((time.monotonic() - started) * 1000),
        "claimed_at": None,
    }
    if not error:
        WebhookDelivery.objects.filter(pk=pk, status=DeliveryStatus.SENDING).update(
            status=DeliveryStatus.DELIVERED, delivered_at=timezone.now(), last_error="", **answered
        )
        return "delivered"
    gives_up = row.attempts >= settings.CRM_WEBHOOK_MAX_ATTEMPTS
    next_attempt = timezone.now() + retry_delay(row.attempts)
    logger.warning("Webhook delivery %s (attempt %s) failed: %s", pk, row.attempts, error)
    WebhookDelivery.objects.filter(pk=pk, status=DeliveryStatus.SENDING).update(
        status=DeliveryStatus.FAILED if gives_up else DeliveryStatus.PENDING,
        next_attempt_at=next_attempt,
        last_error=error[:1000],
        **answered,
    )
    if gives_up:
        return "failed"
    enqueue_deliveries([pk], run_after=next_attempt)
    return "retry"


def sweep(*, now: datetime.datetime | None = None) -> dict[str, int]:
    """Send the deliveries due that no task took care of; give back claims lost with their
    worker."""
    now = now or timezone.now()
    released = WebhookDelivery.objects.filter(
        status=DeliveryStatus.SENDING, claimed_at__lt=now - CLAIM_TIMEOUT
    ).update(status=DeliveryStatus.PENDING, claimed_at=None)
    # Without deferred tasks (the immediate backend) nothing else retries: no grace.
    grace = SWEEP_GRACE if send_delivery.get_backend().supports_defer else datetime.timedelta(0)
    due = (
        WebhookDelivery.objects.filter(
            status=DeliveryStatus.PENDING, next_attempt_at__lte=now - grace
        )
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[:SWEEP_BATCH]
    )
    result = {"delivered": 0, "failed": 0, "released": released}
    for pk in list(due):
        outcome = deliver(pk)
        if outcome == "delivered":
            result["delivered"] += 1
        elif outcome in ("retry", "failed"):
            result["failed"] += 1
    return result


def redeliver(rows: QuerySet) -> int:
    """Send the chosen deliveries again now, delivered or not (the admin's action): a new
    series of attempts, with the same event id."""
    ids = list(rows.exclude(status=DeliveryStatus.SENDING).values_list("pk", flat=True))
    WebhookDelivery.objects.filter(pk__in=ids).update(
        status=DeliveryStatus.PENDING, next_attempt_at=timezone.now(), attempts=0
    )
    transaction.on_commit(lambda: enqueue_deliveries(ids))
    return len(ids)
