"""Writes on leads: create, edit, move through the lifecycle, convert.

Every status change is appended to ``LeadStatusChange`` in the same transaction as the
change itself (the funnel metrics read those rows). Converted and disqualified leads are
read-only.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Account, Contact
from accounts.services import account_create, contact_create
from climcrm import events
from climcrm.choices import BANT_FIELDS, SIGNAL_FIELDS, OriginChannel, Source
from climcrm.permissions import can_edit_lead
from climcrm.ratelimit import parse_rate
from climcrm.roles import is_internal, is_partner_user
from leads import funnel
from leads.models import (
    CHARACTERISTIC_FIELDS,
    Lead,
    LeadStatus,
    LeadStatusChange,
    PublicFormSubmission,
)
from opportunities.models import Stage
from opportunities.services import opportunity_create

if TYPE_CHECKING:
    from collections.abc import Iterable

    from climcrm.models import User

# What a person may fill in on a lead (status and conversion links have their own paths).
LEAD_FIELDS = (
    "first_name",
    "last_name",
    "email",
    "phone",
    "company",
    "job_title",
    "source",
    "origin",
    "partner",
    "owner",
    "notes",
    "project_name",
    *BANT_FIELDS,
    "organisation_fit",
    "organisation_note",
    "opportunity_fit",
    "opportunity_note",
    "stakeholder_fit",
    "stakeholder_note",
    *CHARACTERISTIC_FIELDS,
    *SIGNAL_FIELDS,
    "planned_actions",
)
# Partner users work their own leads but do not choose who owns them or where they come from.
PARTNER_LOCKED_FIELDS = frozenset({"owner", "origin", "partner"})
# Statuses a person may set by hand (conversion goes through lead_convert).
MANUAL_STATUSES = (LeadStatus.NEW, LeadStatus.WORKING, LeadStatus.MQL, LeadStatus.DISQUALIFIED)


class LeadReadOnlyError(Exception):
    """The lead is converted or disqualified: nothing may change any more."""

    def __init__(self, lead: Lead) -> None:
        self.lead = lead
        super().__init__(
            _("This lead is %(status)s: it can no longer be changed.")
            % {"status": lead.get_status_display().lower()}
        )


class LeadAlreadyConvertedError(Exception):
    """A second conversion of the same lead (double submit): nothing was written."""

    def __init__(self, lead: Lead) -> None:
        self.lead = lead
        super().__init__(_("This lead has already been converted."))


# --- who may do what ------------------------------------------------------------------


def can_convert_lead(user: User, lead: Lead) -> bool:
    """Conversion creates accounts and contacts: internal people only."""
    return is_internal(user) and can_edit_lead(user, lead) and not lead.is_read_only


# --- validation -----------------------------------------------------------------------


def _clean_values(values: dict[str, Any]) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    if not (values.get("last_name") or "").strip():
        errors.setdefault("last_name", []).append(_("Enter the last name."))
    if values.get("source") and values["source"] not in Source.values:
        errors.setdefault("source", []).append(_("Choose a valid source."))
    partner = values.get("partner")
    if values.get("origin") == OriginChannel.PARTNER and partner is None:
        errors.setdefault("partner", []).append(_("A lead brought by a partner needs the partner."))
    if partner is not None and values.get("origin") != OriginChannel.PARTNER:
        values["origin"] = OriginChannel.PARTNER
    owner = values.get("owner")
    if owner is not None and (is_partner_user(owner) or not owner.is_active):
        errors.setdefault("owner", []).append(_("The owner must be an active internal user."))
    if errors:
        raise ValidationError(errors)
    for name in ("first_name", "last_name", "email", "phone", "company", "job_title"):
        if isinstance(values.get(name), str):
            values[name] = values[name].strip()
    if values.get("email"):
        values["email"] = values["email"].lower()
    return values


def _record_status(
    *, lead: Lead, from_status: str, to_status: str, by: User | None, at: datetime.datetime
) -> LeadStatusChange:
    if to_status == LeadStatus.MQL and not lead.reached_mql:
        Lead.objects.filter(pk=lead.pk).update(reached_mql=True)
        lead.reached_mql = True
    return LeadStatusChange.objects.create(
        lead=lead,
        from_status=from_status,
        to_status=to_status,
        changed_at=at,
        changed_by=by if getattr(by, "pk", None) else None,
    )


# --- lifecycle ------------------------------------------------------------------------


def lead_create(*, by: User | None, at: datetime.datetime | None = None, **values: Any) -> Lead:
    """A new lead in status New, with its first status row.

    A partner user's lead is always the partner's (origin BP). ``by`` may be None for
    the public web form.
    """
    now = at or timezone.now()
    values = {k: v for k, v in values.items() if k in LEAD_FIELDS}
    if by is not None and is_partner_user(by):
        values["partner"] = by.partner
        values["origin"] = OriginChannel.PARTNER
        values.pop("owner", None)
    values.setdefault("source", Source.OTHER)
    values.setdefault("origin", OriginChannel.INTERNAL)
    values = _clean_values(values)
    with transaction.atomic():
        lead = Lead(status=LeadStatus.NEW, status_changed_at=now, **values)
        lead.reached_prospect = lead.fits_profile
        lead.full_clean()
        lead.save()
        if at is not None:
            Lead.objects.filter(pk=lead.pk).update(created_at=now)
            lead.created_at = now
        _record_status(lead=lead, from_status="", to_status=LeadStatus.NEW, by=by, at=now)
        events.publish(events.LEAD_CREATED, record=lead, by=by, at=now)
    return lead


def _lock_open_lead(lead: Lead) -> Lead:
    locked = Lead.objects.select_for_update().get(pk=lead.pk)
    if locked.is_read_only:
        raise LeadReadOnlyError(locked)
    return locked


def lead_update(*, lead: Lead, by: User, changes: dict[str, Any]) -> Lead:
    """Change the fields of an open lead. Raises LeadReadOnlyError, PermissionError,
    ValidationError; nothing is written in those cases."""
    requested = {k: v for k, v in changes.items() if k in LEAD_FIELDS}
    with transaction.atomic():
        locked = _lock_open_lead(lead)
        if not can_edit_lead(by, locked):
            raise PermissionError(_("You may not change this lead."))
        if is_partner_user(by):
            for name in PARTNER_LOCKED_FIELDS:
                requested.pop(name, None)
        values = {name: getattr(locked, name) for name in LEAD_FIELDS}
        values.update(requested)
        values = _clean_values(values)
        for name, value in values.items():
            setattr(locked, name, value)
        # Once the three levels are met the lead is a prospect, and stays counted as one.
        locked.reached_prospect = locked.reached_prospect or locked.fits_profile
        locked.full_clean()
        locked.save()
    lead.refresh_from_db()
    return lead


def lead_change_status(
    *, lead: Lead, to_status: str, by: User, reason: str = "", at: datetime.datetime | None = None
) -> Lead:
    """Move an open lead to another open status, or disqualify it with a reason."""
    now = at or timezone.now()
    if to_status == LeadStatus.CONVERTED:
        raise ValidationError({"status": _("A lead is converted with the conversion screen.")})
    if to_status not in MANUAL_STATUSES:
        raise ValidationError({"status": _("Choose a valid status.")})
    reason = (reason or "").strip()
    if to_status == LeadStatus.DISQUALIFIED and not reason:
        raise ValidationError({"disqualification_reason": _("Say why the lead is disqualified.")})
    with transaction.atomic():
        locked = _lock_open_lead(lead)
        if by is not None and not can_edit_lead(by, locked):
            raise PermissionError(_("You may not change this lead."))
        if locked.status == to_status:
            raise ValidationError({"status": _("The lead already has this status.")})
        from_status = locked.status
        locked.status = to_status
        locked.status_changed_at = now
        if to_status == LeadStatus.DISQUALIFIED:
            locked.disqualification_reason = reason[:2000]
        locked.reached_mql = locked.reached_mql or to_status == LeadStatus.MQL
        locked.save(
            update_fields=[
                "status",
                "status_changed_at",
                "disqualification_reason",
                "reached_mql",
            ]
        )
        _record_status(lead=locked, from_status=from_status, to_status=to_status, by=by, at=now)
        if to_status == LeadStatus.MQL:
            events.publish(
                events.LEAD_QUALIFIED, record=locked, before={"status": from_status}, by=by, at=now
            )
    lead.refresh_from_db()
    return lead


# --- bulk actions from the list -------------------------------------------------------


@dataclass
class BulkResult:
    changed: list[Lead] = field(default_factory=list)
    skipped: list[tuple[Lead, str]] = field(default_factory=list)


def lead_bulk_assign(*, leads: Iterable[Lead], owner: User | None, by: User) -> BulkResult:
    """Give the selected leads to ``owner``; read-only or forbidden ones are skipped."""
    if owner is None or is_partner_user(owner) or not owner.is_active:
        raise ValidationError({"owner": _("The owner must be an active internal user.")})
    result = BulkResult()
    for lead in leads:
        try:
            lead_update(lead=lead, by=by, changes={"owner": owner})
        except (LeadReadOnlyError, PermissionError, ValidationError) as exc:
            result.skipped.append((lead, _error_text(exc)))
        else:
            result.changed.append(lead)
    return result


def lead_bulk_change_status(
    *, leads: Iterable[Lead], to_status: str, by: User, reason: str = ""
) -> BulkResult:
    result = BulkResult()
    for lead in leads:
        try:
            lead_change_status(lead=lead, to_status=to_status, by=by, reason=reason)
        except (LeadReadOnlyError, PermissionError, ValidationError) as exc:
            result.skipped.append((lead, _error_text(exc)))
        else:
            result.changed.append(lead)
    return result


def _error_text(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return " ".join(exc.messages)
    return str(exc)


# --- conversion -----------------------------------------------------------------------


@dataclass
class ConversionResult:
    lead: Lead
    account: Account | None
    contact: Contact | None
    opportunity: Any = None
    created_account: bool = False
    created_contact: bool = False


def default_opportunity_name(lead: Lead) -> str:
    """Seed 000: the company's name, or the real-estate project's name or address."""
    return (lead.project_name or lead.company or str(lead)).strip()[:200]


def default_close_date() -> datetime.date:
    return timezone.localdate() + datetime.timedelta(days=90)


def lead_convert(
    *,
    lead: Lead,
    by: User,
    account: Account | None = None,
    account_name: str = "",
    contact: Contact | None = None,
    create_opportunity: bool = True,
    opportunity_name: str = "",
    amount: Decimal | None = None,
    close_date: datetime.date | None = None,
    opportunity_type: str = "",
    at: datetime.datetime | None = None,
) -> ConversionResult:
    """Turn the lead into an account, a contact and optionally an opportunity.

    ``account`` / ``contact`` given: use those existing records; None: create new ones
    from the lead. Everything happens in one transaction; the lead row is locked first so
    a second submit of the same conversion finds it converted and raises
    ``LeadAlreadyConvertedError`` without writing anything.
    """

    now = at or timezone.now()
    with transaction.atomic():
        locked = Lead.objects.select_for_update().get(pk=lead.pk)
        if locked.status == LeadStatus.CONVERTED:
            raise LeadAlreadyConvertedError(locked)
        if locked.is_read_only:
            raise LeadReadOnlyError(locked)
        if not can_convert_lead(by, locked):
            raise PermissionError(_("You may not convert this lead."))
        if contact is not None and account is None:
            raise ValidationError(
                {"contact": _("An existing contact goes with its own account: pick that account.")}
            )
        if contact is not None and account is not None and contact.account_id != account.pk:
            raise ValidationError(
                {"contact": _("This contact belongs to another account than the one chosen.")}
            )

        created_account = account is None
        if created_account:
            name = (account_name or locked.company or str(locked)).strip()[:200]
            if not name:
                raise ValidationError({"account_name": _("Enter the account's name.")})
            account = account_create(by=by, name=name, owner=locked.owner or by)

        created_contact = contact is None
        if created_contact:
            contact = contact_create(
                by=by,
                first_name=locked.first_name,
                last_name=locked.last_name,
                email=locked.email,
                phone=locked.phone,
                job_title=locked.job_title,
                account=account,
                is_decision_maker=locked.authority_ok,
            )

        opportunity = None
        if create_opportunity:
            values: dict[str, Any] = {
                "name": (opportunity_name or default_opportunity_name(locked)).strip()[:200],
                "account": account,
                "primary_contact": contact,
                "owner": locked.owner or by,
                "partner": locked.partner,
                "stage": Stage.QUALIFICATION,
                "amount": amount,
                "close_date": close_date or default_close_date(),
                "source": locked.source,
                "lead": locked,
                "site_address": locked.project_name[:255],
                **{name: getattr(locked, name) for name in BANT_FIELDS},
                **{name: getattr(locked, name) for name in CHARACTERISTIC_FIELDS},
                **{name: getattr(locked, name) for name in SIGNAL_FIELDS},
            }
            if opportunity_type:
                values["type"] = opportunity_type
            opportunity = opportunity_create(by=by, tag="lead-conversion", at=now, **values)

        from_status = locked.status
        locked.status = LeadStatus.CONVERTED
        locked.status_changed_at = now
        locked.converted_at = now
        locked.converted_account = account
        locked.converted_contact = contact
        locked.converted_opportunity = opportunity
        if opportunity is not None:
            locked.deal_progress = funnel.progress(
                stage=opportunity.stage,
                furthest_rank=opportunity.furthest_rank,
                in_qualification_once=opportunity.stage == Stage.QUALIFICATION,
            )
        locked.save(
            update_fields=[
                "status",
                "status_changed_at",
                "converted_at",
                "converted_account",
                "converted_contact",
                "converted_opportunity",
                "deal_progress",
            ]
        )
        _record_status(
            lead=locked, from_status=from_status, to_status=LeadStatus.CONVERTED, by=by, at=now
        )
        events.publish(
            events.LEAD_CONVERTED, record=locked, before={"status": from_status}, by=by, at=now
        )
    lead.refresh_from_db()
    return ConversionResult(
        lead=lead,
        account=account,
        contact=contact,
        opportunity=opportunity,
        created_account=created_account,
        created_contact=created_contact,
    )


# --- public web form ------------------------------------------------------------------


def public_form_allowed(*, ip_address: str, rate: str, at: datetime.datetime | None = None) -> bool:
    """Record this post and say whether the address is still under its limit.

    Every post counts, accepted or not, so a robot gains nothing by retrying.
    """

    now = at or timezone.now()
    limit, window = parse_rate(rate)
    with transaction.atomic():
        recent = PublicFormSubmission.objects.filter(
            ip_address=ip_address, submitted_at__gt=now - window
        ).count()
        PublicFormSubmission.objects.create(ip_address=ip_address, submitted_at=now)
        # Old rows are of no use to the limit.
        PublicFormSubmission.objects.filter(
            submitted_at__lt=now - datetime.timedelta(days=2)
        ).delete()
    return recent < limit


def web_lead_create(**values: Any) -> Lead:
    """A lead from the public form: New, source web form, internal origin, no owner."""
    values = {
        k: v
        for k, v in values.items()
        if k in ("first_name", "last_name", "email", "phone", "company", "job_title", "notes")
    }
    return lead_create(by=None, source=Source.WEB_FORM, origin=OriginChannel.INTERNAL, **values)
