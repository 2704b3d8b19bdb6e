"""Forecast submissions and managers' adjustments: what reps and partners submit for a
period each week, and the judgment their managers add on top.

Writes: ``forecast_submission_create``, ``forecast_adjustment_create`` and, on a team's or a
channel's total, ``forecast_group_adjustment_create``. Reads: the latest submission of each
rep or partner for a period (``latest_submissions``, ``submitted_figures``), the latest
adjustments of groups' totals (``group_adjustments``), the deals a submission would be made
of (``forecast_proposal``) and who oversees whom (``overseen_reps``, ``overseen_partners``,
``can_adjust``, ``can_adjust_group``).

Hierarchy: a rep's manager is ``User.manager``; the manager's own manager (sales director)
is the level above. A partner's channel manager is ``Partner.channel_manager``; the channel
manager's manager is the head of channel. Three levels are followed, enough for the
hierarchies the roles describe.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from climcrm.models import User
from climcrm.periods import MONTH, QUARTER, Period
from climcrm.roles import (
    Role,
    is_admin,
    is_channel_manager,
    is_internal,
    is_manager,
    is_partner_user,
    roles_of,
)
from forecasting.models import (
    ForecastAdjustment,
    ForecastFigure,
    ForecastGroupAdjustment,
    ForecastSubmission,
    ForecastSubmissionLine,
)
from opportunities.models import OPEN_STAGES, ForecastCategory, Opportunity, Stage

if TYPE_CHECKING:
    from accounts.models import Partner

ZERO = Decimal("0")
SUBMISSION_KINDS = (MONTH, QUARTER)
# The deals behind a submission: won, or open in Commit or Best Case.
WON = Q(stage=Stage.CLOSED_WON)
OPEN_COMMIT = Q(stage__in=OPEN_STAGES, forecast_category=ForecastCategory.COMMIT)
OPEN_BEST_CASE = Q(stage__in=OPEN_STAGES, forecast_category=ForecastCategory.BEST_CASE)
FORECAST_DEALS = WON | OPEN_COMMIT | OPEN_BEST_CASE
# Three levels of managers above a person (manager, sales director, the level above).
_ABOVE = ("manager", "manager__manager", "manager__manager__manager")


def week_of(day: datetime.date) -> datetime.date:
    """The Monday of the week ``day`` falls in."""
    return day - datetime.timedelta(days=day.weekday())


def rep_key(user_id: int) -> str:
    return f"rep:{user_id}"


def partner_key(partner_id: int) -> str:
    return f"partner:{partner_id}"


TEAM = "team"
CHANNEL = "channel"
GROUP_KINDS = (TEAM, CHANNEL)


def group_key(kind: str, head_id: int) -> str:
    """ "team:<manager id>" (the reps of one manager) or "channel:<channel manager id>"
    (the partners of one channel manager)."""
    return f"{kind}:{head_id}"


def parse_group_key(key: str) -> tuple[str, int] | None:
    kind, _sep, head = (key or "").partition(":")
    if kind not in GROUP_KINDS or not head.isdigit() or int(head) <= 0:
        return None
    return kind, int(head)


def adjustments_visible_to_partners() -> bool:
    """Whether partner users see the internal judgment on their partner's forecast."""
    return bool(getattr(settings, "FORECAST_ADJUSTMENTS_VISIBLE_TO_PARTNERS", False))


# ---------------------------------------------------------------- who oversees whom


def _subtree_q(user, prefix: str = "") -> Q:
    q = Q()
    for path in _ABOVE:
        q |= Q(**{f"{prefix}{path}": user.pk})
    return q


def overseen_reps(user) -> QuerySet:
    """The reps whose forecast ``user`` reads: their own (unless a manager who is not a
    rep); the reps of a manager's team down three levels; every rep for an admin. Never
    for partner users."""
    reps = User.objects.filter(is_active=True, partner__isnull=True)
    if is_partner_user(user) or not is_internal(user):
        return reps.none()
    # A rep's own row; a manager or channel manager who is not also a rep has none.
    overseer = is_manager(user) or is_channel_manager(user)
    own = Q(pk=user.pk) if Role.SALES_REP in roles_of(user) or not overseer else Q()
    if not is_admin(user):
        reps = reps.filter((_subtree_q(user) & Q(groups__name=Role.SALES_REP)) | own)
    else:
        reps = reps.filter(Q(groups__name=Role.SALES_REP) | own)
    return reps.distinct().order_by("last_name", "first_name", "username")


