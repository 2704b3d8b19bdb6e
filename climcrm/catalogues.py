"""Read the apps' gettext catalogues and find what would make a page read wrong.

Django merges every app's catalogue into one per language, so a msgid translated two ways in
two apps shows whichever app comes first in ``INSTALLED_APPS``, on every page. A plural entry
missing a form, or a catalogue whose ``Plural-Forms`` asks for a form nobody wrote, shows the
English text for that count. A French string using a word the glossary replaced
(docs/glossary.md) reads unlike the rest of the app. ``problems`` lists all of these;
``manage.py messages --check`` (run by ``make lint``) fails on them.
"""

import ast
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

# French: 0 and 1 are singular, 2 and more plural. The CLDR rule that newer gettext copies
# in (a third form for round millions) only asks translators for a form no one writes.
PLURAL_FORMS = {
    "fr": "nplurals=2; plural=(n > 1);",
    "en": "nplurals=2; plural=(n != 1);",
}

# Words the glossary (docs/glossary.md) replaced, and the word to use: a French string using
# one reads differently from the rest of the app. Matched without case on French msgstrs.
REJECTED_WORDS = [
    (r"\bpistes?\b", "Lead (les leads)"),
    (r"\baffaires?\b", "Opportunité"),
    (r"\bengagée?s?\b|\bengagements?\b", "Commit"),
    (r"\bmeilleur cas\b", "Best Case"),
    (r"\banalyse des besoins\b", "Needs Analysis"),
    (
        r"\b(?:enregistrements?|inscriptions?) d['’](?:affaires?|opportunités?)",
        "Déclaration d'opportunité",
    ),
    (r"\bresponsables? (?:des )?partenaires\b|\bresponsables? de canal\b", "Channel manager"),
    (r"\btâches?\b", "To do"),
    (r"\btableau du pipeline\b", "Pipeline (vue kanban)"),
    (r"\brevues? de pipeline\b", "Revue de pipe"),
    (r"\benseignements\b", "Leçons à tirer"),
    (r"\bcorrectrices\b", "Actions correctives"),
]
# Where "affaire" stays: revenue, and seed 003's own phrases.
ALLOWED_PHRASES = re.compile(
    r"chiffres? d['’]affaires|affaires gagnées ou perdues|affaire par affaire", re.IGNORECASE
)


@dataclass
class Entry:
    msgid: str
    context: str | None = None
    plural: str | None = None
    forms: dict[int, str] = field(default_factory=dict)
    fuzzy: bool = False

    @property
    def key(self) -> tuple[str | None, str]:
        return (self.context, self.msgid)

    @property
    def label(self) -> str:
        return f"{self.context}|{self.msgid}" if self.context else self.msgid


@dataclass
class Catalogue:
    path: Path
    language: str
    header: dict[str, str]
    entries: list[Entry]


_LINE = re.compile(r'^(msgctxt|msgid_plural|msgid|msgstr(?:\[(\d+)\])?)\s+(".*")$')


def _unquote(literal: str) -> str:
    return ast.literal_eval(literal)


def parse(text: str, path: Path | str = "<catalogue>", language: str = "") -> Catalogue:
    """The entries of a .po file (obsolete ``#~`` entries left out)."""
    entries: list[Entry] = []
    header: dict[str, str] = {}
    current: dict = {}
    last: tuple[str, int | None] | None = None

    def finish():
        nonlocal current, last
        if "msgid" in current:
            entry = Entry(
                msgid=current["msgid"],
                context=current.get("msgctxt"),
                plural=current.get("msgid_plural"),
                forms=current.get("forms", {}),
                fuzzy="fuzzy" in current.get("flags", ()),
            )
            if entry.msgid == "" and entry.context is None:
                for line in entry.forms.get(0, "").splitlines():
                    name, _, value = line.partition(":")
                    header[name.strip()] = value.strip()
            else:
                entries.append(entry)
        current = {}
        last = None

    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            finish()
            continue
        if line.startswith("#~"):
            continue
        if line.startswith("#,"):
            if "msgid" in current:
                finish()
            current.setdefault("flags", set()).update(flag.strip() for flag in line[2:].split(","))
            continue
        if line.startswith("#"):
            continue
        if line.startswith('"'):
            if last is None:
                raise ValueError(f"{path}: continuation line without a keyword: {raw!r}")
            keyword, index = last
            if keyword == "msgstr":
                current["forms"][index] += _unquote(line)
            else:
                current[keyword] += _unquote(line)
            continue
        match = _LINE.match(line)
        if match is None:
            raise ValueError(f"{path}: cannot read line {raw!r}")
        keyword, form_number, literal = match.groups()
        if keyword in ("msgctxt", "msgid") and (
            "forms" in current or (keyword == "msgctxt" and "msgid" in current)
        ):
            finish()
        value = _unquote(literal)
        if keyword.startswith("msgstr"):
            form = int(form_number) if form_number is not None else 0
            current.setdefault("forms", {})[form] = value
            last = ("msgstr", form)
        else:
            current[keyword] = value
            last = (keyword, None)
    finish()
    return Catalogue(path=Path(path), language=language, header=header, entries=entries)


