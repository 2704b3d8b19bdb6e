from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from forecasting.periods import KINDS


class Target(models.Model):
    """A revenue target for one quarter, set for a rep or for a partner."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("sales rep"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="targets",
    )
    partner = models.ForeignKey(
        "accounts.Partner",
        verbose_name=_("partner"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="revenue_targets",
    )
    year = models.PositiveSmallIntegerField(_("year"))
    quarter = models.PositiveSmallIntegerField(_("quarter"))
    amount = models.DecimalField(_("target"), max_digits=14, decimal_places=2)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("updated by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("target")
        verbose_name_plural = _("targets")
        ordering = ["year", "quarter", "id"]
        indexes = [models.Index(fields=["year", "quarter"], name="target_year_quarter")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(user__isnull=False, partner__isnull=True)
                | models.Q(user__isnull=True, partner__isnull=False),
                name="target_user_xor_partner",
            ),
            models.CheckConstraint(
                condition=models.Q(quarter__gte=1, quarter__lte=4), name="target_quarter_1_4"
            ),
            models.CheckConstraint(
                condition=models.Q(amount__gte=0), name="target_amount_non_negative"
            ),
            models.UniqueConstraint(
                fields=["user", "year", "quarter"],
                condition=models.Q(user__isnull=False),
                name="target_unique_user_quarter",
            ),
            models.UniqueConstraint(
                fields=["partner", "year", "quarter"],
                condition=models.Q(partner__isnull=False),
                name="target_unique_partner_quarter",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user or self.partner} {self.year} Q{self.quarter}"


class SnapshotScope(models.TextChoices):
    ALL = "all", _("Company")
    REP = "rep", _("Sales rep")
    PARTNER = "partner", _("Partner")


class ForecastSnapshot(models.Model):
    """The forecast of a period as it stood at the period's start, frozen once.

    Written by ``forecast_snapshot_take`` (management command ``snapshot_forecast``); one
    row per period and scope, never rewritten, so accuracy compares against what was
    really committed then even if the history is later backdated.
    """

    period_kind = models.CharField(_("period kind"), max_length=10, choices=KINDS)
    period_start = models.DateField(_("period start"))
    scope = models.CharField(_("scope"), max_length=10, choices=SnapshotScope.choices)
    # "all", "rep:<id>" or "partner:<id>": one unique key whatever the scope.
    scope_key = models.CharField(max_length=40)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("sales rep"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    partner = models.ForeignKey(
        "accounts.Partner",
        verbose_name=_("partner"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="forecast_snapshots",
    )
    closed = models.DecimalField(_("closed"), max_digits=16, decimal_places=2, default=0)
    commit = models.DecimalField(_("commit"), max_digits=16, decimal_places=2, default=0)
    best_case = models.DecimalField(_("best case"), max_digits=16, decimal_places=2, default=0)
    pipeline = models.DecimalField(_("pipeline"), max_digits=16, decimal_places=2, default=0)
    weighted = models.DecimalField(_("weighted"), max_digits=16, decimal_places=2, default=0)
    deal_count = models.PositiveIntegerField(_("deals"), default=0)
    taken_at = models.DateTimeField(_("taken at"), default=timezone.now)

    class Meta:
        verbose_name = _("forecast snapshot")
        verbose_name_plural = _("forecast snapshots")
        ordering = ["-period_start", "scope_key"]
        constraints = [
            models.UniqueConstraint(
                fields=["period_kind", "period_start", "scope_key"],
                name="forecast_snapshot_unique_scope",
            )
        ]

    def __str__(self) -> str:
        return f"{self.period_kind} {self.period_start} {self.scope_key}"

    @property
    def commit_forecast(self):
        return self.commit + self.closed
