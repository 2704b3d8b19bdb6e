"""Writes of the partner channel: registrations, their decisions, business plans, assignment.

Deals are only ever created or changed through ``opportunities.services``; this module
adds the partner rules around them and schedules the partner's emails after commit.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from accounts.models import Account, Contact, Partner, PartnerTarget
from accounts.services import account_create
from climcrm import events
from climcrm.roles import is_channel_manager, is_internal, is_partner_user
from climcrm.text import company_email_domain, normalize_company_name, normalize_postal_address
from opportunities.models import Opportunity
from opportunities.services import StaleVersionError, opportunity_create, opportunity_update
from partners.emails import registration_decision_queue
from partners.models import (
    EDITABLE_STATUSES,
    ConflictDecision,
    ConflictDecisionEntry,
    ConflictNotice,
    ConflictOutcome,
    DealRegistration,
    MatchKey,
    RegistrationEvent,
    RegistrationStatus,
    missing_mandatory_fields,
)
from partners.selectors import conflict_group_members, first_submissions, protecting_claim

if TYPE_CHECKING:
    from collections.abc import Iterable

    from climcrm.models import User

REGISTRATION_FIELDS = (
    "company_name",
    "contact_first_name",
    "contact_last_name",
    "contact_email",
    "contact_phone",
    "need",
    "estimated_amount",
    "expected_close_date",
    "project_name",
    "site_address",
)
ASSIGNMENT_TAG = "partner-assignment"
REGISTRATION_TAG = "deal-registration"


def can_decide_registrations(user: User) -> bool:
    return is_channel_manager(user)


def can_register_for(user: User, partner: Partner) -> bool:
    if is_partner_user(user):
        return user.partner_id == partner.pk
    return is_internal(user)


def can_edit_registration(user: User, registration: DealRegistration) -> bool:
    if registration.status not in EDITABLE_STATUSES:
        return False
    if is_partner_user(user):
        return registration.partner_id == user.partner_id
    return is_internal(user)


def _fill_match_keys(registration: DealRegistration) -> None:
    """The keys the conflict queue groups registrations by (see partners.models)."""
    registration.normalized_company = normalize_company_name(registration.company_name)
    registration.email_domain = company_email_domain(registration.contact_email)
    registration.address_key = normalize_postal_address(registration.site_address)


def _record(
    registration: DealRegistration,
    *,
    from_status: str,
    by: User,
    note: str = "",
    at: datetime.datetime | None = None,
) -> None:
    RegistrationEvent.objects.create(
        registration=registration,
        from_status=from_status,
        to_status=registration.status,
        by=by if getattr(by, "pk", None) else None,
        note=note,
        at=at or timezone.now(),
    )


def _clean(values: dict[str, Any]) -> dict[str, Any]:
    cleaned = {k: v for k, v in values.items() if k in REGISTRATION_FIELDS}
    for name in REGISTRATION_FIELDS:
        if (
            name in cleaned
            and cleaned[name] is None
            and name
            not in (
                "estimated_amount",
                "expected_close_date",
            )
        ):
            cleaned[name] = ""
    amount = cleaned.get("estimated_amount")
    if amount is not None and Decimal(amount) < 0:
        raise ValidationError({"estimated_amount": _("The amount cannot be negative.")})
    return cleaned


def registration_submit(
    *, by: User, partner: Partner | None = None, at: datetime.datetime | None = None, **values: Any
) -> DealRegistration:
    """A partner user registers a deal for their partner; internal staff choose the partner."""
    if is_partner_user(by):
        partner = by.partner
    if partner is None:
        raise ValidationError({"partner": _("Choose the partner this deal is registered for.")})
    if not can_register_for(by, partner):
        raise PermissionError(_("You may not register deals for this partner."))
    cleaned = _clean(values)
    if not cleaned.get("company_name", "").strip():
        raise ValidationError({"company_name": _("Enter the company name.")})
    now = at or timezone.now()
    with transaction.atomic():
        registration = DealRegistration(
            partner=partner,
            registered_by=by,
            submitted_at=now,
            status=RegistrationStatus.SUBMITTED,
            **cleaned,
        )
        _fill_match_keys(registration)
        registration.full_clean()
        registration.save()
        _record(registration, from_status="", by=by, at=now)
        events.publish(events.REGISTRATION_SUBMITTED, record=registration, by=by, at=now)
    return registration


def registration_update(
    *, registration: DealRegistration, by: User, changes: dict[str, Any]
) -> DealRegistration:
    """Edit a submitted or returned registration; a returned one goes back to the queue."""
    cleaned = _clean(changes)
    with transaction.atomic():
        locked = DealRegistration.objects.select_for_update().get(pk=registration.pk)
        if not can_edit_registration(by, locked):
            raise PermissionError(_("This registration can no longer be changed."))
        for name, value in cleaned.items():
            setattr(locked, name, value)
        if not locked.company_name.strip():
            raise ValidationError({"company_name": _("Enter the company name.")})
        _fill_match_keys(locked)
        previous = locked.status
        if previous == RegistrationStatus.RETURNED:
            locked.status = RegistrationStatus.SUBMITTED
            locked.submitted_at = timezone.now()
        locked.full_clean()
        locked.save()
        # Every change is a row: the conflict queue counts them as the partner's activity.
        _record(
            locked,
            from_status=previous,
            by=by,
            note=_("Resubmitted") if previous != locked.status else _("Updated"),
        )
    registration.refresh_from_db()
    return registration


def _lock_for_decision(
    registration: DealRegistration,
    by: User,
    allowed: tuple[str, ...] = (RegistrationStatus.SUBMITTED,),
) -> DealRegistration:
    if not can_decide_registrations(by):
        raise PermissionError(_("Only channel managers decide on deal registrations."))
    locked = DealRegistration.objects.select_for_update().get(pk=registration.pk)
    if locked.status not in allowed:
        raise ValidationError(
            _("This registration was already decided (%(status)s).")
            % {"status": locked.get_status_display()}
        )
    return locked


@dataclass
class AcceptResult:
    registration: DealRegistration
    account: Account
    contact: Contact
    opportunity: Opportunity
    created: list[str] = field(default_factory=list)


def protection_end(start: datetime.date) -> datetime.date:
    return start + datetime.timedelta(days=settings.CRM_REGISTRATION_PROTECTION_DAYS)


def registration_accept(
    *,
    registration: DealRegistration,
    by: User,
    owner: User | None = None,
    account: Account | None = None,
    contact: Contact | None = None,
    at: datetime.datetime | None = None,
    notify: bool = True,
) -> AcceptResult:
    """Accept a complete registration: link or create the account and the contact, and
    create the deal assigned to the partner (owner: the chosen internal user, else the
    channel manager deciding)."""
    now = at or timezone.now()
    with transaction.atomic():
        locked = _lock_for_decision(registration, by)
        missing = missing_mandatory_fields(locked)
        if missing:
            raise ValidationError(
                _("Every mandatory field must be filled before acceptance. Missing: %(fields)s.")
                % {"fields": ", ".join(missing)}
            )
        blocking = protecting_claim(locked, on=timezone.localdate(now))
        if blocking is not None:
            raise ValidationError(
                _(
                    "The customer is protected by another partner's accepted registration "
                    "until %(date)s: this registration cannot be accepted before then."
                )
                % {"date": date_format(blocking.protected_until, "SHORT_DATE_FORMAT")}
            )
        owner = owner or by
        if owner is None or not is_internal(owner):
            raise ValidationError({"owner": _("The deal owner must be an internal user.")})
        created = []
        if contact is not None and account is None:
            account = contact.account
        if contact is not None and account is not None and contact.account_id != account.pk:
            raise ValidationError({"contact": _("The contact must belong to the chosen account.")})
        if account is None:
            account = account_create(by=by, name=locked.company_name.strip(), owner=owner)
            created.append("account")
        if contact is None:
            # Built here rather than through accounts.services.contact_create, which cannot
            # take an account on a new contact yet.
            contact = Contact(
                account=account,
                first_name=locked.contact_first_name.strip(),
                last_name=locked.contact_last_name.strip(),
                email=locked.contact_email.strip().lower(),
                phone=locked.contact_phone.strip(),
            )
            contact.full_clean()
            contact.save()
            created.append("contact")
        name = locked.project_name.strip() or locked.company_name.strip()
        opportunity = opportunity_create(
            by=by,
            tag=REGISTRATION_TAG,
            at=now,
            name=name[:200],
            account=account,
            primary_contact=contact,
            owner=owner,
            partner=locked.partner,
            amount=locked.estimated_amount,
            close_date=locked.expected_close_date,
            need_ok=True,
            need_note=locked.need.strip()[:255],
            site_address=locked.site_address.strip(),
        )
        created.append("opportunity")
        previous = locked.status
        locked.status = RegistrationStatus.ACCEPTED
        locked.decided_by = by
        locked.decided_at = now
        locked.decision_reason = ""
        locked.protected_until = protection_end(timezone.localdate(now))
        locked.account = account
        locked.contact = contact
        locked.opportunity = opportunity
        locked.save()
        _record(locked, from_status=previous, by=by, at=now)
        events.publish(
            events.REGISTRATION_DECIDED, record=locked, before={"status": previous}, by=by, at=now
        )
        if notify:
            _notify_partner(locked)
    registration.refresh_from_db()
    return AcceptResult(registration, account, contact, opportunity, created)


def _refuse(
    locked: DealRegistration,
    *,
    by: User,
    reason: str,
    to_status: str,
    now: datetime.datetime,
    notify: bool,
) -> None:
    previous = locked.status
    locked.status = to_status
    locked.decision_reason = reason
    locked.decided_by = by
    locked.decided_at = now
    locked.save()
    _record(locked, from_status=previous, by=by, note=reason, at=now)
    events.publish(
        events.REGISTRATION_DECIDED, record=locked, before={"status": previous}, by=by, at=now
    )
    if notify:
        _notify_partner(locked)


def _decide_with_reason(
    *,
    registration: DealRegistration,
    by: User,
    reason: str,
    to_status: str,
    at: datetime.datetime | None = None,
    notify: bool = True,
) -> DealRegistration:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Give the reason: the partner will read it.")})
    now = at or timezone.now()
    with transaction.atomic():
        locked = _lock_for_decision(registration, by)
        _refuse(locked, by=by, reason=reason, to_status=to_status, now=now, notify=notify)
    registration.refresh_from_db()
    return registration


def registration_reject(
    *,
    registration: DealRegistration,
    by: User,
    reason: str,
    at: datetime.datetime | None = None,
    notify: bool = True,
) -> DealRegistration:
    return _decide_with_reason(
        registration=registration,
        by=by,
        reason=reason,
        to_status=RegistrationStatus.REJECTED,
        at=at,
        notify=notify,
    )


def registration_return(
    *,
    registration: DealRegistration,
    by: User,
    reason: str,
    at: datetime.datetime | None = None,
    notify: bool = True,
) -> DealRegistration:
    """Send back to the partner for more information; they edit and resubmit it."""
    return _decide_with_reason(
        registration=registration,
        by=by,
        reason=reason,
        to_status=RegistrationStatus.RETURNED,
        at=at,
        notify=notify,
    )


def registration_renew(*, registration: DealRegistration, by: User) -> DealRegistration:
    """Extend the protection of an accepted registration from today."""
    if not can_decide_registrations(by):
        raise PermissionError(_("Only channel managers renew deal registrations."))
    with transaction.atomic():
        locked = DealRegistration.objects.select_for_update().get(pk=registration.pk)
        if locked.status != RegistrationStatus.ACCEPTED:
            raise ValidationError(_("Only an accepted registration can be renewed."))
        locked.protected_until = protection_end(timezone.localdate())
        locked.renewed_at = timezone.now()
        locked.save(update_fields=["protected_until", "renewed_at", "updated_at"])
        _record(
            locked,
            from_status=locked.status,
            by=by,
            note=_("Protection renewed until %(date)s") % {"date": locked.protected_until},
        )
    registration.refresh_from_db()
    return registration


def _notify_partner(registration: DealRegistration) -> None:
    # In the decision's transaction: the emails exist exactly when the decision does.
    registration_decision_queue(registration.pk)


def partner_targets_save(*, partner: Partner, by: User, year: int, rows: list[dict]) -> None:
    """Write the four quarters of a year's business plan."""
    if not is_channel_manager(by):
        raise PermissionError(_("Only channel managers and admins edit business plans."))
    with transaction.atomic():
        for row in rows:
            PartnerTarget.objects.update_or_create(
                partner=partner,
                year=year,
                quarter=row["quarter"],
                defaults={
                    "revenue": row.get("revenue") or 0,
                    "new_customers": row.get("new_customers") or 0,
                    "leads": row.get("leads") or 0,
                },
            )


