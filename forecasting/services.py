"""Writes of the forecasting app: targets and forecast snapshots."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from climcrm.periods import Period, period_containing
from climcrm.roles import is_manager
from forecasting.models import ForecastSnapshot, SnapshotScope, Target
from forecasting.reports.common import figure_aggregates
from opportunities.history import values_as_of
from opportunities.models import OpportunityHistory

if TYPE_CHECKING:
    from typing import Any

    from accounts.models import Partner
    from climcrm.models import User


def target_set(
    *,
    by: User,
    year: int,
    quarter: int,
    amount: Decimal,
    user: User | None = None,
    partner: Partner | None = None,
) -> Target:
    """Create or change the target of a rep or a partner for one quarter (managers only)."""
    if not is_manager(by):
        raise PermissionDenied(_("Only a sales manager can set targets."))
    if (user is None) == (partner is None):
        raise ValidationError({"target_for": _("Choose either a sales rep or a partner.")})
    if not 1 <= int(quarter) <= 4:
        raise ValidationError({"quarter": _("The quarter is between 1 and 4.")})
    if amount is None or amount < 0:
        raise ValidationError({"amount": _("The target cannot be negative.")})
    with transaction.atomic():
        target, _created = Target.objects.select_for_update().update_or_create(
            user=user,
            partner=partner,
            year=year,
            quarter=quarter,
            defaults={"amount": amount, "updated_by": by},
        )
    return target


def target_delete(*, by: User, target: Target) -> None:
    if not is_manager(by):
        raise PermissionDenied(_("Only a sales manager can set targets."))
    with transaction.atomic():
        target.delete()


def forecast_snapshot_take(*, kind: str, period_start: date | None = None) -> int:
    """Freeze the forecast of a period as it stood at its start; returns rows written.

    One row for the company, one per rep and one per partner, computed from the history
    valid at the period's first instant (so a snapshot taken a few days late still holds
    the values of the start). Idempotent: a period and scope already frozen is kept as
    is, so calling it again (cron, reviews, tests) never changes a past commit.
    """

    period: Period = period_containing(kind, period_start or timezone.localdate())
    rows = values_as_of(period.start_moment(), OpportunityHistory.objects.all()).filter(
        close_date__gte=period.start, close_date__lt=period.end
    )
    figures = figure_aggregates()
    now = timezone.now()

    def snapshot(scope: str, key: str, values: dict[str, Any], **links: Any) -> ForecastSnapshot:
        return ForecastSnapshot(
            period_kind=period.kind,
            period_start=period.start,
            scope=scope,
            scope_key=key,
            closed=values["closed"],
            commit=values["commit"],
            best_case=values["best_case"],
            pipeline=values["pipeline"],
            weighted=values["weighted"],
            deal_count=values["deals"],
            taken_at=now,
            **links,
        )

    objects = [snapshot(SnapshotScope.ALL, "all", rows.aggregate(deals=Count("pk"), **figures))]
    for values in (
        rows.filter(owner__isnull=False)
        .order_by()
        .values("owner_id")
        .annotate(deals=Count("pk"), **figures)
    ):
        objects.append(
            snapshot(
                SnapshotScope.REP, f"rep:{values['owner_id']}", values, user_id=values["owner_id"]
            )
        )
    for values in (
        rows.filter(~Q(partner=None))
        .order_by()
        .values("partner_id")
        .annotate(deals=Count("pk"), **figures)
    ):
        objects.append(
            snapshot(
                SnapshotScope.PARTNER,
                f"partner:{values['partner_id']}",
                values,
                partner_id=values["partner_id"],
            )
        )
    with transaction.atomic():
        existing = set(
            ForecastSnapshot.objects.filter(
                period_kind=period.kind, period_start=period.start
            ).values_list("scope_key", flat=True)
        )
        fresh = [obj for obj in objects if obj.scope_key not in existing]
        ForecastSnapshot.objects.bulk_create(fresh, ignore_conflicts=True)
    return len(fresh)
