from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import get_language, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from climcrm.choices import BUYING_SIGNALS, Source
from climcrm.fields import REASON_MAX_LENGTH, FreeTextField


class Stage(models.TextChoices):
    QUALIFICATION = "qualification", _("Qualification")
    NEEDS_ANALYSIS = "needs_analysis", _("Needs Analysis")
    PROPOSAL = "proposal", _("Proposal")
    NEGOTIATION = "negotiation", _("Negotiation")
    CLOSED_WON = "closed_won", _("Closed Won")
    CLOSED_LOST = "closed_lost", _("Closed Lost")


STAGE_ORDER = list(Stage.values)
OPEN_STAGES = STAGE_ORDER[:4]
CLOSED_STAGES = [Stage.CLOSED_WON.value, Stage.CLOSED_LOST.value]


def stage_number(stage: str) -> int:
    """'Stage 4' is Negotiation: stages are numbered 1 to 6."""
    return STAGE_ORDER.index(stage) + 1


# The steps a deal climbs, lost aside: rank 1 (Qualification) to 5 (Closed Won).
LADDER_STAGES = [*OPEN_STAGES, Stage.CLOSED_WON.value]
QUALIFIED_RANK = 2  # Needs Analysis: a deal that reached it is qualified (SQL)


def ladder_rank(stage: str | None) -> int:
    """Rank of ``stage`` on the ladder; 0 for Closed Lost (and no stage)."""
    return LADDER_STAGES.index(stage) + 1 if stage in LADDER_STAGES else 0


OPEN_STAGE_VALUES = ["qualification", "needs_analysis", "proposal", "negotiation"]
CLOSED_STAGE_VALUES = ["closed_won", "closed_lost"]


class ForecastCategory(models.TextChoices):
    PIPELINE = "pipeline", pgettext_lazy("forecast category", "Pipeline")
    BEST_CASE = "best_case", _("Best Case")
    COMMIT = "commit", _("Commit")
    CLOSED = "closed", pgettext_lazy("forecast category", "Closed")
    OMITTED = "omitted", _("Omitted")


class OpportunityType(models.TextChoices):
    NEW_BUSINESS = "new_business", _("New business")
    EXISTING_BUSINESS = "existing_business", _("Existing business")


class StageSetting(models.Model):
    """Admin-editable defaults applied when a deal enters a stage."""

    stage = models.CharField(_("stage"), max_length=20, choices=Stage.choices, unique=True)
    default_probability = models.PositiveSmallIntegerField(_("default probability (%)"))
    default_forecast_category = models.CharField(
        _("default forecast category"), max_length=20, choices=ForecastCategory.choices
    )
    rotting_days = models.PositiveSmallIntegerField(
        _("rotting after (days)"),
        null=True,
        blank=True,
        help_text=_(
            "A deal that stays longer than this in the stage is marked as rotting on the board. "
            "Empty: never marked."
        ),
    )

    class Meta:
        verbose_name = _("stage default")
        verbose_name_plural = _("stage defaults")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(default_probability__lte=100),
                name="stage_setting_probability_0_100",
            )
        ]

    def __str__(self) -> str:
        return str(self.get_stage_display())


