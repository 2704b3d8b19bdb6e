"""Extract the translatable strings of every app into that app's own catalogue.

``templates/<app>/`` goes with ``<app>/locale``; the shared templates and ``climcrm/`` go
with ``climcrm/locale``. English catalogues are filled with the source text (it is
English), French ones are translated by hand. ``--check`` fails when a catalogue is out of
date, a string or plural form is missing or fuzzy, one msgid is translated two ways in two
apps' catalogues, or a French string uses a word the glossary replaced (see
``climcrm.catalogues`` and docs/glossary.md).
"""

import re
import subprocess
from pathlib import Path

from django.conf import settings
from django.core.management.base import CommandError
from django.core.management.commands import makemessages

from climcrm import catalogues

APPS = settings.PROJECT_APPS
LANGUAGES = ("fr", "en")
IGNORED = [
    "node_modules/*",
    ".venv/*",
    "tests/*",
    "staticfiles/*",
    "static/*",
    "bench/*",
    "scripts/*",
    "build/*",
]
_FIXED_DATE = '"POT-Creation-Date: 2026-01-01 00:00+0000\\n"'
_HEADER_DATE = re.compile(r'^"POT-Creation-Date: .*\\n"$', re.MULTILINE)
# The header line, wrapped or not, up to its closing \n.
_PLURAL_FORMS = re.compile(r'^"Plural-Forms: (?:[^\n]*?"\n")*?[^\n]*?\\n"$', re.MULTILINE)


def _tidy_header(text: str, language: str) -> str:
    """A fixed creation date (no churn), the language named, the header not fuzzy, and the
    plural rule of ``climcrm.catalogues`` (a new catalogue would copy Django's French rule,
    which asks for a third form)."""
    text = _HEADER_DATE.sub(lambda _m: _FIXED_DATE, text, count=1)
    text = text.replace('#, fuzzy\nmsgid ""', 'msgid ""', 1)
    if language in catalogues.PLURAL_FORMS:
        rule = f'"Plural-Forms: {catalogues.PLURAL_FORMS[language]}\\n"'
        text = _PLURAL_FORMS.sub(lambda _m: rule, text, count=1)
    return text.replace('"Language: \\n"', f'"Language: {language}\\n"', 1)


def _app_of(translatable: makemessages.TranslatableFile, base: Path) -> str:
    """The app whose catalogue holds a file's strings: ``templates/<app>/`` and ``<app>/``
    go with that app, everything else with ``climcrm``."""
    path = Path(translatable.dirpath).resolve() / translatable.file
    relative = path.relative_to(base).parts
    if relative[0] == "templates" and len(relative) > 2 and relative[1] in APPS:
        return relative[1]
    if relative[0] in APPS:
        return relative[0]
    return "climcrm"


class Command(makemessages.Command):
    help = "Update the French and English catalogues of every ClimCRM app."

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--check", action="store_true", help="Fail if anything is missing.")
        parser.add_argument("--app", choices=APPS, help="Only this app's catalogues.")

    def handle(self, *args, **options):
        base = Path(settings.BASE_DIR)
        for app in APPS:
            for language in LANGUAGES:
                (base / app / "locale" / language / "LC_MESSAGES").mkdir(
                    parents=True, exist_ok=True
                )
        before = {path: path.read_text() for path in self._catalogues(base)}
        options.update(
            locale=list(LANGUAGES),
            ignore_patterns=options["ignore_patterns"] + IGNORED,
            add_location="file",
            no_obsolete=True,
            verbosity=0,
            all=False,
            exclude=[],
            domain="django",
        )
        check = options.pop("check")
        self.only_app = options.pop("app")
        super().handle(*args, **options)
        for path in self._catalogues(base):
            if self.only_app and path.parts[-5] != self.only_app:
                continue
            language = path.parent.parent.name
            path.write_text(_tidy_header(path.read_text(), language))
            if language == "en":
                # A fuzzy match carries another msgid's text ("Partner portal" read "Partner
                # user"): empty it, then let msgen copy every source text.
                subprocess.run(
                    ["msgattrib", "--no-wrap", "--clear-fuzzy", "--empty", "--clear-previous"]
                    + ["-o", str(path), str(path)],
                    check=True,
                )
                subprocess.run(["msgen", "--no-wrap", "-o", str(path), str(path)], check=True)
        problems = catalogues.problems(
            [catalogues.read(path) for path in self._catalogues(base)], base=base
        )
        if check:
            changed = [
                str(path.relative_to(base))
                for path in self._catalogues(base)
                if before.get(path) != path.read_text()
            ]
            if changed:
                problems.append("out of date (run `make messages`): " + ", ".join(changed))
            if problems:
                raise CommandError("\n".join(problems))
        elif problems:
            self.stderr.write("\n".join(problems))

    def find_files(self, root):
        base = Path(settings.BASE_DIR).resolve()
        files = super().find_files(root)
        for translatable in files:
            translatable.locale_dir = str(base / _app_of(translatable, base) / "locale")
        only = getattr(self, "only_app", None)
        return [f for f in files if only is None or _app_of(f, base) == only]

    @staticmethod
    def _catalogues(base: Path) -> list[Path]:
        return sorted(base.glob("*/locale/*/LC_MESSAGES/django.po"))
