from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from climcrm.fields import REASON_MAX_LENGTH, FreeTextField
from climcrm.models import TimeStampedModel


class RegistrationStatus(models.TextChoices):
    SUBMITTED = "submitted", _("Submitted")
    ACCEPTED = "accepted", _("Accepted")
    REJECTED = "rejected", _("Rejected")
    RETURNED = "returned", _("Returned for more information")


# Registrations the partner may still change (and resubmit).
EDITABLE_STATUSES = (RegistrationStatus.SUBMITTED, RegistrationStatus.RETURNED)


class DealRegistration(TimeStampedModel):
    """A partner's claim on a deal, accepted (or not) by a channel manager."""

    partner = models.ForeignKey(
        "accounts.Partner",
        verbose_name=_("partner"),
        on_delete=models.PROTECT,
        related_name="registrations",
    )
    registered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("registered by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="deal_registrations",
    )
    company_name = models.CharField(_("company"), max_length=200, blank=True)
    # Kept in step with company_name by the services; the conflict flag compares it.
    normalized_company = models.CharField(
        _("normalised company"), max_length=200, blank=True, db_index=True
    )
    contact_first_name = models.CharField(_("contact first name"), max_length=100, blank=True)
    contact_last_name = models.CharField(_("contact last name"), max_length=100, blank=True)
    contact_email = models.EmailField(_("contact email"), blank=True)
    contact_phone = models.CharField(_("contact phone"), max_length=40, blank=True)
    need = FreeTextField(_("need"), blank=True)
    estimated_amount = models.DecimalField(
        _("estimated amount"), max_digits=14, decimal_places=2, null=True, blank=True
    )
    expected_close_date = models.DateField(_("expected close date"), null=True, blank=True)
    project_name = models.CharField(_("project"), max_length=200, blank=True)
    site_address = models.CharField(_("site address"), max_length=255, blank=True)

    status = models.CharField(
        _("status"),
        max_length=20,
        choices=RegistrationStatus.choices,
        default=RegistrationStatus.SUBMITTED,
    )
    submitted_at = models.DateTimeField(_("submitted"), default=timezone.now)
    decision_reason = FreeTextField(
        _("reason"),
        max_length=REASON_MAX_LENGTH,
        blank=True,
        help_text=_("Shown to the partner."),
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    protected_until = models.DateField(_("protected until"), null=True, blank=True)
    renewed_at = models.DateTimeField(_("renewed"), null=True, blank=True)

    account = models.ForeignKey(
        "accounts.Account",
        verbose_name=_("account"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="deal_registrations",
    )
    contact = models.ForeignKey(
        "accounts.Contact",
        verbose_name=_("contact"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="deal_registrations",
    )
    opportunity = models.ForeignKey(
        "opportunities.Opportunity",
        verbose_name=_("opportunity"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="deal_registrations",
    )

    class Meta:
        verbose_name = _("deal registration")
        verbose_name_plural = _("deal registrations")
        ordering = ["-submitted_at", "-id"]
        indexes = [
            models.Index(fields=["partner", "status"], name="dealreg_partner_status"),
            models.Index(fields=["status", "submitted_at"], name="dealreg_status_submitted"),
            models.Index(fields=["normalized_company", "status"], name="dealreg_company_status"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(estimated_amount__isnull=True)
                | models.Q(estimated_amount__gte=0),
                name="dealreg_amount_non_negative",
            ),
            models.CheckConstraint(
                condition=~models.Q(
                    status__in=[RegistrationStatus.REJECTED, RegistrationStatus.RETURNED]
                )
                | ~models.Q(decision_reason=""),
                name="dealreg_reason_when_rejected_or_returned",
            ),
            models.CheckConstraint(
                condition=models.Q(status=RegistrationStatus.SUBMITTED)
                | models.Q(decided_at__isnull=False),
                name="dealreg_decided_at_when_decided",
            ),
        ]

    def __str__(self) -> str:
        return self.company_name or str(_("Registration %(number)s") % {"number": self.pk})

    @property
    def contact_name(self) -> str:
        return f"{self.contact_first_name} {self.contact_last_name}".strip()

    @property
    def is_expired(self) -> bool:
        return (
            self.status == RegistrationStatus.ACCEPTED
            and self.protected_until is not None
            and self.protected_until < timezone.localdate()
        )

    @property
    def is_editable(self) -> bool:
        return self.status in EDITABLE_STATUSES


class RegistrationEvent(models.Model):
    """One row per status change of a registration: its history is data."""

    registration = models.ForeignKey(
        DealRegistration,
        verbose_name=_("registration"),
        on_delete=models.CASCADE,
        related_name="events",
    )
    from_status = models.CharField(
        _("from"), max_length=20, choices=RegistrationStatus.choices, blank=True
    )
    to_status = models.CharField(_("to"), max_length=20, choices=RegistrationStatus.choices)
    at = models.DateTimeField(_("when"), default=timezone.now, db_index=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    note = models.TextField(_("note"), blank=True)

    class Meta:
        verbose_name = _("registration event")
        verbose_name_plural = _("registration events")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.registration} → {self.get_to_status_display()}"
