"""Erasure on request: a person's identity goes, the business figures stay.

A contact or lead is anonymised in place (the row is kept so deals, amounts, history and
activities still add up); the audit entry says who did it and to which record, never the
erased values.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.models import Contact
from climcrm.audit import audit
from climcrm.models import AuditEntry
from climcrm.roles import is_manager
from leads.models import Lead, LeadStatus

if TYPE_CHECKING:
    from django.http import HttpRequest

    from climcrm.models import User

# Personal fields emptied on a contact; last_name is required, so it gets a placeholder.
CONTACT_WIPED_FIELDS = ("first_name", "email", "phone", "job_title", "notes")
# On a lead: the person, and every free text where people write about the person.
LEAD_WIPED_FIELDS = (
    "first_name",
    "email",
    "phone",
    "job_title",
    "notes",
    "budget_note",
    "authority_note",
    "need_note",
    "timing_note",
    "organisation_note",
    "opportunity_note",
    "stakeholder_note",
    "planned_actions",
)


def can_anonymise(user: User) -> bool:
    """Sales managers and admins (never a partner user)."""
    return is_manager(user)


def anonymised_placeholder() -> str:
    # Stored data, so written in the installation's language rather than the requester's.
    with translation.override(settings.LANGUAGE_CODE):
        return _("Anonymised")


def _check(user: User, obj: Contact | Lead) -> None:
    if not can_anonymise(user):
        raise PermissionError(_("Only sales managers and administrators can anonymise people."))
    if obj.anonymised_at is not None:
        raise ValidationError(_("This record was already anonymised."))


@transaction.atomic
def anonymise_contact(*, contact: Contact, by: User, request: HttpRequest | None = None) -> Contact:
    """Wipe the contact's name, email, phone, job title and notes; keep the row and its links."""
    contact = Contact.objects.select_for_update().get(pk=contact.pk)
    _check(by, contact)
    for name in CONTACT_WIPED_FIELDS:
        setattr(contact, name, "")
    contact.last_name = anonymised_placeholder()
    contact.anonymised_at = timezone.now()
    contact.save(update_fields=[*CONTACT_WIPED_FIELDS, "last_name", "anonymised_at", "updated_at"])
    audit(
        user=by,
        action=AuditEntry.Action.ANONYMISE,
        detail=f"contact #{contact.pk}",
        request=request,
    )
    return contact


@transaction.atomic
def anonymise_lead(*, lead: Lead, by: User, request: HttpRequest | None = None) -> Lead:
    """Wipe the lead's person and free-text notes; status, company, figures and links stay."""
    lead = Lead.objects.select_for_update().get(pk=lead.pk)
    _check(by, lead)
    for name in LEAD_WIPED_FIELDS:
        setattr(lead, name, "")
    lead.last_name = anonymised_placeholder()
    fields = [*LEAD_WIPED_FIELDS, "last_name", "anonymised_at", "updated_at"]
    if lead.disqualification_reason:
        # A disqualified lead must keep a reason (database constraint); its text may name people.
        lead.disqualification_reason = (
            anonymised_placeholder() if lead.status == LeadStatus.DISQUALIFIED else ""
        )
        fields.append("disqualification_reason")
    lead.anonymised_at = timezone.now()
    lead.save(update_fields=fields)
    audit(user=by, action=AuditEntry.Action.ANONYMISE, detail=f"lead #{lead.pk}", request=request)
    return lead
