from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.translation import gettext
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
    # The matching keys of the conflict queue, kept in step with the fields they come from
    # by the services: two partners' registrations sharing one claim the same customer.
    normalized_company = models.CharField(
        _("normalised company"), max_length=200, blank=True, db_index=True
    )
    email_domain = models.CharField(_("email domain"), max_length=253, blank=True)
    address_key = models.CharField(_("normalised address"), max_length=255, blank=True)
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
    # A partner refused in a conflict may appeal once, with new information.
    appeal = FreeTextField(_("appeal"), max_length=REASON_MAX_LENGTH, blank=True)
    appealed_at = models.DateTimeField(_("appealed"), null=True, blank=True)

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
            models.Index(fields=["email_domain", "status"], name="dealreg_domain_status"),
            models.Index(fields=["address_key", "status"], name="dealreg_address_status"),
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
            models.CheckConstraint(
                condition=models.Q(appealed_at__isnull=True) | ~models.Q(appeal=""),
                name="dealreg_appeal_text_when_appealed",
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

    @property
    def is_appeal(self) -> bool:
        """Back in the queue on the partner's appeal, waiting for the final decision."""
        return self.appealed_at is not None and self.status == RegistrationStatus.SUBMITTED

    @cached_property
    def conflict_entry(self) -> "ConflictDecisionEntry | None":
        """What the latest conflict decision did to this registration, if one did."""
        return (
            self.conflict_entries.select_related("decision")
            .order_by("-decision__decided_at", "-pk")
            .first()
        )

    @property
    def conflict_refusal(self) -> "ConflictDecisionEntry | None":
        """The conflict decision behind this registration's current rejection or return,
        if that is where it came from (not an older decision, nor a plain refusal)."""
        entry = self.conflict_entry
        if (
            entry is None
            or not entry.is_refusal
            or entry.outcome != self.status
            or entry.decision.decided_at != self.decided_at
        ):
            return None
        return entry


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


class MatchKey(models.TextChoices):
    """What two registrations share when they claim the same customer."""

    COMPANY = "company", _("Company name")
    DOMAIN = "domain", _("Email domain")
    ADDRESS = "address", _("Postal address")


# The column of DealRegistration holding each key.
MATCH_KEY_FIELDS = {
    MatchKey.COMPANY: "normalized_company",
    MatchKey.DOMAIN: "email_domain",
    MatchKey.ADDRESS: "address_key",
}


class ConflictDecision(models.Model):
    """A channel manager's decision between partners' registrations of the same customer."""

    key_kind = models.CharField(_("matching on"), max_length=10, choices=MatchKey.choices)
    key_value = models.CharField(_("matching value"), max_length=255)
    winner = models.ForeignKey(
        DealRegistration,
        verbose_name=_("accepted registration"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    registrations = models.ManyToManyField(
        DealRegistration,
        verbose_name=_("registrations"),
        through="ConflictDecisionEntry",
        related_name="conflict_decisions",
    )
    reason = FreeTextField(
        _("reason"),
        max_length=REASON_MAX_LENGTH,
        help_text=_("Recorded with the decision; the partners do not see it."),
    )
    message = FreeTextField(
        _("message to the partners"),
        max_length=REASON_MAX_LENGTH,
        blank=True,
        help_text=_("Each refused partner reads it about their own registration."),
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("conflict decision")
        verbose_name_plural = _("conflict decisions")
        ordering = ["-decided_at", "-id"]
        indexes = [
            models.Index(fields=["key_kind", "key_value"], name="conflict_decision_key"),
        ]
        constraints = [
            models.CheckConstraint(condition=~models.Q(reason=""), name="conflict_reason_given"),
        ]

    def __str__(self) -> str:
        return f"{self.get_key_kind_display()}: {self.key_value}"


class ConflictOutcome(models.TextChoices):
    ACCEPTED = "accepted", _("Accepted")
    KEPT = "kept", _("Protection kept")
    REJECTED = "rejected", _("Rejected")
    RETURNED = "returned", _("Returned for more information")


class ConflictNotice(models.TextChoices):
    """What a refused partner is told, never naming the other partner."""

    NONE = "", _("Nothing about the other registrations")
    FIRST = "first", _("Another partner registered this customer first.")
    PREFERRED = "preferred", _("Another partner's registration of this customer was accepted.")
    PROTECTED = (
        "protected",
        _("This customer is protected by another partner's accepted registration."),
    )


class ConflictDecisionEntry(models.Model):
    """One registration of a conflict decision and what the decision did to it."""

    decision = models.ForeignKey(
        ConflictDecision,
        verbose_name=_("decision"),
        on_delete=models.CASCADE,
        related_name="entries",
    )
    registration = models.ForeignKey(
        DealRegistration,
        verbose_name=_("registration"),
        on_delete=models.CASCADE,
        related_name="conflict_entries",
    )
    outcome = models.CharField(_("outcome"), max_length=10, choices=ConflictOutcome.choices)
    notice = models.CharField(
        _("notice"), max_length=10, choices=ConflictNotice.choices, blank=True
    )
    # The end of the winning claim's protection, as the refused partner is told it.
    protected_until = models.DateField(_("customer protected until"), null=True, blank=True)

    class Meta:
        verbose_name = _("registration in a conflict decision")
        verbose_name_plural = _("registrations in conflict decisions")
        constraints = [
            models.UniqueConstraint(
                fields=["decision", "registration"], name="conflict_entry_once_per_decision"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.decision} · {self.registration} → {self.get_outcome_display()}"

    @property
    def is_refusal(self) -> bool:
        return self.outcome in (ConflictOutcome.REJECTED, ConflictOutcome.RETURNED)


def missing_mandatory_fields(registration: DealRegistration) -> list[str]:
    """Labels of the mandatory fields still empty; acceptance needs none missing."""
    missing = []
    if not registration.company_name.strip():
        missing.append(gettext("company"))
    if not registration.contact_last_name.strip() or not (
        registration.contact_email.strip() or registration.contact_phone.strip()
    ):
        missing.append(gettext("contact (name and email or phone)"))
    if not registration.need.strip():
        missing.append(gettext("need"))
    if registration.estimated_amount is None or registration.estimated_amount <= 0:
        missing.append(gettext("estimated amount"))
    if registration.expected_close_date is None:
        missing.append(gettext("expected close date"))
    return missing
