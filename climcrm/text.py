"""Text normalisation used to find likely duplicates (companies, emails)."""

import re
import unicodedata

# Legal forms that say nothing about which company it is.
LEGAL_SUFFIXES = {
    "sa",
    "sarl",
    "sàrl",
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
    "&",
}
_NON_WORD = re.compile(r"[^a-z0-9&]+")


def strip_accents(value: str) -> str:
    decomposed = unicodedata.normalize("NFKD", value)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def normalize_company_name(name: str) -> str:
    """'Müller & Fils Sàrl' and 'MULLER ET FILS' both become 'muller fils'."""
    lowered = strip_accents((name or "").casefold())
    words = [
        w for w in _NON_WORD.split(lowered.replace("s.a.", "sa ").replace("s.à r.l.", "sarl ")) if w
    ]
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
