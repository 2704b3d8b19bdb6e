"""Deal registrations' periodic job: reminders before a protection ends, notices after."""

import datetime

from django.conf import settings
from django.db import transaction
from django.tasks import task
from django.utils import timezone

from climcrm.scheduling import Daily, periodic
from partners.emails import protection_notice_queue
from partners.models import DealRegistration, RegistrationStatus

# An ended protection is told about for this many days after its end: a worker stopped
# for a while still tells, and an installation's first run does not dig up old ones.
EXPIRED_NOTICE_DAYS = 7


@periodic(Daily(at=datetime.time(7, 0)))
@task
def registration_protection_notices() -> dict[str, int]:
    """Email the partner and its channel manager when an accepted registration's protection
    ends within CRM_REGISTRATION_REMINDER_DAYS, and once it has ended; each email once."""

    today = timezone.localdate()
    soon = today + datetime.timedelta(days=settings.CRM_REGISTRATION_REMINDER_DAYS)
    accepted = DealRegistration.objects.filter(
        status=RegistrationStatus.ACCEPTED, protected_until__isnull=False
    ).select_related("partner__account", "partner__channel_manager", "registered_by")
    ending = accepted.filter(
        protected_until__gte=today,
        protected_until__lte=soon,
    )
    ended = accepted.filter(
        protected_until__lt=today,
        protected_until__gte=today - datetime.timedelta(days=EXPIRED_NOTICE_DAYS),
    )
    result = {"ending": 0, "ended": 0}
    for registrations, expired, counter in ((ending, False, "ending"), (ended, True, "ended")):
        for registration in registrations.order_by("protected_until", "pk"):
            with transaction.atomic():
                result[counter] += protection_notice_queue(registration, expired=expired)
    return result
