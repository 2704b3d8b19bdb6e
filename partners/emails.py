"""The partner's emails about their registrations, each in the recipient's language."""

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

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


def send_registration_decision(registration_id: int) -> int:
    """Email the decision on a registration to its partner; returns the number sent."""
    registration = (
        DealRegistration.objects.select_related("partner__account", "decided_by", "registered_by")
        .filter(pk=registration_id)
        .first()
    )
    if registration is None or registration.status == RegistrationStatus.SUBMITTED:
        return 0
    base_url = getattr(settings, "CRM_BASE_URL", "").rstrip("/")
    url = base_url + reverse("partners:registration-detail", args=[registration.pk])
    sent = 0
    for user in registration_recipients(registration):
        with translation.override(user.language or settings.LANGUAGE_CODE):
            context = {"registration": registration, "recipient": user, "url": url}
            message = EmailMultiAlternatives(
                subject=_subject(registration),
                body=render_to_string("partners/emails/registration_decision.txt", context),
                from_email=settings.DEFAULT_FROM_EMAIL,
                to=[user.email],
            )
            message.attach_alternative(
                render_to_string("partners/emails/registration_decision.html", context),
                "text/html",
            )
            sent += message.send()
    return sent
