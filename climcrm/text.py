"""Text normalisation used to find likely duplicates (companies, emails)."""

import re
import unicodedata

# Legal forms and connectors that say nothing about which company it is. Compared after
# accents, case and dots are gone, so "S.à r.l." arrives here as "sarl".
LEGAL_SUFFIXES = frozenset(
    {
        "sa",
        "sarl",
        "sagl",
        "ag",
        "gmbh",
        "sas",
        "sasu",
        "eurl",
        "sci",
        "snc",
        "ltd",
        "llc",
        "inc",
        "plc",
        "bv",
        "nv",
        "spa",
        "srl",
        "kg",
        "ohg",
        "co",
        "cie",
        "corp",
        "group",
        "groupe",
        "holding",
        "et",
        "and",
        "und",
        "&",
    }
)
_TOKEN = re.compile(r"[a-z0-9]+|&")


def strip_accents(value: str) -> str:
    decomposed = unicodedata.normalize("NFKD", value)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _merge_initials(tokens: list[str]) -> list[str]:
    """Glue runs of one-letter tokens: "s a r l" (from "S.à r.l.") becomes "sarl"."""
    merged: list[str] = []
    run = ""
    for token in tokens:
        if len(token) == 1 and token != "&":
            run += token
            continue
        if run:
            merged.append(run)
            run = ""
        merged.append(token)
    if run:
        merged.append(run)
    return merged


def normalize_company_name(name: str) -> str:
    """'Müller & Fils Sàrl', 'MULLER ET FILS S.à r.l.' and 'Muller Fils' give 'muller fils'.

    Accents, case, punctuation, legal forms (SA, Sàrl, AG, GmbH…) and connectors go;
    what remains is compared for equality to propose likely duplicates.
    """
    lowered = strip_accents((name or "").casefold()).replace("'", " ").replace("\u2019", " ")
    words = _merge_initials(_TOKEN.findall(lowered))
    kept = [w for w in words if w not in LEGAL_SUFFIXES]
    return " ".join(kept or words)[:200]


def email_domain(email: str) -> str:
    _, _, domain = (email or "").rpartition("@")
    return domain.strip().casefold()


# Addresses at these domains say nothing about the company.
FREEMAIL_DOMAINS = frozenset(
    {
        "gmail.com",
        "googlemail.com",
        "hotmail.com",
        "hotmail.fr",
        "outlook.com",
        "live.com",
        "yahoo.com",
        "yahoo.fr",
        "bluewin.ch",
        "gmx.ch",
        "gmx.net",
        "gmx.de",
        "icloud.com",
        "protonmail.com",
        "proton.me",
        "orange.fr",
        "free.fr",
        "sunrise.ch",
        "hispeed.ch",
    }
)


def parse_id(value) -> int | None:
    """A database id from a request parameter, or None for anything else ('²', '1e9', huge)."""
    text = str(value or "").strip()
    if text.isascii() and text.isdigit() and len(text) < 16:
        return int(text)
    return None