class LossReason(models.Model):
    code = models.SlugField(_("code"), max_length=40, unique=True)
    label_en = models.CharField(_("label (English)"), max_length=120)
    label_fr = models.CharField(_("label (French)"), max_length=120)
    is_active = models.BooleanField(_("active"), default=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("loss reason")
        verbose_name_plural = _("loss reasons")
        ordering = ["position", "code"]

    def __str__(self) -> str:
        return self.label_fr if (get_language() or "fr").startswith("fr") else self.label_en


class ReasonCode(models.Model):
    """Why a deal went backward (close date moved out of its month, amount lowered, stage
    moved back, forecast category lowered): the codes a user picks from, kept by the admin."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    label_en = models.CharField(_("label (English)"), max_length=120)
    label_fr = models.CharField(_("label (French)"), max_length=120)
    is_active = models.BooleanField(_("active"), default=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("reason code")
        verbose_name_plural = _("reason codes")
        ordering = ["position", "code"]

    def __str__(self) -> str:
        return self.label_fr if (get_language() or "fr").startswith("fr") else self.label_en


class Opportunity(models.Model):
    name = models.CharField(_("name"), max_length=200)
    account = models.ForeignKey(
        "accounts.Account",
        verbose_name=_("account"),
        on_delete=models.PROTECT,
        related_name="opportunities",
    )
    primary_contact = models.ForeignKey(
        "accounts.Contact",
        verbose_name=_("primary contact"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="opportunities",
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        on_delete=models.PROTECT,
        related_name="owned_opportunities",
    )
    partner = models.ForeignKey(
        "accounts.Partner",
        verbose_name=_("partner"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="opportunities",
    )
    type = models.CharField(
        _("type"),
        max_length=20,
        choices=OpportunityType.choices,
        default=OpportunityType.NEW_BUSINESS,
    )
    stage = models.CharField(
        _("stage"), max_length=20, choices=Stage.choices, default=Stage.QUALIFICATION
    )
    probability = models.PositiveSmallIntegerField(_("probability (%)"), default=10)
    amount = models.DecimalField(
        _("amount"), max_digits=14, decimal_places=2, null=True, blank=True
    )
    currency = models.CharField(_("currency"), max_length=3, default="CHF", editable=False)
    close_date = models.DateField(_("close date"))
    expected_delivery = models.DateField(_("expected delivery"), null=True, blank=True)
    forecast_category = models.CharField(
        _("forecast category"),
        max_length=20,
        choices=ForecastCategory.choices,
        default=ForecastCategory.PIPELINE,
    )
    # True once someone chose the category by hand: later stage changes keep it.
    forecast_category_is_manual = models.BooleanField(default=False, editable=False)
    next_step = models.CharField(_("next step"), max_length=255, blank=True)
    next_step_date = models.DateField(_("next step date"), null=True, blank=True)
    budget_ok = models.BooleanField(_("budget"), default=False)
    budget_note = models.CharField(_("budget note"), max_length=255, blank=True)
    authority_ok = models.BooleanField(_("authority"), default=False)
    authority_note = models.CharField(_("authority note"), max_length=255, blank=True)
    need_ok = models.BooleanField(_("need"), default=False)
    need_note = models.CharField(_("need note"), max_length=255, blank=True)
    timing_ok = models.BooleanField(_("timing"), default=False)
    timing_note = models.CharField(_("timing note"), max_length=255, blank=True)
    # The opportunity's characteristics and buying signals (seed 004), from the lead.
    pain_ok = models.BooleanField(_("pain"), default=False)
    pain_note = models.CharField(_("pain note"), max_length=255, blank=True)
    interest_ok = models.BooleanField(_("interest"), default=False)
    interest_note = models.CharField(_("interest note"), max_length=255, blank=True)
    fit_ok = models.BooleanField(_("fit"), default=False)
    fit_note = models.CharField(_("fit note"), max_length=255, blank=True)
    asked_demo = models.BooleanField(_("asked for a demo"), default=False)
    asked_pricing = models.BooleanField(_("asked for pricing"), default=False)
    tested_trial = models.BooleanField(_("tested a trial"), default=False)
    gave_decision_date = models.BooleanField(_("gave a decision date"), default=False)
    # Seed 002: an amount the prospect has not confirmed makes a deal of lower quality.
    amount_confirmed = models.BooleanField(
        _("amount confirmed by the prospect"),
        default=False,
        help_text=_(
            "The prospect confirmed the total amount of the latest offer. "
            "A new amount needs a new confirmation."
        ),
    )
    source = models.CharField(_("source"), max_length=20, choices=Source.choices, blank=True)
    lead = models.ForeignKey(
        "leads.Lead",
        verbose_name=_("lead"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="opportunities",
    )
    loss_reason = models.ForeignKey(
        LossReason,
        verbose_name=_("loss reason"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
    )
    loss_reason_text = FreeTextField(_("loss details"), max_length=REASON_MAX_LENGTH, blank=True)
    objective_reasons = FreeTextField(_("objective reasons"), blank=True)
    lessons_learned = FreeTextField(_("lessons learned"), blank=True)
    recovery_possible = models.BooleanField(_("recovery possible"), default=False)
    corrective_actions = FreeTextField(_("corrective actions"), blank=True)
    site_address = models.CharField(_("site address"), max_length=255, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    stage_changed_at = models.DateTimeField(_("stage changed"), default=timezone.now)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    # Rank (``ladder_rank``) of the furthest stage the deal was ever in, lost aside; 0 when
    # it was only ever lost. Kept by the stage machine, so metrics read it instead of history.
    furthest_rank = models.PositiveSmallIntegerField(default=0, editable=False)
    # The deal's open to-dos, kept by ``activities.signals`` whenever an activity is saved or
    # deleted: how many, and the earliest due date among them (the board's to-do bar).
    open_todos = models.PositiveIntegerField(default=0, editable=False)
    next_todo_due = models.DateField(null=True, blank=True, editable=False)
    # What the forecast accuracy compares a won deal's amount with, kept by the deal services
    # so the page reads no history: the amount at creation, the amount when the deal first
    # entered Commit (null if it never did), and, while it is won, its amount at the start of
    # the month and of the quarter of its close date (null if it did not exist yet).
    created_amount = models.DecimalField(
        max_digits=14, decimal_places=2, null=True, blank=True, editable=False
    )
    commit_entry_amount = models.DecimalField(
        max_digits=14, decimal_places=2, null=True, blank=True, editable=False
    )
    close_month_start_amount = models.DecimalField(
        max_digits=14, decimal_places=2, null=True, blank=True, editable=False
    )
    close_quarter_start_amount = models.DecimalField(
        max_digits=14, decimal_places=2, null=True, blank=True, editable=False
    )
    # Optimistic locking: every change increments it; a save made on an older one is refused.
    version = models.PositiveIntegerField(default=1, editable=False)
    # The deal's id in the CRM or spreadsheet it was imported from: a re-import finds it.
    external_id = models.CharField(_("external id"), max_length=100, blank=True, editable=False)

    class Meta:
        verbose_name = _("opportunity")
        verbose_name_plural = _("opportunities")
        ordering = ["close_date", "id"]
        indexes = [
            models.Index(fields=["stage", "close_date"], name="opp_stage_close"),
            models.Index(fields=["owner", "stage"], name="opp_owner_stage"),
            # A rep's board: its totals are read from the index alone.
            models.Index(
                fields=["owner", "stage", "closed_at"],
                name="opp_owner_stage_closed",
                include=["id", "amount", "probability", "open_todos", "next_todo_due"],
            ),
            models.Index(fields=["partner", "stage"], name="opp_partner_stage"),
            models.Index(fields=["account", "stage"], name="opp_account_stage"),
            models.Index(fields=["close_date"], name="opp_close_date"),
            # The forecast of a period groups the deals closing in it: every figure it sums
            # and every key it groups by are read from the index alone.
            models.Index(
                fields=["close_date"],
                name="opp_close_forecast",
                include=[
                    "id",
                    "owner",
                    "partner",
                    "stage",
                    "forecast_category",
                    "amount",
                    "probability",
                ],
            ),
            models.Index(fields=["closed_at"], name="opp_closed_at"),
            # Metrics: the deals created, and the deals closed, in a range of months with
            # how far each went, read from the indexes alone.
            models.Index(
                fields=["created_at"],
                name="opp_created_metrics",
                include=["id", "furthest_rank", "amount"],
            ),
            models.Index(
                fields=["closed_at"],
                name="opp_closed_metrics",
                condition=models.Q(closed_at__isnull=False),
                include=["id", "stage", "type", "furthest_rank", "amount"],
            ),
            # Pages filter open deals by stage: partial indexes on that very condition. They
            # carry amount and probability so the list's and the board's totals are read
            # from the index alone (PostgreSQL) instead of from every deal's table row.
            models.Index(
                fields=["stage", "close_date", "id"],
                name="opp_open_stage_close",
                condition=models.Q(stage__in=OPEN_STAGE_VALUES),
                include=["amount", "probability", "open_todos", "next_todo_due"],
            ),
            models.Index(
                fields=["owner", "close_date", "id"],
                name="opp_open_owner_close",
                condition=models.Q(stage__in=OPEN_STAGE_VALUES),
                include=["amount", "probability", "open_todos", "next_todo_due"],
            ),
            models.Index(
                fields=["partner", "close_date", "id"],
                name="opp_open_partner_close",
                condition=models.Q(stage__in=OPEN_STAGE_VALUES),
                include=["amount", "probability", "open_todos", "next_todo_due"],
            ),
            # The board's closed columns: the latest closed first, one page at a time.
            models.Index(
                fields=["stage", "close_date", "id"],
                name="opp_closed_stage_close",
                condition=models.Q(stage__in=CLOSED_STAGE_VALUES),
            ),
            # Forecast accuracy: the won deals of a range of periods with every amount their
            # estimate reads, from the index alone.
            models.Index(
                fields=["close_date"],
                name="opp_won_estimates",
                condition=models.Q(stage="closed_won"),
                include=[
                    "id",
                    "owner",
                    "partner",
                    "amount",
                    "created_amount",
                    "commit_entry_amount",
                    "close_month_start_amount",
                    "close_quarter_start_amount",
                ],
            ),
            # Forecast reliability of one partner (its page, its reviews, its users): the
            # partner's deals closing in a range of periods with every amount the figures
            # read, from the index alone.
            models.Index(
                fields=["partner", "close_date"],
                name="opp_partner_close_estimates",
                include=[
                    "id",
                    "owner",
                    "stage",
                    "amount",
                    "created_amount",
                    "commit_entry_amount",
                    "close_month_start_amount",
                    "close_quarter_start_amount",
                ],
            ),
            # The board's totals of the recently closed deals, read from the index alone.
            models.Index(
                fields=["closed_at"],
                name="opp_recent_closed_totals",
                condition=models.Q(closed_at__isnull=False),
                include=["id", "stage", "amount", "probability", "open_todos", "next_todo_due"],
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["external_id"],
                condition=~models.Q(external_id=""),
                name="opp_external_id_unique",
            ),
            models.CheckConstraint(
                condition=models.Q(probability__gte=0, probability__lte=100),
                name="opp_probability_0_100",
            ),
            models.CheckConstraint(
                condition=models.Q(amount__isnull=True) | models.Q(amount__gte=0),
                name="opp_amount_non_negative",
            ),
            models.CheckConstraint(
                condition=~models.Q(stage=Stage.CLOSED_LOST) | models.Q(loss_reason__isnull=False),
                name="opp_lost_has_reason",
            ),
            models.CheckConstraint(
                condition=(
                    models.Q(stage__in=CLOSED_STAGES, closed_at__isnull=False)
                    | (~models.Q(stage__in=CLOSED_STAGES) & models.Q(closed_at__isnull=True))
                ),
                name="opp_closed_at_iff_closed",
            ),
            models.CheckConstraint(
                condition=~models.Q(stage=Stage.CLOSED_WON)
                | models.Q(probability=100, amount__gt=0),
                name="opp_won_is_100_with_amount",
            ),
            models.CheckConstraint(
                condition=~models.Q(stage=Stage.CLOSED_LOST) | models.Q(probability=0),
                name="opp_lost_is_0",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_open(self) -> bool:
        return self.stage in OPEN_STAGES

    @property
    def is_closed(self) -> bool:
        return not self.is_open

    @property
    def stage_number(self) -> int:
        return stage_number(self.stage)

    @property
    def buying_signals(self) -> list[str]:
        return [str(label) for name, label in BUYING_SIGNALS if getattr(self, name)]

    @property
    def characteristics(self) -> list[dict]:
        """Pain, interest and fit with their notes, for the deal page and the review."""
        return [
            {
                "label": label,
                "ok": getattr(self, f"{name}_ok"),
                "note": getattr(self, f"{name}_note"),
            }
            for name, label in CHARACTERISTICS
        ]

    @property
    def weighted_amount(self):
        if self.amount is None:
            return None
        return self.amount * self.probability / 100


# Seed 004: every opportunity has a pain, an interest and a fit.
CHARACTERISTICS = (
    ("pain", _("Pain")),
    ("interest", _("Interest")),
    ("fit", _("Fit")),
)

# Fields whose every change is kept with its old and new value.
TRACKED_FIELDS = (
    "stage",
    "amount",
    "probability",
    "close_date",
    "forecast_category",
    "owner",
    "partner",
)


class SameDealRows(models.ForeignObject):
    """The history rows of the same deal as this one: a join on ``opportunity_id``, no column.

    It puts two rows of one deal side by side in a query on the history alone (e.g. the row
    valid at the start of a window next to the one valid at its end, through a
    ``FilteredRelation`` that picks one row), without joining the deals' table.
    """

    requires_unique_target = False
    # Many rows per row, like a generic relation: a private field, so it is no column of the
    # model (no migration, not in ``_meta.fields`` nor in the admin's read-only fields).
    many_to_one = False
    one_to_many = True

    def __init__(self, *args, **kwargs):
        kwargs["editable"] = False  # nor in model forms
        super().__init__(*args, **kwargs)

    def contribute_to_class(self, cls, name, private_only=False, **kwargs):
        super().contribute_to_class(cls, name, private_only=True, **kwargs)


class OpportunityHistory(models.Model):
    """One row per change of an opportunity, append-only.

    Each row holds the tracked values *after* the change and *before* it (``prev_*``), so a
    row reads as "who changed what from what to what". ``valid_until`` is the moment the
    next row superseded it (NULL for the current row): the values as of a date T are the
    rows with ``changed_at <= T < valid_until`` — a plain indexed range, no window function,
    so forecasts and snapshots aggregate it directly in SQL. It is the only column ever
    written after insert, and only by the service that appends the next row.
    """

    opportunity = models.ForeignKey(
        Opportunity, on_delete=models.CASCADE, related_name="history", verbose_name=_("opportunity")
    )
    version = models.PositiveIntegerField(_("version"))
    changed_at = models.DateTimeField(_("changed at"), default=timezone.now)
    valid_until = models.DateTimeField(_("valid until"), null=True, blank=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("changed by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    is_creation = models.BooleanField(_("creation"), default=False)
    # Every field the change touched, tracked or not (name, next step…): for the timeline
    # and for telling a second editor what changed under them.
    changed_fields = models.JSONField(_("changed fields"), default=list)
    tag = models.CharField(_("tag"), max_length=64, blank=True, db_index=True)

    stage = models.CharField(_("stage"), max_length=20, choices=Stage.choices)
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2, null=True)
    probability = models.PositiveSmallIntegerField(_("probability (%)"))
    close_date = models.DateField(_("close date"))
    forecast_category = models.CharField(
        _("forecast category"), max_length=20, choices=ForecastCategory.choices
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    partner = models.ForeignKey(
        "accounts.Partner",
        verbose_name=_("partner"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    prev_stage = models.CharField(
        _("previous stage"), max_length=20, choices=Stage.choices, blank=True
    )
    prev_amount = models.DecimalField(
        _("previous amount"), max_digits=14, decimal_places=2, null=True
    )
    prev_probability = models.PositiveSmallIntegerField(_("previous probability (%)"), null=True)
    prev_close_date = models.DateField(_("previous close date"), null=True)
    prev_forecast_category = models.CharField(
        _("previous forecast category"),
        max_length=20,
        choices=ForecastCategory.choices,
        blank=True,
    )
    prev_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("previous owner"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    prev_partner = models.ForeignKey(
        "accounts.Partner",
        verbose_name=_("previous partner"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # On a row that moves the deal out of an open stage: when the deal entered that stage,
    # so the stay's length is read from this row alone.
    prev_stage_entered_at = models.DateTimeField(
        _("entered the previous stage"), null=True, blank=True
    )
    # Why the change was made: required by the deal service when the change goes backward
    # (``opportunities.reasons``), kept when given for any other change.
    reason_code = models.ForeignKey(
        ReasonCode,
        verbose_name=_("reason"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    reason_text = FreeTextField(_("reason details"), max_length=REASON_MAX_LENGTH, blank=True)
    # A deal's other rows (none may match a FilteredRelation's condition: an outer join).
    same_deal = SameDealRows(
        "self",
        null=True,
        on_delete=models.DO_NOTHING,
        from_fields=["opportunity"],
        to_fields=["opportunity"],
        related_name="+",
    )

    class Meta:
        verbose_name = _("opportunity change")
        verbose_name_plural = _("opportunity history")
        ordering = ["opportunity", "version"]
        indexes = [
            models.Index(fields=["opportunity", "version"], name="opphist_opp_version"),
            # "What changed" in a window: the row valid at its end (written in the window,
            # not superseded by its end) and the row valid at its start (superseded in the
            # window), each with the values compared, read from the indexes alone.
            models.Index(
                fields=["changed_at"],
                name="opphist_changes_end",
                include=[
                    "id",
                    "opportunity",
                    "valid_until",
                    "stage",
                    "amount",
                    "close_date",
                    "owner",
                    "partner",
                ],
            ),
            models.Index(
                fields=["valid_until"],
                name="opphist_changes_start",
                condition=models.Q(valid_until__isnull=False),
                include=[
                    "changed_at",
                    "opportunity",
                    "stage",
                    "amount",
                    "close_date",
                    "owner",
                    "partner",
                ],
            ),
            models.Index(fields=["opportunity", "stage"], name="opphist_opp_stage"),
            # The stays in open stages that ended in a period (velocity), from the index alone.
            models.Index(
                fields=["changed_at"],
                name="opphist_stay_ends",
                condition=models.Q(prev_stage_entered_at__isnull=False),
                include=["prev_stage", "prev_stage_entered_at", "opportunity"],
            ),
            models.Index(fields=["valid_until", "changed_at"], name="opphist_validity"),
            models.Index(
                fields=["changed_at"],
                name="opphist_current",
                condition=models.Q(valid_until__isnull=True),
            ),
            # The current rows of the deals closing in a period, with every figure a
            # forecast sums: "as of" a recent moment is read from the index alone.
            models.Index(
                fields=["close_date"],
                name="opphist_current_close",
                condition=models.Q(valid_until__isnull=True),
                include=[
                    "id",
                    "changed_at",
                    "stage",
                    "forecast_category",
                    "amount",
                    "probability",
                    "owner",
                    "partner",
                ],
            ),
            # Superseded Commit and won rows by close date: the commit at a period's start
            # (accuracy page) reads the rows valid then from the index alone.
            models.Index(
                fields=["close_date", "valid_until"],
                name="opphist_past_commit_close",
                condition=models.Q(valid_until__isnull=False)
                & (models.Q(stage="closed_won") | models.Q(forecast_category="commit")),
                include=["changed_at", "stage", "forecast_category", "amount", "owner", "partner"],
            ),
            # Close dates moved later, by the date moved from: the slips of a period (forecast
            # reliability) read from the index alone, not from every history row.
            models.Index(
                fields=["prev_close_date"],
                name="opphist_close_moved_later",
                condition=models.Q(close_date__gt=models.F("prev_close_date")),
                include=["close_date", "opportunity", "owner", "partner"],
            ),
            # The same slips for one partner: its own range, not every partner's.
            models.Index(
                fields=["partner", "prev_close_date"],
                name="opphist_partner_moved_later",
                condition=models.Q(close_date__gt=models.F("prev_close_date")),
                include=["close_date", "opportunity"],
            ),
            # The first entry into Commit of each deal (its estimate on the accuracy page).
            models.Index(
                fields=["opportunity", "version"],
                name="opphist_commit_entry",
                condition=models.Q(forecast_category="commit")
                & ~models.Q(prev_forecast_category="commit"),
                include=["amount"],
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["opportunity", "version"], name="opphist_unique_version"
            ),
            models.CheckConstraint(
                condition=models.Q(valid_until__isnull=True)
                | models.Q(valid_until__gte=models.F("changed_at")),
                name="opphist_valid_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.opportunity_id} v{self.version} {self.changed_at:%Y-%m-%d %H:%M}"

    def changes(self) -> list[tuple[str, object, object]]:
        """(field, old, new) for each tracked field this row changed."""
        return [
            (field, getattr(self, f"prev_{field}"), getattr(self, field))
            for field in TRACKED_FIELDS
            if field in self.changed_fields
        ]
