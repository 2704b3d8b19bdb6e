"""Who a report is about: everyone, a rep, a team, a partner or a channel manager.

A scope reads from the query string as ``scope=rep:12`` (``team:4``, ``partner:3``,
``channel:7``, ``all``). Partner users are always held to their own partner, whatever
they ask for. The same scope filters current deals, history rows (as they were at the
time: owner and partner then) and leads.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from accounts.visibility import visible_partners
from climcrm.models import User
from climcrm.roles import Role, is_internal, is_partner_user
from climcrm.text import parse_id

ALL, REP, TEAM, PARTNER, CHANNEL = "all", "rep", "team", "partner", "channel"
SCOPE_KINDS = {
    REP: _("Sales rep"),
    TEAM: _("Team"),
    PARTNER: _("Partner"),
    CHANNEL: _("Channel manager"),
}
# The field each kind of scope filters on, for deals and history rows (same names).
_DEAL_FIELD = {
    REP: "owner_id",
    TEAM: "owner__manager_id",
    PARTNER: "partner_id",
    CHANNEL: "partner__channel_manager_id",
}
_LEAD_FIELD = {
    REP: "owner_id",
    TEAM: "owner__manager_id",
    PARTNER: "partner_id",
    CHANNEL: "partner__channel_manager_id",
}


@dataclass(frozen=True)
class Scope:
    kind: str = ALL
    pk: int | None = None

    @property
    def key(self) -> str:
        return ALL if self.kind == ALL else f"{self.kind}:{self.pk}"

    def deal_q(self, prefix: str = "") -> Q:
        """Filter for Opportunity (prefix "") or OpportunityHistory rows."""
        if self.kind == ALL:
            return Q()
        return Q(**{prefix + _DEAL_FIELD[self.kind]: self.pk})

    def lead_q(self) -> Q:
        if self.kind == ALL:
            return Q()
        return Q(**{_LEAD_FIELD[self.kind]: self.pk})


def parse_scope(value: str | None, *, user) -> Scope:
    """The scope asked for, or the user's natural one; partner users get their partner."""
    if is_partner_user(user):
        return Scope(PARTNER, user.partner_id)
    if not is_internal(user):
        return Scope(PARTNER, 0)
    kind, _sep, pk = (value or "").partition(":")
    if kind in _DEAL_FIELD and parse_id(pk) is not None:
        return Scope(kind, parse_id(pk))
    return Scope()


def scope_choices(*, user, alias: str = "default") -> list[tuple[str, list[tuple[str, str]]]]:
    """Grouped options for the scope selector (two queries: users, partners)."""

    if is_partner_user(user):
        partner = visible_partners(user).using(alias).select_related("account").first()
        return [(str(SCOPE_KINDS[PARTNER]), [(f"partner:{partner.pk}", str(partner))])]
    users = list(
        User.objects.using(alias)
        .filter(is_active=True, partner__isnull=True)
        .filter(groups__name__in=[Role.SALES_REP, Role.SALES_MANAGER, Role.CHANNEL_MANAGER])
        .distinct()
        .order_by("last_name", "first_name", "username")
        .values("pk", "first_name", "last_name", "username", "groups__name")
    )
    partners = (
        visible_partners(user).using(alias).order_by("account__name").values("pk", "account__name")
    )
    names: dict[int, str] = {}
    kinds: dict[int, set] = {}
    for row in users:
        names[row["pk"]] = display_name(row)
        kinds.setdefault(row["pk"], set()).add(row["groups__name"])
    reps = [
        (f"rep:{pk}", name)
        for pk, name in names.items()
        if kinds[pk] & {"sales_rep", "sales_manager"}
    ]
    teams = [(f"team:{pk}", name) for pk, name in names.items() if "sales_manager" in kinds[pk]]
    channels = [
        (f"channel:{pk}", name) for pk, name in names.items() if "channel_manager" in kinds[pk]
    ]
    return [
        (str(SCOPE_KINDS[REP]), reps),
        (str(SCOPE_KINDS[TEAM]), teams),
        (str(SCOPE_KINDS[PARTNER]), [(f"partner:{p['pk']}", p["account__name"]) for p in partners]),
        (str(SCOPE_KINDS[CHANNEL]), channels),
    ]


def display_name(row: Mapping[str, Any], prefix: str = "") -> str:
    """'First Last' (or the username) from a values() row."""
    first = row.get(f"{prefix}first_name") or ""
    last = row.get(f"{prefix}last_name") or ""
    full = f"{first} {last}".strip()
    return full or row.get(f"{prefix}username") or ""
