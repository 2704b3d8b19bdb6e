from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from climcrm.fields import LONG_NOTE_MAX_LENGTH, FreeTextField
from climcrm.models import TimeStampedModel
from climcrm.text import normalize_company_name


class Account(TimeStampedModel):
    name = models.CharField(_("name"), max_length=200)
    # Kept in step with name by the services; duplicate detection and search use it.
    normalized_name = models.CharField(_("normalised name"), max_length=200, db_index=True)
    industry = models.CharField(_("industry / segment"), max_length=120, blank=True)
    website = models.URLField(_("website"), blank=True)
    street = models.CharField(_("street"), max_length=200, blank=True)
    postal_code = models.CharField(_("postal code"), max_length=20, blank=True)
    city = models.CharField(_("city"), max_length=120, blank=True)
    country = models.CharField(_("country"), max_length=2, default="CH")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned_accounts",
    )
    notes = FreeTextField(_("notes"), max_length=LONG_NOTE_MAX_LENGTH, blank=True)
    # The account's id in the CRM or spreadsheet it was imported from: a re-import finds it.
    external_id = models.CharField(_("external id"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("account")
        verbose_name_plural = _("accounts")
        ordering = ["name"]
        indexes = [models.Index(fields=["name"]), models.Index(fields=["owner"])]
        constraints = [
            models.UniqueConstraint(
                fields=["external_id"],
                condition=~models.Q(external_id=""),
                name="account_external_id_unique",
            )
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        self.normalized_name = normalize_company_name(self.name)
        super().save(*args, **kwargs)


class Contact(TimeStampedModel):
    first_name = models.CharField(_("first name"), max_length=100, blank=True)
    last_name = models.CharField(_("last name"), max_length=100)
    email = models.EmailField(_("email"), blank=True, db_index=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    job_title = models.CharField(_("job title"), max_length=120, blank=True)
    account = models.ForeignKey(
        Account, verbose_name=_("account"), on_delete=models.PROTECT, related_name="contacts"
    )
    is_decision_maker = models.BooleanField(_("decision maker"), default=False)
    notes = FreeTextField(_("notes"), blank=True)
    anonymised_at = models.DateTimeField(_("anonymised"), null=True, blank=True)
    # The contact's id in the CRM or spreadsheet it was imported from.
    external_id = models.CharField(_("external id"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        ordering = ["last_name", "first_name"]
        indexes = [models.Index(fields=["last_name", "first_name"])]
        constraints = [
            models.UniqueConstraint(
                fields=["external_id"],
                condition=~models.Q(external_id=""),
                name="contact_external_id_unique",
            )
        ]

    def __str__(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def full_name(self) -> str:
        return str(self)


class Partner(TimeStampedModel):
    """A reseller (business partner, "BP"): a company account with its own sales people."""

    account = models.OneToOneField(
        Account, verbose_name=_("company"), on_delete=models.PROTECT, related_name="partner"
    )
    channel_manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("channel manager"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="managed_partners",
    )
    contract_start = models.DateField(_("contract start"), null=True, blank=True)
    contract_end = models.DateField(_("contract end"), null=True, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("partner")
        verbose_name_plural = _("partners")
        ordering = ["account__name"]

    def __str__(self) -> str:
        return self.account.name


class PartnerTarget(models.Model):
    """One quarter of a partner's annual business plan."""

    partner = models.ForeignKey(
        Partner, verbose_name=_("partner"), on_delete=models.CASCADE, related_name="targets"
    )
    year = models.PositiveSmallIntegerField(_("year"))
    quarter = models.PositiveSmallIntegerField(_("quarter"))
    revenue = models.DecimalField(_("revenue target"), max_digits=14, decimal_places=2, default=0)
    new_customers = models.PositiveIntegerField(_("new customers target"), default=0)
    leads = models.PositiveIntegerField(_("leads target"), default=0)

    class Meta:
        verbose_name = _("business plan quarter")
        verbose_name_plural = _("business plan")
        ordering = ["partner", "year", "quarter"]
        constraints = [
            models.UniqueConstraint(
                fields=["partner", "year", "quarter"], name="partner_target_unique_quarter"
            ),
            models.CheckConstraint(
                condition=models.Q(quarter__gte=1, quarter__lte=4),
                name="partner_target_quarter_1_4",
            ),
            models.CheckConstraint(
                condition=models.Q(revenue__gte=0), name="partner_target_revenue_non_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.partner} {self.year} Q{self.quarter}"
