"""The deal service announces every change of a deal here; the apps that keep figures about
deals (forecast totals, the lead funnel) subscribe.

One explicit, typed, synchronous hook: ``announce`` calls every subscriber in turn, inside
the service's transaction, so what they keep is written with the change or not at all (a
subscriber that raises rolls the change back). An app subscribes in its
``AppConfig.ready()``; this module knows none of them, so the deals never import the
reports built on them.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from opportunities.models import Opportunity


def deal_state(deal: Opportunity) -> dict[str, Any]:
    """The values of a deal its subscribers read, taken before and after a change (owner
    and partner as ids, 0 for none)."""
    return {
        "id": deal.pk,
        "owner": deal.owner_id or 0,
        "partner": deal.partner_id or 0,
        "type": deal.type,
        "stage": deal.stage,
        "amount": deal.amount,
        "probability": deal.probability,
        "created_at": deal.created_at,
        "closed_at": deal.closed_at,
        "stage_changed_at": deal.stage_changed_at,
        "furthest_rank": deal.furthest_rank,
        "close_date": deal.close_date,
        "forecast_category": deal.forecast_category,
        "created_amount": deal.created_amount,
        "commit_entry_amount": deal.commit_entry_amount,
        "close_month_start_amount": deal.close_month_start_amount,
        "close_quarter_start_amount": deal.close_quarter_start_amount,
    }


@dataclass(frozen=True, kw_only=True)
class DealChange:
    """One change of a deal, as written: the values before (None for a new deal) and after
    (``deal_state``), when, by whom, the change's tag and the database written to.

    Announced once the deal's row is saved and before the change's history row is written
    (the deal's earlier history rows are what the change replaces)."""

    deal: Opportunity
    before: Mapping[str, Any] | None
    after: Mapping[str, Any]
    at: datetime
    by: Any
    tag: str
    using: str

    @property
    def created(self) -> bool:
        return self.before is None

    @property
    def stage_changed(self) -> bool:
        return self.before is not None and self.before["stage"] != self.after["stage"]


Subscriber = Callable[[DealChange], None]
_subscribers: list[Subscriber] = []


def subscribe(subscriber: Subscriber) -> None:
    """Call ``subscriber`` on every deal change (once, however often it is subscribed)."""
    if subscriber not in _subscribers:
        _subscribers.append(subscriber)


def subscribers() -> tuple[Subscriber, ...]:
    return tuple(_subscribers)


def announce(change: DealChange) -> None:
    """Hand ``change`` to every subscriber, in the order they subscribed. Called by the deal
    services inside their transaction; an exception goes up and rolls the change back."""
    for subscriber in _subscribers:
        subscriber(change)