def overseen_partners(user) -> QuerySet:
    """The partners whose forecast ``user`` reads: a partner user's own; those of a
    channel manager, of the channel managers below a head of channel, of a manager's team;
    all for an admin."""
    from accounts.models import Partner

    partners = Partner.objects.filter(is_active=True)
    if is_partner_user(user):
        return partners.filter(pk=user.partner_id)
    if not is_internal(user):
        return partners.none()
    if not is_admin(user):
        partners = partners.filter(
            Q(channel_manager=user.pk) | _subtree_q(user, "channel_manager__")
        )
    return partners.order_by("account__name")


def can_submit_for_partner(user, partner: Partner) -> bool:
    return (
        is_partner_user(user)
        and user.partner_id == partner.pk
        and user.partner_title == User.PartnerTitle.SALES_DIRECTOR
    )


def can_adjust(user, submission: ForecastSubmission) -> bool:
    """A manager above the rep, the channel manager or head of channel above the partner,
    or an admin; never a partner user, never one's own submission."""
    if is_partner_user(user) or not is_internal(user):
        return False
    if is_admin(user):
        return True
    if submission.user_id is not None:
        if submission.user_id == user.pk or not is_manager(user):
            return False
        return overseen_reps(user).filter(pk=submission.user_id).exists()
    if not (is_channel_manager(user) or is_manager(user)):
        return False
    return overseen_partners(user).filter(pk=submission.partner_id).exists()


# Three levels of managers above a team's or a channel's head.
_HEAD_ABOVE = tuple(f"{path}_id" for path in _ABOVE)


def may_adjust_group(user, kind: str, head_id: int, above_head: list) -> bool:
    """Whether ``user`` adjusts the total of the group led by ``head_id``, whose managers
    (three levels up) are ``above_head``: an admin, or a sales manager above the team's
    manager (sales director), a channel manager or sales manager above the channel manager
    (head of channel). Never the head themself, never a partner user. No query."""
    if is_partner_user(user) or not is_internal(user) or head_id == user.pk:
        return False
    if is_admin(user):
        return True
    allowed = is_manager(user) if kind == TEAM else is_manager(user) or is_channel_manager(user)
    return allowed and user.pk in above_head


def _head_above(head_id: int) -> list | None:
    row = User.objects.filter(pk=head_id).values(*_HEAD_ABOVE).first()
    return None if row is None else [row[name] for name in _HEAD_ABOVE]


def can_adjust_group(user, key: str) -> bool:
    parsed = parse_group_key(key)
    if parsed is None or is_partner_user(user) or not is_internal(user):
        return False
    above = _head_above(parsed[1])
    return above is not None and may_adjust_group(user, parsed[0], parsed[1], above)


def group_member_keys(key: str) -> list[str]:
    """The reps of a team (active, sales reps) or the partners of a channel (active)."""
    from accounts.models import Partner

    parsed = parse_group_key(key)
    if parsed is None:
        return []
    kind, head_id = parsed
    if kind == TEAM:
        reps = User.objects.filter(
            is_active=True, partner__isnull=True, manager_id=head_id, groups__name=Role.SALES_REP
        )
        return [rep_key(pk) for pk in reps.values_list("pk", flat=True).distinct()]
    partners = Partner.objects.filter(is_active=True, channel_manager_id=head_id)
    return [partner_key(pk) for pk in partners.values_list("pk", flat=True)]


# ---------------------------------------------------------------- the proposal


@dataclass
class Proposal:
    commit: Decimal
    best_case: Decimal
    deals: QuerySet


