"""CSV import of leads: read an Excel-made file, check every row, import the good ones.

The file is decoded once at upload and kept in an ``ImportJob`` row (any web server can
serve the next step). Once confirmed, a worker imports it (``import_leads`` below)
chunk by chunk from a stored offset, writing its progress on the job: the page reads that
progress, and the import goes on whether anyone watches. Rows are read with a streaming
csv reader and written in batches, so memory stays bounded.
"""

import codecs
import csv
import io
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol, Self

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import connection, transaction
from django.db.models import Model
from django.tasks import Task, task
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from climcrm.choices import OriginChannel, Source
from climcrm.csvexport import SafeWriter
from leads.models import ImportJob, Lead, LeadStatus, LeadStatusChange

CHUNK_ROWS = 5000
BATCH_SIZE = 1000
PREVIEW_ERRORS = 100
PREVIEW_SAMPLE = 10

# Lead field → accepted headers (compared without accents, case, spaces or punctuation).
HEADER_ALIASES: dict[str, tuple[str, ...]] = {
    "first_name": ("prénom", "prenom", "first name", "firstname", "given name"),
    "last_name": ("nom", "nom de famille", "last name", "lastname", "surname", "family name"),
    "email": ("email", "e-mail", "courriel", "mail", "adresse e-mail", "email address"),
    "phone": ("téléphone", "telephone", "tél", "tel", "phone", "mobile", "portable"),
    "company": ("entreprise", "société", "company", "organisation", "organization"),
    "job_title": ("fonction", "poste", "job title", "title", "titre"),
    "source": ("source",),
    "notes": ("notes", "note", "remarques", "commentaire", "commentaires", "comments"),
    "project_name": ("projet", "projet immobilier", "project", "real-estate project"),
}
FIELD_LABELS = {
    "first_name": gettext_lazy("First name"),
    "last_name": gettext_lazy("Last name"),
    "email": gettext_lazy("Email"),
    "phone": gettext_lazy("Phone"),
    "company": gettext_lazy("Company"),
    "job_title": gettext_lazy("Job title"),
    "source": gettext_lazy("Source"),
    "notes": gettext_lazy("Notes"),
    "project_name": gettext_lazy("Real-estate project"),
}
MAX_LENGTHS = {
    name: Lead._meta.get_field(name).max_length
    for name in HEADER_ALIASES
    if Lead._meta.get_field(name).max_length
}
TEMPLATE_HEADERS = {
    "fr": ["Prénom", "Nom", "E-mail", "Téléphone", "Entreprise", "Fonction", "Source", "Notes"],
    "en": ["First name", "Last name", "Email", "Phone", "Company", "Job title", "Source", "Notes"],
}
TEMPLATE_EXAMPLE = {
    "fr": ["Anne", "Dupuis", "anne.dupuis@regie-exemple.ch", "+41 21 555 01 01",
           "Régie Exemple SA", "Gérante", "Salon", "Rencontrée au salon Habitat"],
    "en": ["Anne", "Dupuis", "anne.dupuis@regie-exemple.ch", "+41 21 555 01 01",
           "Régie Exemple SA", "Property manager", "Event", "Met at the Habitat fair"],
}  # fmt: skip


