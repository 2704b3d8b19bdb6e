from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ReviewKind(models.TextChoices):
    MONTHLY_PARTNER = "monthly_partner", _("Monthly partner review")
    CHANNEL_MANAGER = "channel_manager", _("Monthly channel-manager review")
    QUARTERLY = "quarterly", _("Quarterly business review")


class ReviewStatus(models.TextChoices):
    DRAFT = "draft", _("In progress")
    CLOSED = "closed", _("Closed")


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

    class Meta:
        verbose_name = _("review")
        verbose_name_plural = _("reviews")
        ordering = ["-period_start", "-id"]
        indexes = [models.Index(fields=["partner", "kind", "period_start"], name="review_partner")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.partner or ''} {self.period_start:%Y-%m}"