def subject_deals(*, period: Period, user=None, partner=None) -> QuerySet:
    """The deals behind a rep's (``user``) or a partner's forecast for the period."""
    deals = Opportunity.objects.filter(close_date__gte=period.start, close_date__lt=period.end)
    deals = deals.filter(owner=user) if user is not None else deals.filter(partner=partner)
    return deals.filter(FORECAST_DEALS)


def forecast_proposal(*, period: Period, user=None, partner=None) -> Proposal:
    """Commit (won + open Commit) and Best Case (Commit + open Best Case) from the deals,
    in one query, with the deals themselves."""
    deals = subject_deals(period=period, user=user, partner=partner)
    sums = deals.order_by().aggregate(
        won=Sum("amount", filter=WON, default=ZERO),
        commit=Sum("amount", filter=OPEN_COMMIT, default=ZERO),
        best_case=Sum("amount", filter=OPEN_BEST_CASE, default=ZERO),
    )
    commit = sums["won"] + sums["commit"]
    return Proposal(
        commit=commit,
        best_case=commit + sums["best_case"],
        deals=deals.order_by("close_date", "id"),
    )


# ---------------------------------------------------------------- writes


def _figure(value, name: str, errors: dict) -> Decimal | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        errors[name] = _("Enter this figure.")
        return None
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        errors[name] = _("Enter a number.")
        return None
    if not amount.is_finite():
        errors[name] = _("Enter a number.")
        return None
    if amount < 0:
        errors[name] = _("A forecast figure cannot be negative.")
        return None
    if amount >= Decimal("1e14"):
        errors[name] = _("This figure is too large.")
        return None
    return amount.quantize(Decimal("0.01"))


def _check_period(period: Period, today: datetime.date, errors: dict) -> None:
    if period.kind not in SUBMISSION_KINDS:
        errors["period"] = _("A forecast is submitted for a month or a quarter.")
    elif period.end <= today:
        errors["period"] = _("This period has ended: its forecast can no longer be submitted.")


def _adjustment(
    *, figure: str, to_amount, note: str, period: Period, now: datetime.datetime
) -> tuple[Decimal, str]:
    """The checked figure and note of an adjustment (of a submission or of a group's
    total); every error at once, as a ``ValidationError``."""
    errors: dict = {}
    if figure not in ForecastFigure.values:
        errors["figure"] = _("Choose Commit or Best Case.")
    amount = _figure(to_amount, "to_amount", errors)
    note = (note or "").strip()
    if not note:
        errors["note"] = _("Say why the figure is adjusted.")
    _check_period(period, timezone.localdate(now), errors)
    if errors or amount is None:
        raise ValidationError(errors)
    return amount, note