def _key(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", (text or "").casefold())
    return "".join(ch for ch in decomposed if ch.isalnum())


_HEADER_INDEX = {_key(alias): name for name, aliases in HEADER_ALIASES.items() for alias in aliases}
# Sources by code, English label and French label.
_SOURCE_WORDS = {
    "webform": Source.WEB_FORM,
    "web": Source.WEB_FORM,
    "formulaireweb": Source.WEB_FORM,
    "siteweb": Source.WEB_FORM,
    "website": Source.WEB_FORM,
    "event": Source.EVENT,
    "evenement": Source.EVENT,
    "salon": Source.EVENT,
    "linkedin": Source.LINKEDIN,
    "emailcampaign": Source.EMAIL_CAMPAIGN,
    "campagneemail": Source.EMAIL_CAMPAIGN,
    "campagnee-mail": Source.EMAIL_CAMPAIGN,
    "campagnemail": Source.EMAIL_CAMPAIGN,
    "emailing": Source.EMAIL_CAMPAIGN,
    "referral": Source.REFERRAL,
    "recommandation": Source.REFERRAL,
    "partner": Source.PARTNER,
    "partenaire": Source.PARTNER,
    "other": Source.OTHER,
    "autre": Source.OTHER,
}


def source_from_text(text: str) -> str | None:
    """The Source code for a cell ('' → Other), or None when it is unknown."""
    key = _key(text)
    if not key:
        return Source.OTHER
    if key in _SOURCE_WORDS:
        return _SOURCE_WORDS[key]
    for value, label in Source.choices:
        if key == _key(value) or key == _key(str(label)):
            return value
    return None


# --- reading the file -----------------------------------------------------------------


class ImportFileError(Exception):
    """The file as a whole cannot be read (encoding, no header, no last name column)."""


# Encodings as stored on the job, and as shown to people.
ENCODING_LABELS = {
    "utf-8": "UTF-8",
    "utf-16-le": "UTF-16 LE",
    "utf-16-be": "UTF-16 BE",
    "utf-32-le": "UTF-32 LE",
    "utf-32-be": "UTF-32 BE",
    "windows-1252": "Windows-1252",
}
SEPARATOR_LABELS = {
    ";": gettext_lazy("semicolons (;)"),
    "\t": gettext_lazy("tabs"),
    ",": gettext_lazy("commas (,)"),
}
# Longest BOMs first: the UTF-32 LE BOM starts with the UTF-16 LE one.
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# Workbooks saved under a .csv name: zip (xlsx, ods) and OLE2 (xls).
_WORKBOOK_SIGNATURES = (b"PK\x03\x04", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")


@dataclass
class DecodedFile:
    text: str
    encoding: str
    # NUL characters dropped from the text: they mean nothing in a CSV file and
    # PostgreSQL cannot store them.
    removed_nuls: int = 0


def _strict(raw: bytes, encoding: str) -> str:
    """Decode in the encoding the file declares; a damaged file is refused, not guessed."""
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].decode(encoding, errors="replace").count("\n") + 1
        raise ImportFileError(
            _(
                "The file is marked as %(encoding)s text but line %(line)s cannot be read "
                "in that encoding (the file may be damaged or cut short). Save it again from "
                "the spreadsheet as “CSV UTF-8” and upload it once more."
            )
            % {"encoding": ENCODING_LABELS[encoding], "line": line}
        ) from exc


def _utf16_without_bom(raw: bytes) -> str | None:
    """UTF-16 written without a BOM shows by a NUL byte beside every Latin letter."""
    sample = raw[:4096]
    if len(raw) % 2 or len(sample) < 4:
        return None
    half = len(sample) // 2
    nul_even = sample[0::2].count(0) / half
    nul_odd = sample[1::2].count(0) / half
    if nul_odd > 0.5 and nul_even < 0.05:
        return "utf-16-le"
    if nul_even > 0.5 and nul_odd < 0.05:
        return "utf-16-be"
    return None


def decode(raw: bytes) -> DecodedFile:
    """The text of an uploaded file, whatever a spreadsheet wrote.

    A BOM decides (UTF-8, UTF-16 or UTF-32, as Excel's "CSV UTF-8" and "Unicode text"
    write them); else UTF-16 recognised by its NUL bytes; else strict UTF-8; else
    Windows-1252, what Excel writes for "CSV (separated by semicolons)". NUL characters
    left in the text are removed: they carry nothing in a CSV file, and whatever else the
    file holds still has to pass the header and row checks.
    """
    if raw.startswith(_WORKBOOK_SIGNATURES):
        raise ImportFileError(
            _(
                "This file is a spreadsheet workbook (Excel or LibreOffice), not a CSV file. "
                "Save it from the spreadsheet as “CSV UTF-8” and upload that file."
            )
        )
    for bom, encoding in _BOMS:
        if raw.startswith(bom):
            text = _strict(raw[len(bom) :], encoding)
            break
    else:
        encoding = _utf16_without_bom(raw)
        if encoding is not None:
            try:
                text = raw.decode(encoding)
            except UnicodeDecodeError:
                encoding = None
        if encoding is None:
            try:
                text, encoding = raw.decode("utf-8"), "utf-8"
            except UnicodeDecodeError:
                # Five bytes have no character in Windows-1252; they show as "�".
                text, encoding = raw.decode("cp1252", errors="replace"), "windows-1252"
    removed = text.count("\x00")
    if removed:
        text = text.replace("\x00", "")
    return DecodedFile(text=text, encoding=encoding, removed_nuls=removed)


def detect_delimiter(text: str) -> str:
    """The separator that splits the header row into the most columns.

    The header is parsed, not counted, so that a separator inside a quoted title does not
    count (csv.Sniffer guesses wrong on short files). Ties go to ";", then tab, then ",".
    """
    best, best_cells = ";", 1
    for separator in (";", "\t", ","):
        header = next(csv.reader(io.StringIO(text), delimiter=separator), [])
        if len(header) > best_cells:
            best, best_cells = separator, len(header)
    return best


def _check_readable(text: str, delimiter: str) -> None:
    """Read every row once so that a row the csv module refuses is refused at upload."""
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    try:
        for _cells in reader:
            pass
    except csv.Error as exc:
        raise ImportFileError(
            _(
                "The file cannot be read at line %(line)s: a cell is longer than %(limit)s "
                "characters, or a quotation mark is not closed."
            )
            % {"line": reader.line_num, "limit": csv.field_size_limit()}
        ) from exc


def map_headers(header: list[str]) -> tuple[dict[str, str], list[str]]:
    """Column index (as text, for JSON) → lead field, and the headers that were ignored."""
    mapping: dict[str, str] = {}
    ignored: list[str] = []
    for index, title in enumerate(header):
        name = _HEADER_INDEX.get(_key(title))
        if name and name not in mapping.values():
            mapping[str(index)] = name
        elif title.strip():
            ignored.append(title.strip())
    return mapping, ignored


def create_job(*, upload, by) -> tuple[ImportJob, list[str], int]:
    """Decode and store an uploaded file.

    Returns the job, the ignored headers and how many NUL characters were removed. A file
    that cannot be read raises ImportFileError and stores nothing.
    """
    raw = upload.read()
    decoded = decode(raw)
    text = decoded.text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise ImportFileError(_("The file is empty."))
    delimiter = detect_delimiter(text)
    header = next(csv.reader(io.StringIO(text), delimiter=delimiter), [])
    mapping, ignored = map_headers(header)
    if "last_name" not in mapping.values():
        raise ImportFileError(
            _(
                "No last name column was found. The first row must hold the column names, "
                "for example: %(headers)s."
            )
            % {"headers": ", ".join(TEMPLATE_HEADERS["fr"][:3] + TEMPLATE_HEADERS["en"][:3])}
        )
    _check_readable(text, delimiter)
    job = ImportJob.objects.create(
        created_by=by,
        filename=(getattr(upload, "name", "") or "import.csv")[:255],
        encoding=decoded.encoding,
        delimiter=delimiter,
        content=text,
        mapping=mapping,
    )
    return job, ignored, decoded.removed_nuls


class StoredFile(Protocol):
    """An uploaded file as an import keeps it: this app's ``ImportJob`` and the pipeline
    import's ``PipelineImport`` (imports app)."""

    content: str
    delimiter: str
    encoding: str


def data_rows(job: StoredFile, start: int = 0) -> Iterator[tuple[int, list[str], int]]:
    """(line number as in a spreadsheet, cells, offset after the row) for each data row."""
    stream = io.StringIO(job.content)
    reader = csv.reader(stream, delimiter=job.delimiter)
    if start:
        stream.seek(start)
        lines_before = job.content.count("\n", 0, start)
    else:
        next(reader, None)
        lines_before = 0
    for cells in reader:
        if not any(cell.strip() for cell in cells):
            continue
        yield lines_before + reader.line_num, cells, stream.tell()


def _values(job: ImportJob, cells: list[str]) -> dict[str, str]:
    values = {}
    for index, name in job.mapping.items():
        position = int(index)
        values[name] = cells[position].strip() if position < len(cells) else ""
    return values


# --- checking rows --------------------------------------------------------------------


@dataclass
class RowResult:
    number: int | None
    values: dict[str, str]
    errors: list[str]
    cells: list[str]
    source: str = ""
    # Refused for what the row holds (a missing or malformed value), not only because its
    # lead exists already: what a wrong encoding or separator produces.
    malformed: bool = False


@dataclass
class Preview:
    """What an import would do with a file, every row checked and nothing written: the
    counts, the first refused rows and a sample of the rows it would import. The pipeline
    import's dry run (``imports.services.DryRun``) is one too."""

    total: int = 0
    valid: int = 0
    rejected: int = 0
    malformed: int = 0
    # Checked rows (this app's RowResult, or the pipeline import's): number, cells, errors.
    errors: list[Any] = field(default_factory=list)
    sample: list[Any] = field(default_factory=list)
    encoding: str = ""
    separator: str = ""

    @classmethod
    def of_file(cls, job: StoredFile) -> Self:
        """An empty preview naming how the file was read."""
        return cls(
            encoding=ENCODING_LABELS.get(job.encoding, job.encoding),
            separator=str(SEPARATOR_LABELS.get(job.delimiter, job.delimiter)),
        )

    def count(self, result: Any, *, refused: bool, shown: bool = True) -> None:
        """Count one checked row: a refused one is kept among the first errors, one to
        import (``shown``) among the sample."""
        self.total += 1
        if refused:
            self.rejected += 1
            self.malformed += result.malformed
            if len(self.errors) < PREVIEW_ERRORS:
                self.errors.append(result)
        else:
            self.valid += 1
            if shown and len(self.sample) < PREVIEW_SAMPLE:
                self.sample.append(result)

    @property
    def more_errors(self) -> int:
        return max(0, self.rejected - len(self.errors))

    @property
    def format_is_likely_wrong(self) -> bool:
        """Most rows malformed: the file was probably read with the wrong encoding or
        separator (columns shifted, names garbled) rather than filled in wrongly."""
        return self.malformed * 2 > self.total


class RowChecker:
    """Checks rows chunk by chunk; remembers the emails already seen in the file."""

    def __init__(self):
        self.seen: dict[str, int | None] = {}

    def check(self, rows: list[tuple[int | None, list[str], dict[str, str]]]) -> list[RowResult]:
        emails = {values.get("email", "").lower() for _n, _c, values in rows} - {""}
        existing = (
            set(Lead.objects.filter(email__in=list(emails)).values_list("email", flat=True))
            if emails
            else set()
        )
        existing = {email.lower() for email in existing}
        results = []
        for number, cells, values in rows:
            errors = []
            if not values.get("last_name"):
                errors.append(_("The last name is missing."))
            email = values.get("email", "").lower()
            if email:
                try:
                    validate_email(email)
                except ValidationError:
                    errors.append(_("“%(email)s” is not a valid email address.") % {"email": email})
                    email = ""
            source = source_from_text(values.get("source", ""))
            if source is None:
                errors.append(_("Unknown source “%(source)s”.") % {"source": values["source"]})
            for name, limit in MAX_LENGTHS.items():
                if len(values.get(name, "")) > limit:
                    errors.append(
                        _("%(field)s is longer than %(max)s characters.")
                        % {"field": FIELD_LABELS[name], "max": limit}
                    )
            malformed = bool(errors)
            if email and email in existing:
                errors.append(_("A lead with this email already exists."))
            elif email and email in self.seen:
                errors.append(
                    _("Same email as row %(row)s of the file.") % {"row": self.seen[email]}
                )
            if email and not errors:
                self.seen[email] = number
            results.append(RowResult(number, values, errors, cells, source or "", malformed))
        return results


def batches(
    job: StoredFile, *, size: int, start: int = 0, limit: int | None = None
) -> Iterator[tuple[list[tuple[int, list[str]]], int]]:
    """Lists of at most ``size`` (number, cells) from ``start`` on (``limit`` rows at the
    most), each with the offset after its last row."""
    batch: list[tuple[int, list[str]]] = []
    for taken, (number, cells, offset) in enumerate(data_rows(job, start), start=1):
        batch.append((number, cells))
        if len(batch) >= size or (limit and taken >= limit):
            yield batch, offset
            batch = []
            if limit and taken >= limit:
                return
    if batch:
        yield batch, len(job.content)


def _chunks(job: ImportJob, start: int = 0, limit: int | None = None):
    """Lists of (number, cells, values) of at most BATCH_SIZE rows, and the end offset."""
    for batch, offset in batches(job, size=BATCH_SIZE, start=start, limit=limit):
        yield [(number, cells, _values(job, cells)) for number, cells in batch], offset


def iter_results(job: ImportJob) -> Iterator[RowResult]:
    checker = RowChecker()
    for batch, _offset in _chunks(job):
        yield from checker.check(batch)


def preview(job: ImportJob) -> Preview:
    """Check every row without writing any lead; keeps the counts on the job."""
    summary = Preview.of_file(job)
    for result in iter_results(job):
        summary.count(result, refused=bool(result.errors))
    ImportJob.objects.filter(pk=job.pk).update(total_rows=summary.total, valid_rows=summary.valid)
    job.total_rows, job.valid_rows = summary.total, summary.valid
    return summary


# --- importing ------------------------------------------------------------------------


def rejected_header(job: ImportJob) -> list[str]:
    header = next(csv.reader(io.StringIO(job.content), delimiter=job.delimiter), [])
    return [_("Row"), *header, _("Reasons")]


def rejected_line(result: Any) -> list[str]:
    """A refused row (this app's RowResult, or the pipeline import's) as the refused rows'
    file holds it: its number, its cells, its reasons."""
    return [str(result.number or ""), *result.cells, " ".join(result.errors)]


def csv_text(rows: list[list[str]]) -> str:
    buffer = io.StringIO()
    SafeWriter(buffer, delimiter=";").writerows(rows)
    return buffer.getvalue()


_FIXED_COLUMNS = {
    "origin": OriginChannel.INTERNAL.value,
    "status": LeadStatus.NEW.value,
}


def _insert_leads(rows: list[dict[str, str]], *, job: ImportJob, by, now) -> int:
    """Insert leads and their first status row with two statements per batch.

    The ORM's bulk_create spends most of its time preparing 40 values per row in Python;
    COPY (PostgreSQL) or ``executemany`` of plain values is an order of magnitude faster
    at 50,000 rows.
    """
    if not rows:
        return 0
    fields = [f for f in Lead._meta.concrete_fields if not f.primary_key]
    timestamp = Lead._meta.get_field("created_at").get_db_prep_save(now, connection)
    constants = {
        **_FIXED_COLUMNS,
        "created_at": timestamp,
        "updated_at": timestamp,
        "status_changed_at": timestamp,
        "owner_id": by.pk,
        "import_job_id": job.pk,
    }
    defaults = {f.attname: f.get_default() for f in fields}
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    sql_head = f"INSERT INTO {quote(Lead._meta.db_table)} ({columns})"
    params = [
        [
            constants[f.attname]
            if f.attname in constants
            else row.get(f.attname, defaults[f.attname])
            for f in fields
        ]
        for row in rows
    ]
    last_id = (
        Lead.objects.filter(import_job=job).order_by("-pk").values_list("pk", flat=True).first()
        or 0
    )
    change = LeadStatusChange._meta
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # COPY streams the rows in one go, without building a statement per row.
            with cursor.cursor.copy(
                f"COPY {quote(Lead._meta.db_table)} ({columns}) FROM STDIN"
            ) as copy:
                for row in params:
                    copy.write_row(row)
        else:
            cursor.executemany(f"{sql_head} VALUES ({placeholders})", params)
        cursor.execute(
            f"INSERT INTO {quote(change.db_table)} "
            f"({quote(change.get_field('lead').column)}, {quote('from_status')}, "
            f"{quote('to_status')}, {quote('changed_at')}, "
            f"{quote(change.get_field('changed_by').column)}) "
            f"SELECT {quote('id')}, %s, %s, %s, %s FROM {quote(Lead._meta.db_table)} "
            f"WHERE {quote('import_job_id')} = %s AND {quote('id')} > %s",
            ["", LeadStatus.NEW.value, timestamp, by.pk, job.pk, last_id],
        )
    return len(rows)


def import_step(*, job: ImportJob, by, chunk_rows: int | None = None) -> ImportJob:
    """Import the next chunk of rows; call again until ``job.status`` is done.

    The job row is locked so that two requests never import the same rows twice.
    """
    now = timezone.now()
    chunk_rows = chunk_rows or CHUNK_ROWS
    with transaction.atomic():
        locked = ImportJob.objects.select_for_update().get(pk=job.pk)
        if locked.status == ImportJob.Status.DONE:
            return locked
        if locked.status == ImportJob.Status.PREVIEWED:
            locked.status = ImportJob.Status.IMPORTING
            locked.rejected_content = csv_text([rejected_header(locked)])
        checker = RowChecker()
        # Emails imported by earlier chunks are leads by now: the check finds them.
        rejected: list[list[str]] = []
        read_any = False
        for batch, offset in _chunks(locked, start=locked.position, limit=chunk_rows):
            read_any = True
            rows = []
            for result in checker.check(batch):
                if result.errors:
                    rejected.append(rejected_line(result))
                    continue
                values = {k: v for k, v in result.values.items() if k != "source"}
                if values.get("email"):
                    values["email"] = values["email"].lower()
                rows.append({**values, "source": result.source})
            created = _insert_leads(rows, job=locked, by=by, now=now)
            locked.processed_rows += len(batch)
            locked.imported_rows += created
            locked.position = offset
        finished = not read_any or locked.position >= len(locked.content)
        locked.rejected_rows += len(rejected)
        if rejected:
            locked.rejected_content += csv_text(rejected)
        if finished:
            locked.status = ImportJob.Status.DONE
            locked.finished_at = timezone.now()
        locked.save()
    return locked


def confirm[M: Model](job: M, *, ready: str, importing: str, header: list[str], worker: Task) -> M:
    """Confirm a file whose rows were checked (status ``ready``) and hand it to ``worker``
    (``job`` is this app's ImportJob, or the pipeline import's PipelineImport);
    an import already started is left as it is (a second confirmation imports nothing
    twice). The refused rows' file starts with ``header``."""
    with transaction.atomic():
        locked = type(job)._default_manager.select_for_update().get(pk=job.pk)
        if locked.status != ready:
            return locked
        locked.status = importing
        locked.rejected_content = csv_text([header])
        locked.save()
    # After the commit, so that the worker finds the import confirmed.
    worker.enqueue(locked.pk)
    locked.refresh_from_db()
    return locked


def import_start(*, job: ImportJob) -> ImportJob:
    """Confirm a previewed import and hand it to a worker (``confirm``)."""
    return confirm(
        job,
        ready=ImportJob.Status.PREVIEWED,
        importing=ImportJob.Status.IMPORTING,
        header=rejected_header(job),
        worker=import_leads,
    )


def import_all(*, job: ImportJob, by) -> ImportJob:
    while job.status != ImportJob.Status.DONE:
        job = import_step(job=job, by=by)
    return job


def template_csv(language: str) -> str:
    language = language if language in TEMPLATE_HEADERS else "en"
    return csv_text([TEMPLATE_HEADERS[language], TEMPLATE_EXAMPLE[language]])


# Below the emails' priority: a long import lets them through between its chunks.
IMPORT_PRIORITY = -10


@task(priority=IMPORT_PRIORITY)
def import_leads(job_id: int) -> dict[str, int | str]:
    """Import the next chunk of a confirmed file, then queue the chunk after it.

    The job row is locked while a chunk is written, so two runs of the same job (a resumed
    one beside a slow one) never import a row twice.
    """
    job = ImportJob.objects.select_related("created_by").filter(pk=job_id).first()
    if job is None or job.status != ImportJob.Status.IMPORTING:
        return {"status": "nothing to do"}
    job = import_step(job=job, by=job.created_by)
    if job.status != ImportJob.Status.DONE:
        import_leads.enqueue(job_id)
    return {
        "status": job.status,
        "processed": job.processed_rows,
        "imported": job.imported_rows,
        "rejected": job.rejected_rows,
    }
