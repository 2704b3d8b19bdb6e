"""Importing accounts, contacts and opportunities: upload, mapping, dry run, import.

The file is decoded once at upload (as the lead import does: BOM, UTF-16, UTF-8, else
Windows-1252; the separator that splits the header best) and kept on a ``PipelineImport``.
The dry run checks every row and writes nothing. Once confirmed, a worker imports the file
(``imports.tasks.run_import``): row by row, a chunk per transaction, refused rows set
aside with their reasons; or all or nothing, the whole file in one transaction that is
rolled back if any row is refused. Progress is written on the import row for the page.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import router, transaction
from django.tasks import task
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from imports import columns, writing
from imports.checking import EXISTING, NEW, REFUSED, RowChecker, RowResult
from imports.models import ImportKind, ImportMode, PipelineImport, SavedMapping
from leads.importing import (
    ImportFileError,
    Preview,
    _check_readable,
    batches,
    confirm,
    csv_text,
    data_rows,
    decode,
    detect_delimiter,
    rejected_line,
)

if TYPE_CHECKING:
    from collections.abc import Iterator
    from datetime import datetime
    from typing import Any

    from django.core.files.uploadedfile import UploadedFile

    from climcrm.models import User

CHUNK_ROWS = 20_000
BATCH_SIZE = 5000

__all__ = ["ImportFileError", "data_rows", "rejected_line"]


# --- upload and mapping -----------------------------------------------------------------


def import_create(
    *, upload: UploadedFile, kind: str, by: User, saved: SavedMapping | None = None
) -> PipelineImport:
    """Decode and store an uploaded file with a first mapping (the saved one chosen, else
    guessed from the headers). A file that cannot be read raises ImportFileError."""
    raw = upload.read()
    decoded = decode(raw)
    text = decoded.text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise ImportFileError(_("The file is empty."))
    delimiter = detect_delimiter(text)
    header = [cell.strip() for cell in next(csv.reader(io.StringIO(text), delimiter=delimiter))]
    if len(header) < 2:
        raise ImportFileError(
            _(
                "The first row holds a single column: the file is not separated by "
                "semicolons, commas or tabs. Save it from the spreadsheet as “CSV” and "
                "upload it again."
            )
        )
    _check_readable(text, delimiter)
    if saved is not None and saved.kind == kind:
        mapping = columns.mapping_from_saved(kind, header, saved.columns)
    else:
        mapping = columns.guess_mapping(kind, header)
    return PipelineImport.objects.create(
        created_by=by,
        kind=kind,
        filename=(getattr(upload, "name", "") or "import.csv")[:255],
        encoding=decoded.encoding,
        delimiter=delimiter,
        content=text,
        header=header,
        mapping=mapping,
    )


def missing_fields(kind: str, mapping: dict[str, str]) -> list[str]:
    return [name for name in columns.required_fields(kind) if name not in mapping.values()]


def import_set_mapping(
    *, job: PipelineImport, mapping: dict[str, str], mode: str, save_as: str = "", by: User
) -> PipelineImport:
    """Keep the columns chosen for the file (and save them under a name when asked).

    Raises ValueError when a field is chosen twice or a required one is missing."""
    fields = {column.field for column in columns.columns_of(job.kind)}
    mapping = {index: name for index, name in mapping.items() if name in fields}
    if len(set(mapping.values())) != len(mapping):
        raise ValueError(_("A field is chosen for two columns."))
    missing = missing_fields(job.kind, mapping)
    if missing:
        labels = columns.field_labels(job.kind)
        raise ValueError(
            _("Choose a column for: %(fields)s.")
            % {"fields": ", ".join(str(labels[name]) for name in missing)}
        )
    with transaction.atomic():
        locked = PipelineImport.objects.select_for_update().get(pk=job.pk)
        if locked.status not in (
            PipelineImport.Status.MAPPING,
            PipelineImport.Status.CHECKING,
            PipelineImport.Status.CHECKED,
        ):
            return locked
        locked.mapping = mapping
        locked.mode = mode if mode in ImportMode.values else ImportMode.PER_ROW
        locked.status = PipelineImport.Status.CHECKING
        locked.checked_rows = 0
        locked.dry_run = {}
        locked.save()
        if save_as.strip():
            SavedMapping.objects.update_or_create(
                created_by=by,
                kind=job.kind,
                name=save_as.strip()[:100],
                defaults={"columns": {locked.header[int(i)]: name for i, name in mapping.items()}},
            )
    # After the commit, so that the worker finds the columns chosen.
    transaction.on_commit(lambda: run_dry_run.enqueue(locked.pk))
    return locked


# --- reading rows -----------------------------------------------------------------------


def _batches(
    job: PipelineImport, start: int = 0, limit: int | None = None
) -> Iterator[tuple[list[tuple[int, list[str]]], int]]:
    """Lists of at most BATCH_SIZE (number, cells), with the offset after the last."""
    return batches(job, size=BATCH_SIZE, start=start, limit=limit)


def _checker(job: PipelineImport) -> RowChecker:
    return RowChecker(kind=job.kind, by=job.created_by, header=job.header, mapping=job.mapping)


def iter_results(job: PipelineImport) -> Iterator[RowResult]:
    checker = _checker(job)
    for batch, _offset in _batches(job):
        yield from checker.check(batch)


@dataclass
class DryRun(Preview):
    """The lead import's preview, with the rows already in ClimCRM told apart from the new
    ones: they are left as they are. Kept on the import as JSON (``as_json``)."""

    existing: int = 0

    @property
    def new(self) -> int:
        return self.valid - self.existing

    @property
    def refused(self) -> int:
        return self.rejected

    def as_json(self) -> dict:
        counts = ("total", "new", "existing", "refused", "malformed")
        return {
            **{name: getattr(self, name) for name in counts},
            "errors": [[row.number, row.errors] for row in self.errors],
        }

    @classmethod
    def from_job(cls, job: PipelineImport) -> DryRun:
        stored = job.dry_run or {}
        summary = cls.of_file(job)
        summary.total = stored.get("total", 0)
        summary.existing = stored.get("existing", 0)
        summary.valid = stored.get("new", 0) + summary.existing
        summary.rejected = stored.get("refused", 0)
        summary.malformed = stored.get("malformed", 0)
        summary.errors = [
            RowResult(number=number, cells=[], errors=errors)
            for number, errors in stored.get("errors", [])
        ]
        return summary


def dry_run(job: PipelineImport) -> DryRun:
    """Check every row as the import would and write no record: the counts and the first
    refused rows are kept on the import, the rows checked so far after every batch."""
    summary = DryRun.of_file(job)
    for result in _checked(job):
        summary.count(result, refused=result.outcome == REFUSED, shown=result.outcome == NEW)
        summary.existing += result.outcome == EXISTING
    PipelineImport.objects.filter(pk=job.pk).update(
        total_rows=summary.total, checked_rows=summary.total, dry_run=summary.as_json()
    )
    PipelineImport.objects.filter(pk=job.pk, status=PipelineImport.Status.CHECKING).update(
        status=PipelineImport.Status.CHECKED
    )
    job.refresh_from_db()
    return summary


def _checked(job: PipelineImport) -> Iterator[RowResult]:
    checker = _checker(job)
    done = 0
    for batch, _offset in _batches(job):
        yield from checker.check(batch)
        done += len(batch)
        PipelineImport.objects.filter(pk=job.pk).update(
            checked_rows=done, updated_at=timezone.now()
        )


# --- importing --------------------------------------------------------------------------


def rejected_header(job: PipelineImport) -> list[str]:
    return [_("Row"), *job.header, _("Reasons")]


class _Refused(Exception):
    """A row of an all-or-nothing file was refused: roll the whole file back."""


def _write(
    job: PipelineImport,
    results: list[RowResult],
    *,
    using: str,
    now: datetime,
    defaults: dict[str, Any],
) -> int:
    rows = [result.values for result in results if result.outcome == NEW]
    if job.kind == ImportKind.ACCOUNTS:
        return writing.write_accounts(rows, using=using, now=now)
    if job.kind == ImportKind.CONTACTS:
        return writing.write_contacts(rows, using=using, now=now)
    return writing.write_deals(rows, by=job.created_by, using=using, now=now, defaults=defaults)


def _import_chunk(job: PipelineImport, *, limit: int | None, using: str) -> list[RowResult]:
    """Check and write the rows from ``job.position`` on (at most ``limit``), counting on
    ``job``; returns the refused rows."""
    checker = _checker(job)
    now = timezone.now()
    defaults = writing.stage_defaults()
    refused: list[RowResult] = []
    read_any = False
    for batch, offset in _batches(job, start=job.position, limit=limit):
        read_any = True
        results = checker.check(batch)
        refused += [result for result in results if result.outcome == REFUSED]
        if refused and job.mode == ImportMode.WHOLE_FILE:
            # Read on to report every refused row; nothing is written.
            continue
        job.created_rows += _write(job, results, using=using, now=now, defaults=defaults)
        job.existing_rows += sum(result.outcome == EXISTING for result in results)
        job.processed_rows += len(batch)
        job.position = offset
    if not read_any:
        job.position = len(job.content)
    return refused


def import_step(*, job: PipelineImport, chunk_rows: int | None = None) -> PipelineImport:
    """Import the next chunk (row by row) or the whole file (all or nothing); call again
    until the import is done. The import row is locked while a chunk is written, so two
    workers never import the same rows."""
    using = router.db_for_write(PipelineImport)
    with transaction.atomic(using=using):
        locked = (
            PipelineImport.objects.select_for_update(of=("self",))
            .select_related("created_by")
            .get(pk=job.pk)
        )
        if locked.status != PipelineImport.Status.IMPORTING:
            return locked
        if locked.mode == ImportMode.WHOLE_FILE:
            return _import_whole_file(locked, using=using)
        refused = _import_chunk(locked, limit=chunk_rows or CHUNK_ROWS, using=using)
        locked.rejected_rows += len(refused)
        if refused:
            locked.rejected_content += csv_text([rejected_line(r) for r in refused])
        if locked.position >= len(locked.content):
            locked.status = PipelineImport.Status.DONE
            locked.finished_at = timezone.now()
        locked.save()
    return locked


def _import_whole_file(locked: PipelineImport, *, using: str) -> PipelineImport:
    """Every row or none: the rows are written in a savepoint rolled back at the first
    refused row (the rows are checked again as they are written)."""
    start = (locked.created_rows, locked.existing_rows, locked.processed_rows, locked.position)
    try:
        with transaction.atomic(using=using):
            refused = _import_chunk(locked, limit=None, using=using)
            if refused:
                raise _Refused
    except _Refused:
        locked.created_rows, locked.existing_rows, locked.processed_rows, locked.position = start
        locked.rejected_rows = len(refused)
        locked.rejected_content += csv_text([rejected_line(r) for r in refused])
        locked.status = PipelineImport.Status.REFUSED
    else:
        locked.status = PipelineImport.Status.DONE
    locked.finished_at = timezone.now()
    locked.save()
    return locked


def import_start(*, job: PipelineImport) -> PipelineImport:
    """Confirm a checked import and hand it to a worker (``leads.importing.confirm``)."""
    return confirm(
        job,
        ready=PipelineImport.Status.CHECKED,
        importing=PipelineImport.Status.IMPORTING,
        header=rejected_header(job),
        worker=run_import,
    )


def import_all(*, job: PipelineImport) -> PipelineImport:
    """Run an import to its end in this process (the benchmark, tests)."""
    if job.status in (PipelineImport.Status.CHECKING, PipelineImport.Status.CHECKED):
        PipelineImport.objects.filter(pk=job.pk).update(
            status=PipelineImport.Status.IMPORTING,
            rejected_content=csv_text([rejected_header(job)]),
        )
        job.refresh_from_db()
    while job.status == PipelineImport.Status.IMPORTING:
        job = import_step(job=job)
    return job


# Below the emails' priority: a long import lets them through between its chunks.
IMPORT_PRIORITY = -10


@task(priority=IMPORT_PRIORITY)
def run_import(import_id: int) -> dict[str, int | str]:
    """Import the next chunk of a confirmed file (or the whole file, all or nothing), then
    queue the chunk after it. It goes on whether anyone watches the page."""
    job = PipelineImport.objects.filter(pk=import_id).first()
    if job is None or job.status != PipelineImport.Status.IMPORTING:
        return {"status": "nothing to do"}
    job = import_step(job=job)
    if job.status == PipelineImport.Status.IMPORTING:
        run_import.enqueue(import_id)
    return {
        "status": job.status,
        "processed": job.processed_rows,
        "created": job.created_rows,
        "existing": job.existing_rows,
        "refused": job.rejected_rows,
    }


@task(priority=IMPORT_PRIORITY)
def run_dry_run(import_id: int) -> dict[str, int | str]:
    """Check every row of a file whose columns were chosen, in the uploader's language
    (the reasons of refused rows are kept as text)."""
    job = PipelineImport.objects.select_related("created_by").filter(pk=import_id).first()
    if job is None or job.status != PipelineImport.Status.CHECKING:
        return {"status": "nothing to do"}
    with translation.override(job.created_by.language or settings.LANGUAGE_CODE):
        summary = dry_run(job)
    return {"status": "checked", "new": summary.new, "refused": summary.refused}