def forecast_submission_create(
    *,
    by: User,
    period: Period,
    commit,
    best_case,
    note: str = "",
    partner: Partner | None = None,
    now: datetime.datetime | None = None,
) -> ForecastSubmission:
    """Freeze a forecast for the period: a rep's own (``partner`` None) or, by the
    partner's sales director, the partner's. All checks first; nothing is written when
    one fails."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    if partner is not None:
        if not can_submit_for_partner(by, partner):
            raise PermissionDenied(_("Only the partner's sales director submits its forecast."))
    elif is_partner_user(by) or not is_internal(by):
        raise PermissionDenied(_("Only a sales rep submits a forecast of their own deals."))
    errors: dict = {}
    _check_period(period, today, errors)
    commit_value = _figure(commit, "commit", errors)
    best_case_value = _figure(best_case, "best_case", errors)
    if errors or commit_value is None or best_case_value is None:
        raise ValidationError(errors)
    subject = {"partner": partner} if partner is not None else {"user": by}
    with transaction.atomic():
        proposal = forecast_proposal(period=period, **subject)
        submission = ForecastSubmission.objects.create(
            period_kind=period.kind,
            period_start=period.start,
            scope_key=partner_key(partner.pk) if partner is not None else rep_key(by.pk),
            week=week_of(today),
            commit=commit_value,
            best_case=best_case_value,
            proposed_commit=proposal.commit,
            proposed_best_case=proposal.best_case,
            note=(note or "").strip(),
            submitted_by=by,
            submitted_at=now,
            **subject,
        )
        ForecastSubmissionLine.objects.bulk_create(
            ForecastSubmissionLine(
                submission=submission,
                deal_id=row["pk"],
                name=row["name"],
                amount=row["amount"],
                forecast_category=row["forecast_category"],
                stage=row["stage"],
                close_date=row["close_date"],
            )
            for row in proposal.deals.values(
                "pk", "name", "amount", "forecast_category", "stage", "close_date"
            ).iterator()
        )
    return submission


def forecast_adjustment_create(
    *,
    by: User,
    submission: ForecastSubmission,
    figure: str,
    to_amount,
    note: str,
    now: datetime.datetime | None = None,
) -> ForecastAdjustment:
    """A manager's adjustment of one figure of the latest submission, with its reason."""
    if is_partner_user(by):
        raise PermissionDenied(_("Partner users cannot adjust a forecast."))
    if not can_adjust(by, submission):
        raise PermissionDenied(_("Only a manager above this forecast can adjust it."))
    now = now or timezone.now()
    amount, note = _adjustment(
        figure=figure, to_amount=to_amount, note=note, period=submission_period(submission), now=now
    )
    with transaction.atomic():
        locked = ForecastSubmission.objects.select_for_update().get(pk=submission.pk)
        latest = latest_submissions(period=submission_period(locked), keys=[locked.scope_key])
        if latest.get(locked.scope_key) is None or latest[locked.scope_key].pk != locked.pk:
            raise ValidationError(
                {"submission": _("A newer forecast was submitted since: adjust that one.")}
            )
        current = adjustments_of([locked.pk]).get(locked.pk, {}).get(figure)
        from_amount = current.to_amount if current else getattr(locked, figure)
        return ForecastAdjustment.objects.create(
            submission=locked,
            figure=figure,
            from_amount=from_amount,
            to_amount=amount,
            note=note,
            adjusted_by=by,
            adjusted_at=now,
        )


def forecast_group_adjustment_create(
    *,
    by: User,
    period: Period,
    group_key: str,
    figure: str,
    to_amount,
    note: str,
    now: datetime.datetime | None = None,
) -> ForecastGroupAdjustment:
    """The level above's adjustment of a team's or a channel's total for the period, with
    its reason. ``from_amount`` is the group's figure as it stood: its latest adjustment,
    or the sum of its members' (adjusted) figures."""
    if is_partner_user(by):
        raise PermissionDenied(_("Partner users cannot adjust a forecast."))
    if parse_group_key(group_key) is None:
        raise ValidationError({"group": _("Choose a team or a channel manager's partners.")})
    if not can_adjust_group(by, group_key):
        raise PermissionDenied(
            _("Only a manager above this team's or channel's head can adjust its total.")
        )
    now = now or timezone.now()
    amount, note = _adjustment(
        figure=figure, to_amount=to_amount, note=note, period=period, now=now
    )
    head_id = parse_group_key(group_key)[1]  # type: ignore[index]
    with transaction.atomic():
        # One adjustment of a group at a time: its head's row is the lock.
        User.objects.select_for_update().filter(pk=head_id).first()
        current = group_adjustments(period=period, keys=[group_key]).get(group_key, {})
        if figure in current:
            from_amount = current[figure].to_amount
        else:
            members = submitted_figures(period=period, keys=group_member_keys(group_key))
            from_amount = sum(
                (getattr(row, f"adjusted_{figure}") for row in members.values()), ZERO
            )
        return ForecastGroupAdjustment.objects.create(
            period_kind=period.kind,
            period_start=period.start,
            group_key=group_key,
            figure=figure,
            from_amount=from_amount,
            to_amount=amount,
            note=note,
            adjusted_by=by,
            adjusted_at=now,
        )


# ---------------------------------------------------------------- reads


