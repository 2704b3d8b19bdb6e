"""Emails of the weekly forecast call, sent by the periodic jobs of ``forecasting.tasks``:
on the day forecasts are due (``FORECAST_SUBMISSION_WEEKDAY``, 0 Monday … 6 Sunday), a
reminder to each rep and partner sales director who has not submitted this week; later
that day, each manager and channel manager is told who has still not submitted.

Each email is written once per person and week (outbox key): a job run twice sends
nothing more. The period is the current one of ``FORECAST_SUBMISSION_KIND``.
"""

import datetime

from django.conf import settings
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from climcrm import outbox
from climcrm.models import User
from climcrm.periods import QUARTER, Period, period_containing
from climcrm.roles import Role
from forecasting.submissions import partner_key, rep_key, week_of

DEFAULT_WEEKDAY = 4  # Friday: the week's forecast call (seed 001)


def due_weekday() -> int:
    return int(getattr(settings, "FORECAST_SUBMISSION_WEEKDAY", DEFAULT_WEEKDAY)) % 7


def reminder_period(today: datetime.date) -> Period:
    return period_containing(getattr(settings, "FORECAST_SUBMISSION_KIND", QUARTER), today)


def _submitted_this_week(period: Period, week: datetime.date) -> set[str]:
    from forecasting.models import ForecastSubmission

    return set(
        ForecastSubmission.objects.filter(
            period_kind=period.kind, period_start=period.start, week__gte=week
        ).values_list("scope_key", flat=True)
    )


def _expected(period: Period, week: datetime.date):
    """The reps and the partner sales directors who owe this week's forecast, each with
    the key of the forecast they owe."""
    from accounts.models import Partner

    done = _submitted_this_week(period, week)
    reps = (
        User.objects.filter(is_active=True, partner__isnull=True, groups__name=Role.SALES_REP)
        .exclude(email="")
        .select_related("manager")
        .distinct()
    )
    directors = (
        User.objects.filter(
            is_active=True,
            partner__is_active=True,
            partner_title=User.PartnerTitle.SALES_DIRECTOR,
        )
        .exclude(email="")
        .select_related("partner__account", "partner__channel_manager")
    )
    missing_reps = [rep for rep in reps if rep_key(rep.pk) not in done]
    missing_partners = [
        partner
        for partner in Partner.objects.filter(is_active=True)
        .select_related("account", "channel_manager")
        .order_by("account__name")
        if partner_key(partner.pk) not in done
    ]
    missing_partner_ids = {partner.pk for partner in missing_partners}
    missing_directors = [d for d in directors if d.partner_id in missing_partner_ids]
    return missing_reps, missing_directors, missing_partners


def _url(period: Period, name: str) -> str:
    return (
        settings.CRM_BASE_URL
        + reverse(f"forecasting:{name}")
        + f"?kind={period.kind}&period={period.key}"
    )


def submission_reminders_queue(*, now: datetime.datetime | None = None) -> int:
    """On the due day, remind whoever has not submitted this week; the number queued."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    if today.weekday() != due_weekday():
        return 0
    period, week = reminder_period(today), week_of(today)
    reps, directors, _partners = _expected(period, week)
    queued = 0
    for user in [*reps, *directors]:
        with translation.override(user.language or settings.LANGUAGE_CODE):
            subject = _("Your forecast for %(period)s is due today") % {"period": period.label}
            text = "\n\n".join(
                [
                    _("Hello %(name)s,") % {"name": user.get_full_name() or user.username},
                    _(
                        "The forecast for %(period)s is due today and you have not submitted "
                        "it this week. Submit Commit and Best Case here:"
                    )
                    % {"period": period.label},
                    _url(period, "submission-form"),
                ]
            )
        row = outbox.email_queue(
            to=user.email,
            subject=subject,
            text=text,
            kind="forecast_due",
            language=user.language,
            recipient=user,
            key=f"forecast_due:{period.kind}:{period.start}:{week}:{user.pk}",
        )
        queued += row is not None
    return queued


def missing_submissions_queue(*, now: datetime.datetime | None = None) -> int:
    """On the due day, tell each manager (and channel manager) whose reps (partners) have
    not submitted this week who they are; the number of emails queued."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    if today.weekday() != due_weekday():
        return 0
    period, week = reminder_period(today), week_of(today)
    reps, _directors, partners = _expected(period, week)
    names: dict[int, list[str]] = {}
    overseers: dict[int, User] = {}
    for rep in reps:
        if rep.manager is not None and rep.manager.is_active and rep.manager.email:
            overseers[rep.manager.pk] = rep.manager
            names.setdefault(rep.manager.pk, []).append(rep.get_full_name() or rep.username)
    for partner in partners:
        manager = partner.channel_manager
        if manager is not None and manager.is_active and manager.email:
            overseers[manager.pk] = manager
            names.setdefault(manager.pk, []).append(partner.account.name)
    queued = 0
    for pk, manager in overseers.items():
        with translation.override(manager.language or settings.LANGUAGE_CODE):
            subject = _("Forecasts not yet submitted for %(period)s") % {"period": period.label}
            text = "\n\n".join(
                [
                    _("Hello %(name)s,") % {"name": manager.get_full_name() or manager.username},
                    _("These forecasts for %(period)s have not been submitted this week:")
                    % {"period": period.label},
                    "\n".join(f"- {name}" for name in sorted(names[pk])),
                    _url(period, "submission-call"),
                ]
            )
        row = outbox.email_queue(
            to=manager.email,
            subject=subject,
            text=text,
            kind="forecast_missing",
            language=manager.language,
            recipient=manager,
            key=f"forecast_missing:{period.kind}:{period.start}:{week}:{pk}",
        )
        queued += row is not None
    return queued
