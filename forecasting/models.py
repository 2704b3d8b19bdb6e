import datetime

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from climcrm.fields import FreeTextField
from climcrm.periods import KINDS
from forecasting.change_kinds import kinds_expression, slip_candidates


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
    closed = models.DecimalField(
        pgettext_lazy("forecast category", "closed"), max_digits=16, decimal_places=2, default=0
    )
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


class PipelineSummary(models.Model):
    """Running totals of the pipeline per month, owner, partner, type and stage.

    Kept by the deal services in the same transaction as each change and read by the
    metrics page instead of the deals and their history (``forecasting.summaries``
    explains each kind of row). Owners and partners are ids, 0 for none.
    """

    class Kind(models.TextChoices):
        OPEN = "open", _("Open pipeline now")
        CHANGE = "change", _("Change of the open pipeline")
        CREATED = "created", _("Deals created")
        CLOSED = "closed", _("Deals closed")
        STAY = "stay", _("Stays in a stage")
        FORECAST = "forecast", _("Deals by close month")
        COMMIT = "commit", _("Change of the Commit forecast")
        WON_MONTH = "won_m", _("Won deals, monthly estimates")
        WON_QUARTER = "won_q", _("Won deals, quarterly estimates")

    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)
    month = models.DateField(_("month"))
    owner_key = models.IntegerField(_("owner"))
    partner_key = models.IntegerField(_("partner"))
    type = models.CharField(_("type"), max_length=20, blank=True)
    stage = models.CharField(_("stage"), max_length=20, blank=True)
    rank = models.PositiveSmallIntegerField(_("furthest stage"), default=0)
    count = models.IntegerField(_("deals"), default=0)
    amount = models.DecimalField(_("amount"), max_digits=18, decimal_places=2, default=0)
    weighted = models.DecimalField(_("weighted"), max_digits=20, decimal_places=4, default=0)
    days = models.FloatField(_("days"), default=0)
    # The close month the ``commit`` rows are about (1 January 2000 for the other kinds).
    close_month = models.DateField(_("close month"), default=datetime.date(2000, 1, 1))

    class Meta:
        verbose_name = _("pipeline summary")
        verbose_name_plural = _("pipeline summaries")
        constraints = [
            models.UniqueConstraint(
                fields=[
                    "kind",
                    "month",
                    "owner_key",
                    "partner_key",
                    "type",
                    "stage",
                    "rank",
                    "close_month",
                ],
                name="pipeline_summary_key",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.month} {self.owner_key}/{self.partner_key}"


class MonthChange(models.Model):
    """A deal changed in a calendar month: its state at the month's start (none when it did
    not exist yet) and at its end, or now for the month under way.

    Kept by the deal services in the same transaction as each change and read by "what
    changed" over a month (``forecasting.month_changes``). ``kinds`` holds the comparisons
    of the two states that do not depend on the scope, computed by the database.
    """

    opportunity = models.ForeignKey(
        "opportunities.Opportunity",
        verbose_name=_("opportunity"),
        on_delete=models.CASCADE,
        related_name="month_changes",
        db_index=False,  # the unique (opportunity, month) index serves it
    )
    month = models.DateField(_("month"))
    stage_start = models.CharField(_("stage at the start"), max_length=20, null=True)
    # Amounts in cents: a month's sums add integers.
    amount_cents_start = models.BigIntegerField(null=True)
    close_date_start = models.DateField(null=True)
    # Owners and partners are compared with a scope, never joined: no index of their own.
    owner_start = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    partner_start = models.ForeignKey(
        "accounts.Partner", null=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    stage_end = models.CharField(_("stage at the end"), max_length=20)
    amount_cents_end = models.BigIntegerField(null=True)
    close_date_end = models.DateField()
    owner_end = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    partner_end = models.ForeignKey(
        "accounts.Partner", null=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    kinds = models.GeneratedField(
        expression=kinds_expression("amount_cents"),
        output_field=models.PositiveSmallIntegerField(),
        db_persist=True,
    )

    class Meta:
        verbose_name = _("deal changed in a month")
        verbose_name_plural = _("deals changed in a month")
        constraints = [
            models.UniqueConstraint(fields=["opportunity", "month"], name="month_change_deal")
        ]
        indexes = [
            # A month's rows with everything "what changed" sums, from the index alone.
            # A month's deals whose close date moved later while open: the slips of a
            # window ending on any day of the month, read from the index alone.
            models.Index(
                fields=["month", "close_date_start"],
                name="month_change_slips",
                include=[
                    "close_date_end",
                    "amount_cents_end",
                    "owner_start",
                    "owner_end",
                    "partner_start",
                    "partner_end",
                ],
                condition=slip_candidates(),
            ),
            models.Index(
                fields=["month"],
                name="month_change_figures",
                include=[
                    "kinds",
                    "amount_cents_start",
                    "amount_cents_end",
                    "close_date_start",
                    "close_date_end",
                    "owner_start",
                    "owner_end",
                    "partner_start",
                    "partner_end",
                ],
            ),
        ]

    def __str__(self) -> str:
        return f"{self.opportunity_id} {self.month:%Y-%m}"


class MonthChangeTotal(models.Model):
    """The deals changed in a month (``MonthChange``) added up by their comparisons and by
    owner (``side`` "o") or partner ("p") at the month's start and end, ids with 0 for none.

    "What changed" over a month reads these few hundred rows instead of one row per deal
    changed; only a slip, which depends on the window's last day, is read from the deals'
    rows. Kept with ``MonthChange`` by ``forecasting.month_changes``.
    """

    month = models.DateField(_("month"))
    side = models.CharField(_("side"), max_length=1)
    kinds = models.PositiveSmallIntegerField(_("kinds of change"))
    start_key = models.IntegerField(_("at the start"))
    end_key = models.IntegerField(_("at the end"))
    count = models.IntegerField(_("deals"), default=0)
    cents_start = models.BigIntegerField(default=0)
    cents_end = models.BigIntegerField(default=0)

    class Meta:
        verbose_name = _("total of deals changed in a month")
        verbose_name_plural = _("totals of deals changed in a month")
        constraints = [
            models.UniqueConstraint(
                fields=["month", "side", "kinds", "start_key", "end_key"],
                name="month_change_total_key",
            )
        ]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.side} {self.kinds}"


class Benchmark(models.Model):
    """A reference range from the seeds, shown beside the measured figure on the metrics
    page; an admin adjusts it to the company's own experience."""

    class Key(models.TextChoices):
        NEW_DEALS_PER_REP = "new_deals_per_rep", _("New opportunities per rep per month")
        PIPELINE_COVERAGE = "pipeline_coverage", _("Pipeline coverage (pipeline ÷ target)")
        OPPORTUNITY_TO_DEAL = "opportunity_to_deal", _("Opportunity → won deal (%)")
        MQL_TO_SRL = "mql_to_srl", _("MQL → SRL (%)")
        SRL_TO_SQL = "srl_to_sql", _("SRL → SQL (%)")
        WIN_RATE_NEW = "win_rate_new", _("Win rate, new business (%)")
        WIN_RATE_EXISTING = "win_rate_existing", _("Win rate, existing business (%)")

    key = models.CharField(_("figure"), max_length=30, choices=Key.choices, unique=True)
    low = models.DecimalField(_("from"), max_digits=8, decimal_places=2)
    high = models.DecimalField(
        _("to"),
        max_digits=8,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=_("Leave empty for a single value."),
    )
    source = models.CharField(_("source"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("benchmark")
        verbose_name_plural = _("benchmarks")
        ordering = ["key"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(low__gte=0)
                & (models.Q(high__isnull=True) | models.Q(high__gte=models.F("low"))),
                name="benchmark_range",
            )
        ]

    def __str__(self) -> str:
        return str(self.get_key_display())


class ForecastFigure(models.TextChoices):
    COMMIT = "commit", _("Commit")
    BEST_CASE = "best_case", _("Best Case")


class ForecastSubmission(models.Model):
    """A forecast submitted for a period by a rep (their deals) or for a partner (by the
    partner's sales director), frozen as it was: who, when, the figures and, in its lines,
    the deals behind them.

    Never rewritten: submitting again makes a new row, and the latest one of a rep or
    partner for a period is the one that counts. ``week`` is the Monday of the week it was
    made in (installation's time zone), what the weekly forecast call compares.
    """

    period_kind = models.CharField(_("period kind"), max_length=10, choices=KINDS)
    period_start = models.DateField(_("period start"))
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("sales rep"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="forecast_submissions",
    )
    partner = models.ForeignKey(
        "accounts.Partner",
        verbose_name=_("partner"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="forecast_submissions",
    )
    # "rep:<id>" or "partner:<id>", as ``ForecastSnapshot.scope_key``.
    scope_key = models.CharField(max_length=40)
    week = models.DateField(_("week"))
    commit = models.DecimalField(_("commit"), max_digits=16, decimal_places=2)
    best_case = models.DecimalField(_("best case"), max_digits=16, decimal_places=2)
    # What the deals gave when the form was shown, beside what was submitted.
    proposed_commit = models.DecimalField(max_digits=16, decimal_places=2, default=0)
    proposed_best_case = models.DecimalField(max_digits=16, decimal_places=2, default=0)
    note = FreeTextField(_("note"), blank=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("submitted by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    submitted_at = models.DateTimeField(_("submitted at"), default=timezone.now)

    class Meta:
        verbose_name = _("forecast submission")
        verbose_name_plural = _("forecast submissions")
        ordering = ["-submitted_at", "-id"]
        indexes = [
            models.Index(
                fields=["period_kind", "period_start", "scope_key", "submitted_at"],
                name="forecast_submission_period",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(user__isnull=False, partner__isnull=True)
                | models.Q(user__isnull=True, partner__isnull=False),
                name="forecast_submission_user_xor_partner",
            ),
            models.CheckConstraint(
                condition=models.Q(commit__gte=0) & models.Q(best_case__gte=0),
                name="forecast_submission_figures_non_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.period_kind} {self.period_start} {self.scope_key} {self.submitted_at}"


class ForecastSubmissionLine(models.Model):
    """One deal behind a submission, as it stood when submitted (copied, never joined: the
    deal may change or go afterwards)."""

    submission = models.ForeignKey(
        ForecastSubmission,
        verbose_name=_("forecast submission"),
        on_delete=models.CASCADE,
        related_name="lines",
    )
    deal_id = models.PositiveIntegerField(_("opportunity"))
    name = models.CharField(_("name"), max_length=200)
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2, null=True)
    forecast_category = models.CharField(_("forecast category"), max_length=20)
    stage = models.CharField(_("stage"), max_length=20)
    close_date = models.DateField(_("close date"))

    class Meta:
        verbose_name = _("deal of a forecast submission")
        verbose_name_plural = _("deals of a forecast submission")
        ordering = ["close_date", "deal_id"]

    def __str__(self) -> str:
        return f"{self.submission_id} {self.deal_id}"


class AdjustmentFields(models.Model):
    """What every adjustment holds: which figure, from what to what, why, by whom, when."""

    figure = models.CharField(_("figure"), max_length=10, choices=ForecastFigure.choices)
    from_amount = models.DecimalField(_("from"), max_digits=16, decimal_places=2)
    to_amount = models.DecimalField(_("to"), max_digits=16, decimal_places=2)
    note = FreeTextField(_("note"))
    adjusted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("adjusted by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    adjusted_at = models.DateTimeField(_("adjusted at"), default=timezone.now)

    class Meta:
        abstract = True


class ForecastAdjustment(AdjustmentFields):
    """A manager's judgment on one figure of a submission: from what to what, by whom, when
    and why. Kept, never rewritten; the latest one of a submission's figure counts."""

    submission = models.ForeignKey(
        ForecastSubmission,
        verbose_name=_("forecast submission"),
        on_delete=models.CASCADE,
        related_name="adjustments",
    )

    class Meta:
        verbose_name = _("forecast adjustment")
        verbose_name_plural = _("forecast adjustments")
        ordering = ["-adjusted_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(to_amount__gte=0), name="forecast_adjustment_non_negative"
            ),
            models.CheckConstraint(
                condition=~models.Q(note=""), name="forecast_adjustment_note_required"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.submission_id} {self.figure} {self.to_amount}"


class ForecastGroupAdjustment(AdjustmentFields):
    """The level above's judgment on a group's total for a period: a sales director's on a
    team (the reps of one manager, ``group_key`` "team:<manager id>"), a head of channel's
    on a channel manager's partners ("channel:<channel manager id>"). From what to what, by
    whom, when and why; kept, never rewritten, the latest one of a group's figure counts."""

    period_kind = models.CharField(_("period kind"), max_length=10, choices=KINDS)
    period_start = models.DateField(_("period start"))
    group_key = models.CharField(_("group"), max_length=40)

    class Meta:
        verbose_name = _("team forecast adjustment")
        verbose_name_plural = _("team forecast adjustments")
        ordering = ["-adjusted_at", "-id"]
        indexes = [
            models.Index(
                fields=["period_kind", "period_start", "group_key", "adjusted_at"],
                name="forecast_group_adj_period",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(to_amount__gte=0),
                name="forecast_group_adjustment_non_negative",
            ),
            models.CheckConstraint(
                condition=~models.Q(note=""), name="forecast_group_adjustment_note_required"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.period_kind} {self.period_start} {self.group_key} {self.figure}"
