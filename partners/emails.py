"""The partner's emails about their registrations, each in the recipient's language.

Written into the outbox (``climcrm.outbox``) with the change they tell about; a worker
sends them, and retries while the mail server fails.
"""

from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from climcrm import outbox
from climcrm.models import User
from partners.models import DealRegistration, RegistrationStatus


def registration_recipients(registration: DealRegistration) -> list[User]:
    """Who registered the deal and the partner's sales directors, active and with an email."""
    recipients = list(
        User.objects.filter(
            partner_id=registration.partner_id,
            partner_title=User.PartnerTitle.SALES_DIRECTOR,
            is_active=True,
        ).exclude(email="")
    )
    author = registration.registered_by
    if (
        author is not None
        and author.is_active
        and author.email
        and author.partner_id == registration.partner_id
        and all(user.pk != author.pk for user in recipients)
    ):
        recipients.insert(0, author)
    return recipients


def _subject(registration: DealRegistration) -> str:
    subjects = {
        RegistrationStatus.ACCEPTED: _("Deal registration accepted: %(company)s"),
        RegistrationStatus.REJECTED: _("Deal registration rejected: %(company)s"),
        RegistrationStatus.RETURNED: _(
            "Deal registration returned for more information: %(company)s"
        ),
    }
    return subjects[RegistrationStatus(registration.status)] % {
        "company": registration.company_name
    }


def _url(registration: DealRegistration) -> str:
    return settings.CRM_BASE_URL + reverse("partners:registration-detail", args=[registration.pk])


def _render(template: str, subject: str, context: dict, *, to: User) -> dict[str, str]:
    """Subject, text and HTML of one email, in the recipient's language."""
    with translation.override(to.language or settings.LANGUAGE_CODE):
        return {
            "subject": str(subject),
            "text": render_to_string(f"partners/emails/{template}.txt", context),
            "html": render_to_string(f"partners/emails/{template}.html", context),
        }


def registration_decision_queue(registration_id: int) -> int:
    """Write the decision's email to each recipient into the outbox, in the transaction
    of the decision: they leave once it commits (and never if it rolls back)."""
    registration = (
        DealRegistration.objects.select_related("partner__account", "decided_by", "registered_by")
        .filter(pk=registration_id)
        .first()
    )
    if registration is None or registration.status == RegistrationStatus.SUBMITTED:
        return 0
    queued = 0
    for user in registration_recipients(registration):
        with translation.override(user.language or settings.LANGUAGE_CODE):
            subject = _subject(registration)
        context = {"registration": registration, "recipient": user, "url": _url(registration)}
        email = _render("registration_decision", subject, context, to=user)
        outbox.email_queue(
            to=user.email,
            kind="registration_decision",
            language=user.language,
            recipient=user,
            **email,
        )
        queued += 1
    return queued


def protection_recipients(registration: DealRegistration) -> list[User]:
    """The partner's recipients and its channel manager, who may renew the protection."""
    people = registration_recipients(registration)
    manager = registration.partner.channel_manager
    if (
        manager is not None
        and manager.is_active
        and manager.email
        and all(user.pk != manager.pk for user in people)
    ):
        people.append(manager)
    return people


def protection_notice_queue(registration: DealRegistration, *, expired: bool) -> int:
    """Tell the partner and its channel manager that the registration's protection ends
    soon (or has ended); once per recipient and protection end date."""
    kind = "registration_expired" if expired else "registration_expiring"
    queued = 0
    for user in protection_recipients(registration):
        with translation.override(user.language or settings.LANGUAGE_CODE):
            values = {"company": registration.company_name}
            subject = (
                _("Deal registration protection ended: %(company)s") % values
                if expired
                else _("Deal registration protection ends soon: %(company)s") % values
            )
        context = {
            "registration": registration,
            "recipient": user,
            "url": _url(registration),
            "expired": expired,
        }
        email = _render("registration_protection", subject, context, to=user)
        row = outbox.email_queue(
            to=user.email,
            kind=kind,
            language=user.language,
            recipient=user,
            key=f"{kind}:{registration.pk}:{registration.protected_until}:{user.pk}",
            **email,
        )
        queued += row is not None
    return queued
