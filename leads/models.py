from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from climcrm.choices import BUYING_SIGNALS, OriginChannel, Source
from climcrm.fields import REASON_MAX_LENGTH, FreeTextField
from climcrm.models import TimeStampedModel


class LeadStatus(models.TextChoices):
    NEW = "new", _("New")
    WORKING = "working", _("Working")
    MQL = "mql", _("Marketing qualified (MQL)")
    CONVERTED = "converted", _("Converted")
    DISQUALIFIED = "disqualified", _("Disqualified")


OPEN_LEAD_STATUSES = [LeadStatus.NEW.value, LeadStatus.WORKING.value, LeadStatus.MQL.value]


class Lead(TimeStampedModel):
    first_name = models.CharField(_("first name"), max_length=100, blank=True)
    last_name = models.CharField(_("last name"), max_length=100)
    email = models.EmailField(_("email"), blank=True, db_index=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    company = models.CharField(_("company"), max_length=200, blank=True)
    job_title = models.CharField(_("job title"), max_length=120, blank=True)
    source = models.CharField(
        _("source"), max_length=20, choices=Source.choices, default=Source.OTHER
    )
    # The marketing campaign that brought the lead (set by the marketing tool or by hand).
    campaign = models.CharField(_("campaign"), max_length=200, blank=True)
    origin = models.CharField(
        _("origin channel"),
        max_length=2,
        choices=OriginChannel.choices,
        default=OriginChannel.INTERNAL,
    )
    partner = models.ForeignKey(
        "accounts.Partner",
        verbose_name=_("partner"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="leads",
        help_text=_("The partner that brought the lead, when its origin is a partner."),
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned_leads",
    )
    status = models.CharField(
        _("status"), max_length=20, choices=LeadStatus.choices, default=LeadStatus.NEW
    )
    status_changed_at = models.DateTimeField(_("status changed"), null=True, blank=True)
    # Once marketing qualified, always counted so in the funnel (kept by the status service).
    reached_mql = models.BooleanField(_("reached MQL"), default=False, editable=False)
    # How far its deal went once converted: leads.funnel bits SRL, SQL, won.
    deal_progress = models.PositiveSmallIntegerField(_("deal progress"), default=0, editable=False)
    disqualification_reason = FreeTextField(
        _("disqualification reason"), max_length=REASON_MAX_LENGTH, blank=True
    )
    notes = FreeTextField(_("notes"), blank=True)
    project_name = models.CharField(
        _("real-estate project"),
        max_length=200,
        blank=True,
        help_text=_("Name or address of the site, when the interest is one specific project."),
    )
    budget_ok = models.BooleanField(_("budget"), default=False)
    budget_note = models.CharField(_("budget note"), max_length=255, blank=True)
    authority_ok = models.BooleanField(_("authority"), default=False)
    authority_note = models.CharField(_("authority note"), max_length=255, blank=True)
    need_ok = models.BooleanField(_("need"), default=False)
    need_note = models.CharField(_("need note"), max_length=255, blank=True)
    timing_ok = models.BooleanField(_("timing"), default=False)
    timing_note = models.CharField(_("timing note"), max_length=255, blank=True)
    # The three qualification levels: does the organisation fit, is there an opportunity,
    # do we reach the right people.
    organisation_fit = models.BooleanField(_("organisation fit"), default=False)
    organisation_note = models.CharField(_("organisation note"), max_length=255, blank=True)
    opportunity_fit = models.BooleanField(_("opportunity identified"), default=False)
    opportunity_note = models.CharField(_("opportunity note"), max_length=255, blank=True)
    stakeholder_fit = models.BooleanField(_("stakeholders reached"), default=False)
    stakeholder_note = models.CharField(_("stakeholder note"), max_length=255, blank=True)
    # Set once the three qualification levels are met: a prospect, counted so in the funnel
    # for good (kept by the lead services, like ``reached_mql``).
    reached_prospect = models.BooleanField(_("reached prospect"), default=False, editable=False)
    # The opportunity's characteristics (seed 004): pain, interest, fit, each with a note.
    pain_ok = models.BooleanField(_("pain"), default=False)
    pain_note = models.CharField(_("pain note"), max_length=255, blank=True)
    interest_ok = models.BooleanField(_("interest"), default=False)
    interest_note = models.CharField(_("interest note"), max_length=255, blank=True)
    fit_ok = models.BooleanField(_("fit"), default=False)
    fit_note = models.CharField(_("fit note"), max_length=255, blank=True)
    # The buying signals (seed 004): what makes a prospect an opportunity.
    asked_demo = models.BooleanField(_("asked for a demo"), default=False)
    asked_pricing = models.BooleanField(_("asked for pricing"), default=False)
    tested_trial = models.BooleanField(_("tested a trial"), default=False)
    gave_decision_date = models.BooleanField(_("gave a decision date"), default=False)
    planned_actions = FreeTextField(_("planned actions"), blank=True)
    converted_account = models.ForeignKey(
        "accounts.Account",
        verbose_name=_("converted account"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    converted_contact = models.ForeignKey(
        "accounts.Contact",
        verbose_name=_("converted contact"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    converted_opportunity = models.ForeignKey(
        "opportunities.Opportunity",
        verbose_name=_("converted opportunity"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    converted_at = models.DateTimeField(_("converted"), null=True, blank=True)
    anonymised_at = models.DateTimeField(_("anonymised"), null=True, blank=True)
    import_job = models.ForeignKey(
        "leads.ImportJob",
        verbose_name=_("imported by"),
        null=True,
        blank=True,
        editable=False,
        on_delete=models.SET_NULL,
        related_name="leads",
    )

    class Meta:
        verbose_name = _("lead")
        verbose_name_plural = _("leads")
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["status", "created_at"], name="lead_status_created"),
            models.Index(fields=["owner", "status"], name="lead_owner_status"),
            models.Index(fields=["partner", "status"], name="lead_partner_status"),
            # A partner's leads created in a period: the review's new leads, the QBR's counts.
            models.Index(fields=["partner", "created_at"], name="lead_partner_created"),
            models.Index(fields=["source"], name="lead_source"),
            # The funnel of a period: its leads, MQL and converted, from the index alone.
            models.Index(
                fields=["created_at"],
                name="lead_created_funnel",
                include=["reached_mql", "reached_prospect", "deal_progress", "owner", "partner"],
            ),
            models.Index(
                fields=["-created_at", "-id"],
                name="lead_open_created",
                condition=models.Q(status__in=["new", "working", "mql"]),
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(status=LeadStatus.DISQUALIFIED)
                | ~models.Q(disqualification_reason=""),
                name="lead_disqualified_has_reason",
            ),
        ]

    def __str__(self) -> str:
        name = f"{self.first_name} {self.last_name}".strip()
        return f"{name} ({self.company})" if self.company else name

    @property
    def is_read_only(self) -> bool:
        return self.status in (LeadStatus.CONVERTED, LeadStatus.DISQUALIFIED)

    @property
    def missing_levels(self) -> list[str]:
        """The qualification levels not met yet, as labels (empty: the lead is a prospect)."""
        return [str(label) for name, label in QUALIFICATION_LEVELS if not getattr(self, name)]

    @property
    def fits_profile(self) -> bool:
        return not self.missing_levels

    @property
    def buying_signals(self) -> list[str]:
        return [str(label) for name, label in BUYING_SIGNALS if getattr(self, name)]


# The three qualification levels of seed 004: a lead meeting all three is a prospect.
QUALIFICATION_LEVELS = (
    ("organisation_fit", _("Organisation")),
    ("opportunity_fit", _("Opportunity")),
    ("stakeholder_fit", _("Stakeholder")),
)
# The opportunity's characteristics (seed 004), carried from the lead to its deal.
CHARACTERISTIC_FIELDS = (
    "pain_ok",
    "pain_note",
    "interest_ok",
    "interest_note",
    "fit_ok",
    "fit_note",
)


class LeadStatusChange(models.Model):
    """Append-only: every status a lead went through, with who and when (funnel metrics)."""

    lead = models.ForeignKey(
        Lead, on_delete=models.CASCADE, related_name="status_changes", verbose_name=_("lead")
    )
    from_status = models.CharField(_("from"), max_length=20, choices=LeadStatus.choices, blank=True)
    to_status = models.CharField(_("to"), max_length=20, choices=LeadStatus.choices)
    changed_at = models.DateTimeField(_("changed at"), db_index=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("changed by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("lead status change")
        verbose_name_plural = _("lead status changes")
        ordering = ["lead", "changed_at"]
        indexes = [models.Index(fields=["to_status", "changed_at"], name="leadstatus_to_at")]

    def __str__(self) -> str:
        return f"{self.lead_id}: {self.from_status} → {self.to_status}"


class PublicFormSubmission(models.Model):
    """One post of the public web-to-lead form: the per-IP rate limit counts these rows.

    Kept in the database so every web server sees the same count.
    """

    ip_address = models.GenericIPAddressField(_("IP address"))
    submitted_at = models.DateTimeField(_("submitted at"))

    class Meta:
        verbose_name = _("web form submission")
        verbose_name_plural = _("web form submissions")
        indexes = [models.Index(fields=["ip_address", "submitted_at"], name="leadform_ip_at")]

    def __str__(self) -> str:
        return f"{self.ip_address} {self.submitted_at:%Y-%m-%d %H:%M}"


class ImportJob(models.Model):
    """An uploaded CSV file, from preview to imported.

    The decoded text lives in the database so that the preview and the confirmation may
    be served by different web servers, and a worker imports it whoever watches.
    """

    class Status(models.TextChoices):
        PREVIEWED = "previewed", _("Previewed")
        IMPORTING = "importing", _("Importing")
        DONE = "done", pgettext_lazy("import status", "Done")

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("uploaded by"),
        on_delete=models.CASCADE,
        related_name="+",
    )
    created_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)
    filename = models.CharField(_("file name"), max_length=255)
    encoding = models.CharField(_("encoding"), max_length=20)
    delimiter = models.CharField(_("separator"), max_length=1)
    content = models.TextField(_("content"))
    # Column index → lead field, read from the header row.
    mapping = models.JSONField(_("column mapping"), default=dict)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.PREVIEWED
    )
    total_rows = models.PositiveIntegerField(_("rows"), default=0)
    valid_rows = models.PositiveIntegerField(_("valid rows"), default=0)
    # Progress of the import: data rows read so far, leads written so far.
    processed_rows = models.PositiveIntegerField(_("rows processed"), default=0)
    # Character offset in ``content`` where the next chunk starts.
    position = models.PositiveBigIntegerField(default=0, editable=False)
    imported_rows = models.PositiveIntegerField(_("rows imported"), default=0)
    rejected_rows = models.PositiveIntegerField(_("rows rejected"), default=0)
    # The rejected rows with their reasons, as a CSV text (filled while importing).
    rejected_content = models.TextField(_("rejected rows"), blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    # Moves with every chunk imported: an import that stopped moving lost its worker.
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("lead import")
        verbose_name_plural = _("lead imports")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.filename

    @property
    def progress_percent(self) -> int:
        if not self.total_rows:
            return 100
        return min(100, round(100 * self.processed_rows / self.total_rows))
