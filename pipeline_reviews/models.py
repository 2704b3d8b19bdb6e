from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from climcrm.fields import REASON_MAX_LENGTH, FreeTextField
from climcrm.models import OutboxEmail


class ReviewKind(models.TextChoices):
    MONTHLY_PARTNER = "monthly_partner", _("Monthly partner review")
    CHANNEL_MANAGER = "channel_manager", _("Monthly channel-manager review")
    QUARTERLY = "quarterly", _("Quarterly business review")


class ReviewStatus(models.TextChoices):
    DRAFT = "draft", _("In progress")
    # A context of its own: other apps' "Closed" (a forecast column, the date a deal closed)
    # are other words in French.
    CLOSED = "closed", pgettext_lazy("review status", "Closed")


class ReviewFormat(models.TextChoices):
    CALL = "call", _("Call")
    MEETING = "meeting", _("Meeting")


class Review(models.Model):
    kind = models.CharField(_("kind"), max_length=20, choices=ReviewKind.choices)
    partner = models.ForeignKey(
        "accounts.Partner",
        verbose_name=_("partner"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="reviews",
    )
    # First day of the month (monthly reviews) or of the quarter (quarterly) reviewed.
    period_start = models.DateField(_("period"))
    status = models.CharField(
        _("status"), max_length=10, choices=ReviewStatus.choices, default=ReviewStatus.DRAFT
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("closed by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    format = models.CharField(
        _("format"), max_length=10, choices=ReviewFormat.choices, default=ReviewFormat.CALL
    )
    attendees = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("attendees"),
        blank=True,
        related_name="attended_reviews",
    )
    commit_amount = models.DecimalField(
        _("new commit"), max_digits=14, decimal_places=2, null=True, blank=True
    )
    commit_note = FreeTextField(_("commit note"), max_length=REASON_MAX_LENGTH, blank=True)
    notes = FreeTextField(_("notes"), blank=True)

    class Meta:
        verbose_name = _("review")
        verbose_name_plural = _("reviews")
        ordering = ["-period_start", "-id"]
        indexes = [
            models.Index(fields=["partner", "kind", "period_start"], name="review_partner"),
            models.Index(fields=["kind", "status", "period_start"], name="review_kind_status"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind="channel_manager") | models.Q(partner__isnull=False),
                name="review_partner_required",
            ),
            models.CheckConstraint(
                condition=models.Q(status="draft", closed_at__isnull=True)
                | models.Q(status="closed", closed_at__isnull=False),
                name="review_closed_at_iff_closed",
            ),
            models.CheckConstraint(
                condition=models.Q(commit_amount__isnull=True) | models.Q(commit_amount__gte=0),
                name="review_commit_non_negative",
            ),
            models.UniqueConstraint(
                fields=["kind", "partner", "period_start"],
                name="review_unique_partner_period",
                condition=models.Q(partner__isnull=False),
            ),
            models.UniqueConstraint(
                fields=["kind", "period_start"],
                name="review_unique_cm_period",
                condition=models.Q(partner__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.partner or ''} {self.period_start:%Y-%m}".replace(
            "  ", " "
        )

    @property
    def is_closed(self) -> bool:
        return self.status == ReviewStatus.CLOSED

    @property
    def is_monthly(self) -> bool:
        return self.kind == ReviewKind.MONTHLY_PARTNER

    @property
    def is_quarterly(self) -> bool:
        return self.kind == ReviewKind.QUARTERLY

    @property
    def is_channel_manager_review(self) -> bool:
        return self.kind == ReviewKind.CHANNEL_MANAGER

    @property
    def tag(self) -> str:
        """The tag every deal change made during the review carries in its history."""
        return f"review:{self.pk}"

    @property
    def quarter(self) -> int:
        return (self.period_start.month - 1) // 3 + 1


class ReviewSnapshot(models.Model):
    """What the review saw when it was closed: written once, in the closing transaction.

    ``data`` holds the summary by stage, every open deal's values, the commit and the
    to-dos (or, for the other kinds, the figures computed for the review).
    """

    review = models.OneToOneField(
        Review, verbose_name=_("review"), on_delete=models.CASCADE, related_name="snapshot"
    )
    taken_at = models.DateTimeField(_("taken at"))
    data = models.JSONField(_("data"))

    class Meta:
        verbose_name = _("review snapshot")
        verbose_name_plural = _("review snapshots")

    def __str__(self) -> str:
        return f"{self.review} @ {self.taken_at:%Y-%m-%d %H:%M}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ValidationError(_("A review snapshot cannot be changed."))
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValidationError(_("A review snapshot cannot be deleted."))


class RecapEmail(OutboxEmail):
    """The recap of a monthly review to one recipient, rendered at closing in their language.

    Sent through the outbox (``climcrm.outbox``): claimed by one worker, marked sent once,
    retried with back-off while the mail server fails.
    """

    review = models.ForeignKey(
        Review, verbose_name=_("review"), on_delete=models.CASCADE, related_name="recaps"
    )
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recipient"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("recap email")
        verbose_name_plural = _("recap emails")
        ordering = ["review", "id"]
        indexes = [
            models.Index(
                fields=["created_at"],
                name="recap_pending",
                condition=models.Q(sent_at__isnull=True),
            ),
            models.Index(fields=["status", "next_attempt_at"], name="recap_due"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["review", "email"], name="recap_unique_recipient")
        ]

    def __str__(self) -> str:
        return f"{self.review} → {self.email}"

    def headers(self) -> dict[str, str]:
        return {**super().headers(), "X-ClimCRM-Recap": str(self.pk)}


class PartnerReviewNote(models.Model):
    """The channel-manager review's notes on one partner (kept with the review)."""

    review = models.ForeignKey(
        Review, verbose_name=_("review"), on_delete=models.CASCADE, related_name="partner_notes"
    )
    partner = models.ForeignKey(
        "accounts.Partner", verbose_name=_("partner"), on_delete=models.CASCADE, related_name="+"
    )
    difficulties = FreeTextField(_("difficulties"), blank=True)
    progress_areas = FreeTextField(_("areas of progress"), blank=True)
    support_requested = FreeTextField(_("support requested"), blank=True)
    corrective_actions = FreeTextField(_("corrective actions requested"), blank=True)

    class Meta:
        verbose_name = _("partner note")
        verbose_name_plural = _("partner notes")
        constraints = [
            models.UniqueConstraint(fields=["review", "partner"], name="partner_note_unique")
        ]

    def __str__(self) -> str:
        return f"{self.review} / {self.partner}"


class QuarterlyDetails(models.Model):
    """The sections of the quarterly business review that are entered, not computed."""

    review = models.OneToOneField(
        Review, verbose_name=_("review"), on_delete=models.CASCADE, related_name="quarterly"
    )
    # 1. Training
    training_last_quarter = FreeTextField(_("training: last quarter"), blank=True)
    training_gap = FreeTextField(_("training: gap against the business plan"), blank=True)
    registrations_sales = models.PositiveSmallIntegerField(
        _("registrations: salespeople"), default=0
    )
    registrations_consultants = models.PositiveSmallIntegerField(
        _("registrations: consultants"), default=0
    )
    registrations_telemarketers = models.PositiveSmallIntegerField(
        _("registrations: telemarketers"), default=0
    )
    # 2. Marketing (planned actions are MarketingAction rows)
    marketing_last_quarter = FreeTextField(_("marketing: last quarter"), blank=True)
    marketing_gap = FreeTextField(_("marketing: gap against the business plan"), blank=True)
    # 3. Contract
    contract = FreeTextField(_("contract"), blank=True)
    business_plan = FreeTextField(_("business plan"), blank=True)
    payment_status = FreeTextField(_("payment status"), blank=True)
    process_compliance = FreeTextField(
        _("process compliance (leads declared, reviews held)"), blank=True
    )
    sales_administration = FreeTextField(_("sales administration (contracts…)"), blank=True)
    # 4. Business analysis: the figures are computed; these are the entered parts.
    share_of_partner_business = models.PositiveSmallIntegerField(
        _("share of the partner's whole business (%)"), null=True, blank=True
    )
    sales_motivation = FreeTextField(_("motivation of the salespeople"), blank=True)
    sales_skills = FreeTextField(
        _("sales skills (selling our solutions, qualification, proposals, demos, pricing)"),
        blank=True,
    )
    support_days = models.DecimalField(
        _("vendor support: days"), max_digits=6, decimal_places=1, null=True, blank=True
    )
    support_nature = FreeTextField(_("vendor support: nature of the work"), blank=True)
    # 5. After sales
    satisfaction_installations = FreeTextField(_("installations in progress"), blank=True)
    satisfaction_architectures = FreeTextField(_("qualification of architectures"), blank=True)
    satisfaction_information = FreeTextField(_("access to information"), blank=True)
    satisfaction_support = FreeTextField(_("access to support resources"), blank=True)
    satisfaction_overall = FreeTextField(_("overall assessment"), blank=True)
    satisfaction_training_needs = FreeTextField(_("training needs"), blank=True)
    satisfaction_support_requests = FreeTextField(
        _("support requests from the partner"), blank=True
    )
    # 6 and 7
    difficulties = FreeTextField(_("difficulties met by the partner"), blank=True)
    priorities = FreeTextField(_("priorities and requests of the partner"), blank=True)

    class Meta:
        verbose_name = _("quarterly review details")
        verbose_name_plural = _("quarterly review details")

    def __str__(self) -> str:
        return str(self.review)


class MarketingAction(models.Model):
    """A marketing action planned for the coming quarter in a quarterly review."""

    review = models.ForeignKey(
        Review,
        verbose_name=_("review"),
        on_delete=models.CASCADE,
        related_name="marketing_actions",
    )
    action_type = models.CharField(_("type of action"), max_length=120)
    budget = models.DecimalField(_("budget"), max_digits=12, decimal_places=2, default=0)
    expected_leads = models.PositiveIntegerField(_("expected leads"), default=0)
    resources = models.CharField(_("resources needed"), max_length=255, blank=True)

    class Meta:
        verbose_name = _("planned marketing action")
        verbose_name_plural = _("planned marketing actions")
        ordering = ["review", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(budget__gte=0), name="marketing_action_budget_non_negative"
            )
        ]

    def __str__(self) -> str:
        return self.action_type
