"""What a file's columns may hold, for each kind of record, and how a cell is read.

A column is recognised by its header, compared without accents, case, spaces or
punctuation, among the field's aliases and the headers ClimCRM's own list exports write
(in French and English), so that an exported file maps itself. Cells are read as a French
Excel writes them (``1 234,50``, ``31.12.2026``) and as ClimCRM exports them
(``1234.50``, ``2026-12-31``, labels in either language).
"""

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import cache

from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from climcrm.csvexport import FORMULA_STARTS
from imports.models import ImportKind


class CellError(Exception):
    """A cell that cannot be read; the message says why, for the person who wrote it."""


@dataclass(frozen=True)
class Column:
    field: str
    label: object
    aliases: tuple[str, ...] = ()
    required: bool = False


# The headers of ClimCRM's exports (translated at runtime) point at these fields.
COLUMNS: dict[str, tuple[Column, ...]] = {
    ImportKind.ACCOUNTS: (
        Column("external_id", gettext_lazy("External id"), ("id externe", "external id")),
        Column("name", gettext_lazy("Name"), ("nom", "raison sociale", "compte", "account"), True),
        Column("industry", gettext_lazy("Industry"), ("secteur", "industrie", "segment")),
        Column("website", gettext_lazy("Website"), ("site web", "site", "web")),
        Column("street", gettext_lazy("Street"), ("rue", "adresse", "address")),
        Column("postal_code", gettext_lazy("Postal code"), ("npa", "code postal", "zip")),
        Column("city", gettext_lazy("City"), ("ville", "localité", "localite")),
        Column("country", gettext_lazy("Country"), ("pays",)),
        Column("owner", gettext_lazy("Owner"), ("propriétaire", "responsable")),
        Column("notes", gettext_lazy("Notes"), ("remarques", "commentaires")),
    ),
    ImportKind.CONTACTS: (
        Column("external_id", gettext_lazy("External id"), ("id externe", "external id")),
        Column("first_name", gettext_lazy("First name"), ("prénom", "prenom")),
        Column("last_name", gettext_lazy("Last name"), ("nom", "nom de famille"), True),
        Column("email", gettext_lazy("Email"), ("e-mail", "courriel", "mail")),
        Column("phone", gettext_lazy("Phone"), ("téléphone", "tél", "mobile")),
        Column("job_title", gettext_lazy("Job title"), ("fonction", "poste")),
        Column("account", gettext_lazy("Account"), ("compte", "entreprise", "société"), True),
        Column("is_decision_maker", gettext_lazy("Decision maker"), ("décideur",)),
    ),
    ImportKind.OPPORTUNITIES: (
        Column("external_id", gettext_lazy("External id"), ("id externe", "external id")),
        Column("id", gettext_lazy("ClimCRM ID"), ("id",)),
        Column("name", gettext_lazy("Name"), ("nom", "opportunité", "opportunity"), True),
        Column("account", gettext_lazy("Account"), ("compte", "client", "entreprise"), True),
        Column("owner", gettext_lazy("Owner"), ("propriétaire", "commercial", "responsable")),
        Column("partner", gettext_lazy("Partner"), ("partenaire", "bp")),
        Column("stage", gettext_lazy("Stage"), ("étape", "phase")),
        Column("amount", gettext_lazy("Amount"), ("montant", "montant total", "total amount")),
        Column("probability", gettext_lazy("Probability (%)"), ("probabilité", "probability")),
        Column("close_date", gettext_lazy("Close date"), ("date de clôture", "clôture"), True),
        Column(
            "expected_delivery",
            gettext_lazy("Expected delivery"),
            ("livraison prévue", "livraison", "delivery date", "date de livraison"),
        ),
        Column(
            "forecast_category",
            gettext_lazy("Forecast category"),
            ("catégorie de prévision", "catégorie"),
        ),
        Column("type", gettext_lazy("Type"), ()),
        Column("loss_reason", gettext_lazy("Loss reason"), ("raison de la perte", "motif")),
        Column("next_step", gettext_lazy("Next step"), ("prochaine étape",)),
        Column("created", gettext_lazy("Created"), ("créée", "créé", "date de création")),
    ),
}
# Headers of ClimCRM's exports that hold nothing to import (computed or shown only).
EXPORT_ONLY = {
    ImportKind.ACCOUNTS: ("Customer", "Open deals"),
    ImportKind.CONTACTS: (),
    ImportKind.OPPORTUNITIES: ("Currency", "Weighted amount", "Primary contact"),
}


