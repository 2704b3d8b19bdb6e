"""The deals the account pages read, provided by the deals' app.

An account's page lists its deals and their totals, the account list counts open deals and
tells customers (a won deal), and a partner user sees the accounts of their partner's deals.
The deals sit above the accounts (``opportunities`` imports ``accounts``, never the
reverse), so the opportunities app hands its readings here from its ``AppConfig.ready()``
and this app knows no deal model, stage or scoping rule of its own.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db.models import Q, QuerySet


@dataclass(frozen=True, kw_only=True)
class AccountDeals:
    # The deals a user sees (every read starts from it: ``climcrm.visibility``).
    visible: Callable[[Any], QuerySet]
    # Which of them are open, and which won.
    open: Q
    won: Q


_provided: list[AccountDeals] = []


def provide(deals: AccountDeals) -> None:
    """Called once by the deals' app when it is ready (a second call replaces the first)."""
    _provided[:] = [deals]


def account_deals() -> AccountDeals:
    if not _provided:
        raise ImproperlyConfigured("The opportunities app provides the deals of accounts.")
    return _provided[0]
