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
        "hotmail.ch",
        "outlook.fr",
        "live.fr",
        "msn.com",
        "me.com",
        "yahoo.de",
        "web.de",
        "wanadoo.fr",
        "laposte.net",
        "bluemail.ch",
    }
)


def company_email_domain(email: str) -> str:
    """The domain of a company address; "" for a public mail domain, which says nothing."""
    domain = email_domain(email)
    return "" if not domain or domain in FREEMAIL_DOMAINS else domain


# Street words written in several ways; compared after accents, case and dots are gone.
STREET_ABBREVIATIONS = {
    "r": "rue",
    "av": "avenue",
    "ave": "avenue",
    "bd": "boulevard",
    "boul": "boulevard",
    "ch": "chemin",
    "chem": "chemin",
    "rte": "route",
    "pl": "place",
    "imp": "impasse",
    "sq": "square",
    "str": "strasse",
}
# A Swiss (4 digits) or French (5 digits) postal code, with an optional country prefix
# ("CH-1800"), followed by the town's name.
_POSTAL_CODE = re.compile(r"(?:^|[\s,])(?:(?:ch|f|fr|d|de|fl|l)\s?-\s?)?(\d{4,5})\s+[a-z]")
_STREET_TOKEN = re.compile(r"[a-z]+|\d+[a-z]?")


def normalize_postal_address(address: str) -> str:
    """'Rue du Lac 12, 1800 Vevey', '12, rue du lac, CH-1800 Vevey' and 'R. du Lac 12,
    1800 Vevey' all give '1800 rue du lac 12'.

    The key is the postal code and the street (accents, case, punctuation and common
    abbreviations gone, the house number last); "" when either is missing, so a town alone
    never matches.
    """
    text = strip_accents((address or "").casefold()).replace("\u00df", "ss")
    found = list(_POSTAL_CODE.finditer(text))
    if not found:
        return ""
    postal_code = found[-1].group(1)
    before = text[: found[-1].start()]
    segments = [s.strip() for s in before.split(",")]
    with_letters = [i for i, s in enumerate(segments) if re.search(r"[a-z]", s)]
    if not with_letters:
        return ""
    last = with_letters[-1]
    street = segments[last]
    # "12, rue du Lac": the house number written as a segment of its own.
    if last > 0 and segments[last - 1].isdigit():
        street = f"{segments[last - 1]} {street}"
    words, numbers = [], []
    for token in _STREET_TOKEN.findall(street):
        if token[0].isdigit():
            numbers.append(token)
            continue
        token = STREET_ABBREVIATIONS.get(token, token)
        if token.endswith("str") and len(token) > 3:
            token += "asse"
        words.append(token)
    if not words:
        return ""
    return " ".join([postal_code, *words, *numbers])[:255]


def parse_id(value) -> int | None:
    """A database id from a request parameter, or None for anything else ('²', '1e9', huge)."""
    text = str(value or "").strip()
    if text.isascii() and text.isdigit() and len(text) < 16:
        return int(text)
    return None
