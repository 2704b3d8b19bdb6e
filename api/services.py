"""Writes of the API app: personal tokens (create, revoke, use) and inbound leads with an
idempotency key."""

from __future__ import annotations

import datetime
import hashlib
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.crypto import constant_time_compare

from activities.models import Activity
from activities.services import activity_complete, activity_reopen, activity_update
from api.models import ApiToken, IdempotencyKey
from leads.models import Lead, LeadStatus
from leads.services import lead_change_status, lead_create, lead_update

if TYPE_CHECKING:
    from climcrm.models import User

TOKEN_PREFIX = "ccrm"
# The last-used date is written at most this often per token (one UPDATE, no read).
LAST_USED_STEP = datetime.timedelta(minutes=1)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass
class NewToken:
    token: ApiToken
    secret: str  # the whole token, shown once


def api_token_create(
    *, user: User, name: str, days: int | None = None, at: datetime.datetime | None = None
) -> NewToken:
    """A new token for ``user``, valid ``days`` days (the setting's default otherwise)."""
    now = at or timezone.now()
    days = days or settings.CRM_API_TOKEN_DAYS
    prefix = secrets.token_hex(6)
    secret = f"{TOKEN_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    token = ApiToken.objects.create(
        user=user,
        name=(name or "").strip()[:100] or prefix,
        prefix=prefix,
        secret_hash=_digest(secret),
        created_at=now,
        expires_at=now + datetime.timedelta(days=days),
    )
    return NewToken(token=token, secret=secret)


def api_token_revoke(*, token: ApiToken, at: datetime.datetime | None = None) -> ApiToken:
    """Revoke the token (idempotent: a revoked token keeps its first revocation date)."""
    now = at or timezone.now()
    ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=now)
    token.refresh_from_db()
    return token


def api_token_check(secret: str, *, at: datetime.datetime | None = None) -> ApiToken | None:
    """The active token ``secret`` is, with its user, or None (unknown, revoked, expired or
    inactive user). Records the use."""
    now = at or timezone.now()
    parts = (secret or "").split("_", 2)
    if len(parts) != 3 or parts[0] != TOKEN_PREFIX:
        return None
    token = ApiToken.objects.select_related("user").filter(prefix=parts[1]).first()
    if token is None or not constant_time_compare(token.secret_hash, _digest(secret)):
        return None
    if not token.is_active(now) or not token.user.is_active:
        return None
    if token.last_used_at is None or token.last_used_at < now - LAST_USED_STEP:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token


@dataclass
class ReceivedLead:
    lead: Lead
    created: bool


def lead_receive(
    *, by: User, values: dict[str, Any], idempotency_key: str = "", mql: bool = False
) -> ReceivedLead:
    """A lead sent by another system (marketing automation): created through
    ``lead_create``, moved to MQL when marketing qualified it, once per idempotency key.

    The same key from the same user gives back the lead of the first request, whatever
    the second one carries. Raises what ``lead_create`` raises; nothing is written then.
    """
    key = (idempotency_key or "").strip()[:200]
    if key:
        known = IdempotencyKey.objects.filter(user=by, key=key).select_related("lead").first()
        if known is not None:
            return ReceivedLead(lead=known.lead, created=False)
    try:
        with transaction.atomic():
            lead = lead_create(by=by, **values)
            if mql:
                lead = lead_change_status(lead=lead, to_status=LeadStatus.MQL, by=by)
            if key:
                IdempotencyKey.objects.create(user=by, key=key, lead=lead)
    except IntegrityError:
        # The same key arrived twice at once: the other request created the lead.
        known = IdempotencyKey.objects.filter(user=by, key=key).select_related("lead").first()
        if known is None:
            raise
        return ReceivedLead(lead=known.lead, created=False)
    return ReceivedLead(lead=lead, created=True)


def lead_change(
    *, lead: Lead, by: User, changes: dict[str, Any], status: str = "", reason: str = ""
) -> Lead:
    """Change a lead's fields and, when asked, its status, in one transaction (all or
    nothing), through ``lead_update`` and ``lead_change_status``."""
    with transaction.atomic():
        if changes:
            lead = lead_update(lead=lead, by=by, changes=changes)
        if status and status != lead.status:
            lead = lead_change_status(lead=lead, to_status=status, by=by, reason=reason)
    return lead


def activity_change(
    *, activity: Activity, by: User, changes: dict[str, Any], done: bool | None = None
) -> Activity:
    """Change an activity's fields and, when asked, mark it done or open again, in one
    transaction, through the activity services (their permissions and messages)."""
    with transaction.atomic():
        if changes:
            activity = activity_update(activity=activity, by=by, changes=changes)
        if done is True:
            activity = activity_complete(activity=activity, by=by)
        elif done is False:
            activity = activity_reopen(activity=activity, by=by)
    return activity