@dataclass
class AssignmentResult:
    changed: list[Opportunity] = field(default_factory=list)
    unchanged: list[Opportunity] = field(default_factory=list)
    failed: list[tuple[Opportunity, str]] = field(default_factory=list)


def opportunity_assign_partner(
    *,
    opportunity: Opportunity,
    partner: Partner | None,
    by: User,
    expected_version: int | str | None,
) -> bool:
    """Assign (or re-assign, or take back with ``partner=None``) one deal; True if changed.

    ``expected_version`` is the version of the deal the user saw (see ``opportunity_update``).
    The partner that loses the deal loses access to it at once: visibility follows the
    deal's partner field. The change lands in the deal's history.
    """
    if not is_channel_manager(by):
        raise PermissionError(_("Only channel managers assign deals to partners."))
    result = opportunity_update(
        opportunity=opportunity,
        by=by,
        changes={"partner": partner},
        expected_version=expected_version,
        tag=ASSIGNMENT_TAG,
    )
    return bool(result.changed_fields)


def opportunities_assign_partner(
    *,
    opportunities: Iterable[Opportunity],
    partner: Partner | None,
    by: User,
    expected_versions: Mapping[int, Any],
) -> AssignmentResult:
    """Bulk assignment; each deal is its own change so one refusal does not undo others.

    ``expected_versions`` maps each deal's id to the version of it the user saw; a deal
    missing from it is refused like a stale one.
    """
    if not is_channel_manager(by):
        raise PermissionError(_("Only channel managers assign deals to partners."))
    result = AssignmentResult()
    for opportunity in opportunities:
        try:
            changed = opportunity_assign_partner(
                opportunity=opportunity,
                partner=partner,
                by=by,
                expected_version=expected_versions.get(opportunity.pk),
            )
        except (PermissionError, ValidationError, StaleVersionError) as exc:
            message = " ".join(getattr(exc, "messages", [str(exc)]))
            result.failed.append((opportunity, message))
            continue
        (result.changed if changed else result.unchanged).append(opportunity)
    return result