def key(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", (text or "").casefold())
    return "".join(ch for ch in decomposed if ch.isalnum())


def columns_of(kind: str) -> tuple[Column, ...]:
    return COLUMNS[kind]


def field_labels(kind: str) -> dict[str, object]:
    return {column.field: column.label for column in COLUMNS[kind]}


def required_fields(kind: str) -> list[str]:
    return [column.field for column in COLUMNS[kind] if column.required]


@cache
def _header_index(kind: str, language: str) -> dict[str, str | None]:
    """Header key → field (None: a known export column that is not imported)."""
    index: dict[str, str | None] = {}
    for name in EXPORT_ONLY[kind]:
        for lang in ("fr", "en"):
            with translation.override(lang):
                index[key(_(name))] = None
    for column in COLUMNS[kind]:
        for lang in ("fr", "en"):
            with translation.override(lang):
                index.setdefault(key(str(column.label)), column.field)
        index.setdefault(key(column.field), column.field)
    for column in COLUMNS[kind]:
        for alias in column.aliases:
            index.setdefault(key(alias), column.field)
    return index


def guess_mapping(kind: str, header: list[str]) -> dict[str, str]:
    """Column index (as text) → field, from the headers alone."""
    index = _header_index(kind, "")
    mapping: dict[str, str] = {}
    for position, title in enumerate(header):
        name = index.get(key(title))
        if name and name not in mapping.values():
            mapping[str(position)] = name
    return mapping


def mapping_from_saved(kind: str, header: list[str], saved: dict[str, str]) -> dict[str, str]:
    """A saved mapping (header → field) applied to a file's header; others guessed."""
    fields = {f.field for f in COLUMNS[kind]}
    by_key = {key(title): name for title, name in saved.items() if name in fields}
    mapping: dict[str, str] = {}
    for position, title in enumerate(header):
        name = by_key.get(key(title))
        if name and name not in mapping.values():
            mapping[str(position)] = name
    if not saved:
        return guess_mapping(kind, header)
    return mapping


# --- reading cells ----------------------------------------------------------------------

_NUMBER = re.compile(r"^[-+]?\d[\d\s'’.,\u00a0\u202f]*$")
_PHONE = re.compile(r"^\+[\d\s().\-/]+$")


def unformula(text: str, field: str) -> str:
    """A cell's text without the apostrophe ClimCRM's exports put before a formula-looking
    text; a cell that would run as a formula in a spreadsheet is refused."""
    if text.startswith("'") and text[1:2] and text[1:2] in FORMULA_STARTS:
        return text[1:]
    if text.startswith(("=", "+", "-", "@")):
        if field in ("amount", "probability") and _NUMBER.match(text):
            return text  # a signed number: its sign is checked by the field
        if field == "phone" and _PHONE.match(text):
            return text
        raise CellError(
            _(
                "“%(value)s” looks like a spreadsheet formula (it starts with %(sign)s): "
                "it is not imported. Remove the sign, or write the value as text."
            )
            % {"value": text[:40], "sign": text[0]}
        )
    return text


def parse_amount(text: str) -> Decimal | None:
    cleaned = re.sub(r"(?i)chf|fr\.?|[\s'’\u00a0\u202f]", "", text)
    if not cleaned:
        return None
    if "," in cleaned and "." in cleaned:
        if cleaned.rfind(",") > cleaned.rfind("."):
            cleaned = cleaned.replace(".", "").replace(",", ".")
        else:
            cleaned = cleaned.replace(",", "")
    elif cleaned.count(",") == 1:
        cleaned = cleaned.replace(",", ".")
    try:
        amount = Decimal(cleaned)
    except InvalidOperation:
        raise CellError(_("“%(value)s” is not an amount.") % {"value": text[:40]}) from None
    if not amount.is_finite():
        raise CellError(_("“%(value)s” is not an amount.") % {"value": text[:40]})
    if amount < 0:
        raise CellError(_("The amount %(value)s is negative.") % {"value": text[:40]})
    amount = amount.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    if amount >= Decimal(10) ** 12:
        raise CellError(_("The amount %(value)s is too large.") % {"value": text[:40]})
    return amount


def parse_probability(text: str) -> int | None:
    cleaned = text.replace("%", "").strip()
    if not cleaned:
        return None
    try:
        value = Decimal(cleaned.replace(",", "."))
    except InvalidOperation:
        value = None
    if value is None or not value.is_finite() or value != value.to_integral_value():
        raise CellError(_("“%(value)s” is not a probability in %%.") % {"value": text[:40]})
    if not 0 <= value <= 100:
        raise CellError(_("The probability must be between 0 and 100 %."))
    return int(value)


# Day first (31.12.2026, 31/12/26, 31-12-2026) or ISO (2026-12-31), an optional time after.
_DAY_FIRST = re.compile(
    r"^(\d{1,2})[./-](\d{1,2})[./-](\d{4}|\d{2})(?:\s+(\d{1,2}):(\d{2})(?::(\d{2}))?)?$"
)
_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?$")


def _not_a_date(text: str) -> CellError:
    return CellError(
        _("“%(value)s” is not a date: write it day.month.year, for example 31.12.2026.")
        % {"value": text[:40]}
    )


def _parts(text: str) -> tuple[int, ...]:
    """Year, month, day, hour, minute, second of a date (and time) cell."""
    match = _DAY_FIRST.match(text)
    if match:
        day, month, year = (int(part) for part in match.groups()[:3])
        year += 2000 if len(match.group(3)) == 2 else 0
    else:
        match = _ISO.match(text)
        if match is None:
            raise _not_a_date(text)
        year, month, day = (int(part) for part in match.groups()[:3])
    clock = tuple(int(part or 0) for part in match.groups()[3:])
    return (year, month, day, *clock)


def parse_date(text: str) -> date | None:
    text = text.strip()
    if not text:
        return None
    year, month, day, *_clock = _parts(text)
    try:
        return date(year, month, day)
    except ValueError:
        raise _not_a_date(text) from None


def parse_moment(text: str) -> datetime | None:
    """A date, or a date and time, in the installation's time zone."""
    text = text.strip()
    if not text:
        return None
    try:
        return timezone.make_aware(datetime(*_parts(text)))
    except ValueError:
        raise _not_a_date(text) from None


_YES = {"oui", "yes", "true", "vrai", "1", "x", "o", "y"}
_NO = {"non", "no", "false", "faux", "0", ""}


def parse_bool(text: str) -> bool:
    word = key(text)
    if word in _YES:
        return True
    if word in _NO:
        return False
    raise CellError(_("“%(value)s” is neither yes nor no.") % {"value": text[:40]})


def choice_index(choices) -> dict[str, str]:
    """Key of a code and of its labels in French and English → code."""
    index: dict[str, str] = {}
    for value, label in choices:
        index[key(value)] = value
        for lang in ("fr", "en"):
            with translation.override(lang):
                index.setdefault(key(str(label)), value)
    return index
