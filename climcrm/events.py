"""The services announce what happened to a record here; the apps that tell the outside
world (webhooks) subscribe.

Built like ``opportunities.changes``: one explicit, typed, synchronous hook. ``publish``
calls every subscriber in turn, inside the service's transaction, so what they write
(a delivery to make) is written with the change or not at all. An app subscribes in its
``AppConfig.ready()``; this module knows none of them, so the services never import the
apps built on them.
"""

import datetime
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db import models
from django.utils import timezone

# The names of the events, as sent to the outside world.
LEAD_CREATED = "lead.created"
LEAD_QUALIFIED = "lead.qualified"
LEAD_CONVERTED = "lead.converted"
DEAL_STAGE_CHANGED = "deal.stage_changed"
DEAL_WON = "deal.won"
DEAL_LOST = "deal.lost"
REGISTRATION_SUBMITTED = "registration.submitted"
REGISTRATION_DECIDED = "registration.decided"
REVIEW_CLOSED = "review.closed"

EVENT_NAMES = (
    LEAD_CREATED,
    LEAD_QUALIFIED,
    LEAD_CONVERTED,
    DEAL_STAGE_CHANGED,
    DEAL_WON,
    DEAL_LOST,
    REGISTRATION_SUBMITTED,
    REGISTRATION_DECIDED,
    REVIEW_CLOSED,
)


def record_state(record: models.Model) -> dict[str, Any]:
    """The values of a record's own columns (foreign keys as ids), as an event carries them."""
    return {
        f.attname: getattr(record, f.attname)
        for f in record._meta.concrete_fields
        if not getattr(f, "sensitive", False)
    }


@dataclass(frozen=True, kw_only=True)
class Event:
    """One thing that happened to one record: the values before (None for a new record)
    and after, by whom, when, with an id of its own."""

    name: str
    record: models.Model
    before: Mapping[str, Any] | None
    after: Mapping[str, Any]
    by: Any
    at: datetime.datetime
    id: uuid.UUID = field(default_factory=uuid.uuid4)


Subscriber = Callable[[Event], None]
_subscribers: list[Subscriber] = []


def subscribe(subscriber: Subscriber) -> None:
    """Call ``subscriber`` on every event (once, however often it is subscribed)."""
    if subscriber not in _subscribers:
        _subscribers.append(subscriber)


def unsubscribe(subscriber: Subscriber) -> None:
    if subscriber in _subscribers:
        _subscribers.remove(subscriber)


def publish(
    name: str,
    *,
    record: models.Model,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    by: Any = None,
    at: datetime.datetime | None = None,
) -> Event:
    """Hand the event to every subscriber, in the order they subscribed. ``after`` defaults
    to the record's values now. Called by the services inside their transaction; an
    exception goes up and rolls the change back."""
    if name not in EVENT_NAMES:
        raise ValueError(f"Unknown event {name!r}")
    event = Event(
        name=name,
        record=record,
        before=before,
        after=record_state(record) if after is None else after,
        by=by if getattr(by, "pk", None) else None,
        at=at or timezone.now(),
    )
    for subscriber in _subscribers:
        subscriber(event)
    return event
