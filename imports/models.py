"""Imports of accounts, contacts and opportunities from CSV files.

An uploaded file is decoded once and kept on a ``PipelineImport`` row with the column
mapping chosen for it; the dry run reads it, and a worker imports it chunk by chunk
(``imports.tasks.run_import``), writing its progress on the row for the page to read.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class ImportKind(models.TextChoices):
    ACCOUNTS = "accounts", _("Accounts")
    CONTACTS = "contacts", _("Contacts")
    OPPORTUNITIES = "opportunities", _("Opportunities")


class ImportMode(models.TextChoices):
    PER_ROW = "row", _("Row by row: import the good rows, refuse the others")
    WHOLE_FILE = "file", _("All or nothing: import the file only if every row is good")


class SavedMapping(models.Model):
    """A column mapping saved under a name, to be applied to the next file of that kind."""

    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("records"), max_length=20, choices=ImportKind.choices)
    # File header (as written in the file) → field name.
    columns = models.JSONField(_("columns"), default=dict)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("saved by"),
        on_delete=models.CASCADE,
        related_name="+",
    )
    created_at = models.DateTimeField(_("saved at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("saved column mapping")
        verbose_name_plural = _("saved column mappings")
        ordering = ["kind", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["created_by", "kind", "name"], name="saved_mapping_unique_name"
            )
        ]

    def __str__(self) -> str:
        return self.name


class PipelineImport(models.Model):
    """An uploaded CSV file of accounts, contacts or opportunities, from mapping to imported."""

    class Status(models.TextChoices):
        MAPPING = "mapping", _("Columns to map")
        CHECKING = "checking", _("Dry run under way")
        CHECKED = "checked", _("Checked")
        IMPORTING = "importing", _("Importing")
        DONE = "done", pgettext_lazy("import status", "Done")
        REFUSED = "refused", _("Refused")

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("uploaded by"),
        on_delete=models.CASCADE,
        related_name="+",
    )
    created_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)
    kind = models.CharField(_("records"), max_length=20, choices=ImportKind.choices)
    mode = models.CharField(
        _("when a row is refused"),
        max_length=10,
        choices=ImportMode.choices,
        default=ImportMode.PER_ROW,
    )
    filename = models.CharField(_("file name"), max_length=255)
    encoding = models.CharField(_("encoding"), max_length=20)
    delimiter = models.CharField(_("separator"), max_length=1)
    content = models.TextField(_("content"))
    header = models.JSONField(_("header"), default=list)
    # Column index (as text) → field name.
    mapping = models.JSONField(_("column mapping"), default=dict)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.MAPPING
    )
    total_rows = models.PositiveIntegerField(_("rows"), default=0)
    # The dry run: rows checked so far, then its counts and first refused rows.
    checked_rows = models.PositiveIntegerField(_("rows checked"), default=0)
    dry_run = models.JSONField(_("dry run"), default=dict, blank=True)
    processed_rows = models.PositiveIntegerField(_("rows processed"), default=0)
    # Character offset in ``content`` where the next chunk starts.
    position = models.PositiveBigIntegerField(default=0, editable=False)
    created_rows = models.PositiveIntegerField(_("records created"), default=0)
    existing_rows = models.PositiveIntegerField(_("records already present"), default=0)
    rejected_rows = models.PositiveIntegerField(_("rows refused"), default=0)
    # The refused rows with their reasons, as CSV text (filled while importing).
    rejected_content = models.TextField(_("refused rows"), blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    # Moves with every chunk imported: an import that stopped moving lost its worker.
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("pipeline import")
        verbose_name_plural = _("pipeline imports")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "updated_at"], name="pimport_status_updated")]

    def __str__(self) -> str:
        return self.filename

    @property
    def is_running(self) -> bool:
        return self.status == self.Status.IMPORTING

    @property
    def is_checking(self) -> bool:
        return self.status == self.Status.CHECKING