def read(path: Path) -> Catalogue:
    """``<app>/locale/<language>/LC_MESSAGES/django.po``."""
    return parse(path.read_text(encoding="utf-8"), path, language=path.parent.parent.name)


def _nplurals(catalogue: Catalogue) -> int | None:
    match = re.search(r"nplurals\s*=\s*(\d+)", catalogue.header.get("Plural-Forms", ""))
    return int(match.group(1)) if match else None


def _normalised(forms: str) -> str:
    return re.sub(r"\s+", "", forms).rstrip(";")


def problems(catalogues: list[Catalogue], *, base: Path | None = None) -> list[str]:
    """Every reason a catalogue would show a French user the wrong words, one line each."""

    def name(catalogue: Catalogue) -> str:
        if base is not None:
            try:
                return str(catalogue.path.relative_to(base))
            except ValueError:
                pass
        return str(catalogue.path)

    found: list[str] = []
    for catalogue in catalogues:
        found += _plural_problems(catalogue, name(catalogue))
        found += _untranslated(catalogue, name(catalogue))
        if catalogue.language == "fr":
            found += _rejected_words(catalogue, name(catalogue))
    found += _conflicts(catalogues, name)
    return found


def _plural_problems(catalogue: Catalogue, name: str) -> list[str]:
    found = []
    expected = PLURAL_FORMS.get(catalogue.language)
    declared = catalogue.header.get("Plural-Forms", "")
    if expected and _normalised(declared) != _normalised(expected):
        found.append(f"{name}: Plural-Forms is {declared!r}, expected {expected!r}")
    nplurals = _nplurals(catalogue) or 2
    for entry in catalogue.entries:
        if entry.plural is None:
            continue
        missing = [i for i in range(nplurals) if not entry.forms.get(i)]
        if missing:
            forms = ", ".join(f"msgstr[{i}]" for i in missing)
            found.append(f"{name}: plural {entry.label!r} has no {forms}")
    return found


def _untranslated(catalogue: Catalogue, name: str) -> list[str]:
    """Empty or fuzzy entries: gettext shows the English source for both, so a French page
    reads English, and an English page may read another string's text."""
    found = []
    for entry in catalogue.entries:
        if entry.plural is None and not entry.forms.get(0):
            found.append(f"{name}: untranslated {entry.label!r}")
        if entry.fuzzy:
            found.append(f"{name}: fuzzy {entry.label!r}")
    return found


def _rejected_words(catalogue: Catalogue, name: str) -> list[str]:
    found = []
    for entry in catalogue.entries:
        for form in sorted(entry.forms):
            text = ALLOWED_PHRASES.sub("", entry.forms[form])
            for pattern, word in REJECTED_WORDS:
                match = re.search(pattern, text, re.IGNORECASE)
                if match:
                    found.append(
                        f"{name}: {entry.label!r} says {match.group(0)!r}: the glossary word is "
                        f"{word!r} (docs/glossary.md)"
                    )
                    break
            else:
                continue
            break
    return found


def _conflicts(catalogues: list[Catalogue], name) -> list[str]:
    # (language, context, msgid, is plural) -> translation -> the catalogues that say it
    seen: dict[tuple, dict[tuple[str, ...], list[str]]] = defaultdict(lambda: defaultdict(list))
    for catalogue in catalogues:
        for entry in catalogue.entries:
            if entry.fuzzy:
                continue
            key = (catalogue.language, entry.context, entry.msgid, entry.plural is not None)
            forms = tuple(entry.forms[i] for i in sorted(entry.forms))
            seen[key][forms].append(name(catalogue))
    found = []
    for (language, context, msgid, _plural), variants in sorted(
        seen.items(), key=lambda item: (item[0][0], item[0][2], item[0][1] or "")
    ):
        if len(variants) < 2:
            continue
        label = f"{context}|{msgid}" if context else msgid
        ways = "; ".join(
            f"{' / '.join(forms)!r} in {', '.join(sorted(where))}"
            for forms, where in sorted(variants.items())
        )
        found.append(f"{language}: {label!r} is translated {len(variants)} ways: {ways}")
    return found