# Conflicts between partners -------------------------------------------------------------

REFUSE_REJECT = "reject"
REFUSE_RETURN = "return"


@dataclass
class ConflictResult:
    decision: ConflictDecision
    accepted: AcceptResult | None = None
    refused: list[DealRegistration] = field(default_factory=list)


def _names_a_partner(message: str, members: list[DealRegistration]) -> bool:
    """Whether the message names a partner of the conflict: every refused partner reads it."""
    text = f" {normalize_company_name(message)} "
    for member in members:
        name = normalize_company_name(member.partner.account.name)
        if name and f" {name} " in text:
            return True
    return False


def conflict_notice_text(notice: str, protected_until: datetime.date | None) -> str:
    """What a refused partner reads about the other claims, in the active language."""
    parts = [str(ConflictNotice(notice).label)] if notice else []
    if protected_until is not None:
        parts.append(
            _("The customer is protected until %(date)s.")
            % {"date": date_format(protected_until, "SHORT_DATE_FORMAT")}
        )
    return " ".join(parts)


def _reader_language(registration: DealRegistration) -> str:
    author = registration.registered_by
    if author is not None and author.partner_id == registration.partner_id and author.language:
        return author.language
    return settings.LANGUAGE_CODE


def conflict_decide(
    *,
    by: User,
    kind: str,
    key: str,
    seen: set[int],
    winner_id: int | None,
    reason: str,
    message: str = "",
    refusal: str = REFUSE_REJECT,
    owner: User | None = None,
    account: Account | None = None,
    contact: Contact | None = None,
    at: datetime.datetime | None = None,
    notify: bool = True,
) -> ConflictResult:
    """Settle a conflict between partners' registrations of one customer, all in one
    transaction: accept the winner (or keep its protection if it is already accepted),
    reject or return every other partner's open registration, and record the decision.

    ``seen`` is the set of registrations the channel manager compared: if the group
    changed meanwhile, nothing is decided. ``winner_id`` None rejects (or returns) them all.
    """
    if not can_decide_registrations(by):
        raise PermissionError(_("Only channel managers decide on deal registrations."))
    if kind not in MatchKey.values:
        raise ValidationError(_("Unknown matching key."))
    reason = (reason or "").strip()
    message = (message or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Give the reason for the decision: it is recorded.")})
    if refusal not in (REFUSE_REJECT, REFUSE_RETURN):
        raise ValidationError({"refusal": _("Choose whether the others are rejected or returned.")})
    if not message and (refusal == REFUSE_RETURN or winner_id is None):
        raise ValidationError(
            {"message": _("Write the message to the partners: they need to know why.")}
        )
    now = at or timezone.now()
    with transaction.atomic():
        members = conflict_group_members(
            kind=kind, key=key, on=timezone.localdate(now), for_update=True
        )
        if {m.pk for m in members} != set(seen):
            raise ValidationError(
                _(
                    "The registrations of this customer changed since the page was opened: "
                    "compare them again before deciding."
                )
            )
        pending = [m for m in members if m.status in EDITABLE_STATUSES]
        if len({m.partner_id for m in members}) < 2 or not pending:
            raise ValidationError(_("There is no conflict left to decide on this customer."))
        if message and _names_a_partner(message, members):
            raise ValidationError(
                {
                    "message": _(
                        "The message must not name a partner: each partner reads it about "
                        "their own registration only."
                    )
                }
            )
        winner = None
        if winner_id is not None:
            winner = next((m for m in members if m.pk == winner_id), None)
            if winner is None:
                raise ValidationError(_("Choose one of the registrations compared here."))
            if winner.status == RegistrationStatus.RETURNED:
                raise ValidationError(
                    _(
                        "A returned registration can be accepted once its partner has "
                        "resubmitted it."
                    )
                )
        first = first_submissions([m.pk for m in members])
        decision = ConflictDecision.objects.create(
            key_kind=kind,
            key_value=key,
            winner=winner,
            reason=reason,
            message=message,
            decided_by=by,
            decided_at=now,
        )
        result = ConflictResult(decision=decision)
        rows = []
        notice = ConflictNotice.NONE
        if winner is not None:
            if winner.status == RegistrationStatus.ACCEPTED:
                outcome, notice = ConflictOutcome.KEPT, ConflictNotice.PROTECTED
            else:
                result.accepted = registration_accept(
                    registration=winner,
                    by=by,
                    owner=owner,
                    account=account,
                    contact=contact,
                    at=now,
                    notify=notify,
                )
                outcome = ConflictOutcome.ACCEPTED
                winner.refresh_from_db()
            rows.append(
                ConflictDecisionEntry(decision=decision, registration=winner, outcome=outcome)
            )
        to_status = (
            RegistrationStatus.REJECTED if refusal == REFUSE_REJECT else RegistrationStatus.RETURNED
        )
        for member in pending:
            if winner is not None and member.partner_id == winner.partner_id:
                # The winner's own other registrations are not in conflict with it.
                continue
            member_notice = notice
            if notice != ConflictNotice.PROTECTED and winner is not None:
                member_notice = (
                    ConflictNotice.FIRST
                    if first[winner.pk] <= first[member.pk]
                    else ConflictNotice.PREFERRED
                )
            protected = winner.protected_until if winner is not None else None
            text = message
            if not text:
                with translation.override(_reader_language(member)):
                    text = conflict_notice_text(member_notice, protected)
            _refuse(member, by=by, reason=text, to_status=to_status, now=now, notify=notify)
            result.refused.append(member)
            rows.append(
                ConflictDecisionEntry(
                    decision=decision,
                    registration=member,
                    outcome=ConflictOutcome(to_status.value),
                    notice=member_notice,
                    protected_until=protected,
                )
            )
        if not result.refused:
            raise ValidationError(
                _("This decision changes nothing: another partner's registration must be refused.")
            )
        ConflictDecisionEntry.objects.bulk_create(rows)
    return result


def can_appeal(user: User, registration: DealRegistration) -> bool:
    """The refused partner may appeal a conflict decision once."""
    if registration.status != RegistrationStatus.REJECTED or registration.appealed_at:
        return False
    if registration.conflict_refusal is None:
        return False
    if is_partner_user(user):
        return registration.partner_id == user.partner_id
    return is_internal(user)


def registration_appeal(
    *, registration: DealRegistration, by: User, text: str, at: datetime.datetime | None = None
) -> DealRegistration:
    """Put a registration refused in a conflict back in the queue, with new information.

    Once only: the decision on the appeal is final.
    """
    text = (text or "").strip()
    if not text:
        raise ValidationError({"appeal": _("Say what is new: the channel manager decides again.")})
    now = at or timezone.now()
    with transaction.atomic():
        locked = DealRegistration.objects.select_for_update().get(pk=registration.pk)
        if is_partner_user(by):
            if locked.partner_id != by.partner_id:
                raise PermissionError(_("You may not appeal for another partner."))
        elif not is_internal(by):
            raise PermissionError(_("You may not appeal for another partner."))
        if locked.appealed_at is not None:
            raise ValidationError(
                _(
                    "This registration was already appealed once: the decision on the appeal "
                    "is final."
                )
            )
        if not can_appeal(by, locked):
            raise ValidationError(
                _("Only a registration refused in a conflict between partners can be appealed.")
            )
        previous = locked.status
        locked.status = RegistrationStatus.SUBMITTED
        locked.appeal = text
        locked.appealed_at = now
        locked.decision_reason = ""
        locked.full_clean()
        locked.save()
        _record(
            locked, from_status=previous, by=by, note=_("Appeal: %(text)s") % {"text": text}, at=now
        )
    registration.refresh_from_db()
    return registration