def group_adjustments(
    *, period: Period, keys: list[str] | None = None
) -> dict[str, dict[str, ForecastGroupAdjustment]]:
    """Per group key, the latest adjustment of each figure of its total for the period;
    one query."""
    rows = ForecastGroupAdjustment.objects.filter(
        period_kind=period.kind, period_start=period.start
    ).select_related("adjusted_by")
    if keys is not None:
        rows = rows.filter(group_key__in=keys)
    latest: dict[str, dict[str, ForecastGroupAdjustment]] = {}
    for row in rows.order_by("group_key", "adjusted_at", "id"):
        latest.setdefault(row.group_key, {})[row.figure] = row
    return latest


def submission_period(submission: ForecastSubmission) -> Period:
    from climcrm.periods import period_containing

    return period_containing(submission.period_kind, submission.period_start)


def latest_submissions(
    *,
    period: Period,
    keys: list[str] | None = None,
    before: datetime.datetime | None = None,
) -> dict[str, ForecastSubmission]:
    """The latest submission of each rep or partner (``scope_key``) for the period, made
    before ``before`` when given; one query."""
    rows = ForecastSubmission.objects.filter(
        period_kind=period.kind, period_start=period.start
    ).select_related("submitted_by")
    if keys is not None:
        rows = rows.filter(scope_key__in=keys)
    if before is not None:
        rows = rows.filter(submitted_at__lt=before)
    latest: dict[str, ForecastSubmission] = {}
    for row in rows.order_by("scope_key", "submitted_at", "id"):
        latest[row.scope_key] = row
    return latest


def adjustments_of(submission_ids: list[int]) -> dict[int, dict[str, ForecastAdjustment]]:
    """The latest adjustment of each figure of the submissions; one query."""
    latest: dict[int, dict[str, ForecastAdjustment]] = {}
    rows = (
        ForecastAdjustment.objects.filter(submission_id__in=submission_ids)
        .select_related("adjusted_by")
        .order_by("submission_id", "adjusted_at", "id")
    )
    for row in rows:
        latest.setdefault(row.submission_id, {})[row.figure] = row
    return latest


def group_adjustment_history(*, period: Period, key: str) -> QuerySet:
    """Every adjustment of a group's total for the period, the latest first."""
    return ForecastGroupAdjustment.objects.filter(
        period_kind=period.kind, period_start=period.start, group_key=key
    ).select_related("adjusted_by")


@dataclass
class SubmittedFigures:
    """A rep's or partner's latest submission for a period and its adjusted figures."""

    submission: ForecastSubmission
    commit: Decimal
    best_case: Decimal
    adjusted_commit: Decimal
    adjusted_best_case: Decimal
    adjustments: dict = field(default_factory=dict)

    @property
    def is_adjusted(self) -> bool:
        return bool(self.adjustments)


def submitted_figures(
    *,
    period: Period,
    keys: list[str] | None = None,
    before: datetime.datetime | None = None,
) -> dict[str, SubmittedFigures]:
    """Per ``scope_key`` ("rep:<id>", "partner:<id>"): the latest submission for the
    period and its figures, submitted and adjusted (two queries)."""
    latest = latest_submissions(period=period, keys=keys, before=before)
    adjustments = adjustments_of([s.pk for s in latest.values()])
    result = {}
    for key, submission in latest.items():
        adjusted = adjustments.get(submission.pk, {})
        if before is not None:
            adjusted = {figure: row for figure, row in adjusted.items() if row.adjusted_at < before}
        result[key] = SubmittedFigures(
            submission=submission,
            commit=submission.commit,
            best_case=submission.best_case,
            adjusted_commit=adjusted["commit"].to_amount
            if "commit" in adjusted
            else submission.commit,
            adjusted_best_case=adjusted["best_case"].to_amount
            if "best_case" in adjusted
            else submission.best_case,
            adjustments=adjusted,
        )
    return result


def visible_submissions(user) -> QuerySet:
    """The submissions ``user`` may open: a partner user their partner's; internal users
    every one, as they read every scope of the forecast (adjusting is for the level
    above, ``can_adjust``)."""
    rows = ForecastSubmission.objects.select_related("submitted_by", "user", "partner__account")
    if is_partner_user(user):
        return rows.filter(partner_id=user.partner_id)
    if not is_internal(user):
        return rows.none()
    return rows
