"""The translation catalogues: what ``manage.py messages --check`` (``make lint``) refuses."""

from pathlib import Path

import pytest
from django.conf import settings
from django.utils import translation

from climcrm import catalogues

FRENCH_HEADER = r"""msgid ""
msgstr ""
"Language: fr\n"
"Content-Type: text/plain; charset=UTF-8\n"
"Plural-Forms: nplurals=2; plural=(n > 1);\n"
"""


def french(body: str, app: str = "sales", header: str = FRENCH_HEADER) -> catalogues.Catalogue:
    path = Path(app) / "locale" / "fr" / "LC_MESSAGES" / "django.po"
    return catalogues.parse(header + "\n" + body, path, language="fr")


def shipped() -> list[catalogues.Catalogue]:
    base = Path(settings.BASE_DIR)
    return [catalogues.read(path) for path in sorted(base.glob("*/locale/*/LC_MESSAGES/*.po"))]


class TestReading:
    def test_it_reads_contexts_plurals_flags_and_wrapped_lines(self):
        catalogue = french(
            "#: templates/x.html\n"
            "#, python-format\n"
            'msgctxt "forecast category"\n'
            'msgid "Closed"\n'
            'msgstr "Closed"\n'
            "\n"
            "#, fuzzy, python-format\n"
            'msgid ""\n'
            '"%(counter)s deal "\n'
            '"waiting"\n'
            'msgid_plural "%(counter)s deals waiting"\n'
            'msgstr[0] "%(counter)s opportunité en attente"\n'
            'msgstr[1] ""\n'
            '"%(counter)s opportunités en attente"\n'
            "\n"
            '#~ msgid "Gone"\n'
            '#~ msgstr "Parti"\n'
        )
        closed, waiting = catalogue.entries
        assert (closed.context, closed.msgid, closed.forms) == (
            "forecast category",
            "Closed",
            {0: "Closed"},
        )
        assert not closed.fuzzy
        assert waiting.msgid == "%(counter)s deal waiting"
        assert waiting.plural == "%(counter)s deals waiting"
        assert waiting.forms[1] == "%(counter)s opportunités en attente"
        assert waiting.fuzzy
        assert catalogue.header["Plural-Forms"] == "nplurals=2; plural=(n > 1);"


class TestCheck:
    def test_clean_catalogues_pass(self):
        sales = french('msgid "Won"\nmsgstr "Gagnées"\n')
        reviews = french('msgid "Won"\nmsgstr "Gagnées"\n', app="reviews")
        assert catalogues.problems([sales, reviews]) == []

    def test_one_msgid_translated_two_ways_in_two_apps_fails(self):
        forecast = french('msgid "Closed"\nmsgstr "Closed"\n', app="forecasting")
        export = french('msgid "Closed"\nmsgstr "Clôturée le"\n', app="opportunities")
        (problem,) = catalogues.problems([forecast, export])
        assert "'Closed' is translated 2 ways" in problem
        assert "'Clôturée le' in opportunities/locale/fr/LC_MESSAGES/django.po" in problem
        assert "'Closed' in forecasting/locale/fr/LC_MESSAGES/django.po" in problem

    def test_the_same_word_in_two_contexts_may_read_two_ways(self):
        forecast = french(
            'msgctxt "forecast category"\nmsgid "Closed"\nmsgstr "Closed"\n', app="forecasting"
        )
        export = french(
            'msgctxt "date closed"\nmsgid "Closed"\nmsgstr "Clôturée le"\n', app="opportunities"
        )
        assert catalogues.problems([forecast, export]) == []

    def test_one_context_translated_two_ways_fails(self):
        one = french('msgctxt "review"\nmsgid "Closed"\nmsgstr "Clôturée"\n', app="a")
        other = french('msgctxt "review"\nmsgid "Closed"\nmsgstr "Fermée"\n', app="b")
        (problem,) = catalogues.problems([one, other])
        assert "'review|Closed' is translated 2 ways" in problem

    def test_a_plural_without_its_french_plural_form_fails(self):
        catalogue = french(
            'msgid "%(counter)s done"\n'
            'msgid_plural "%(counter)s done"\n'
            'msgstr[0] "%(counter)s faite"\n'
        )
        assert catalogues.problems([catalogue]) == [
            "sales/locale/fr/LC_MESSAGES/django.po: plural '%(counter)s done' has no msgstr[1]"
        ]

    def test_an_empty_french_plural_form_fails(self):
        catalogue = french(
            'msgid "%(counter)s done"\n'
            'msgid_plural "%(counter)s done"\n'
            'msgstr[0] ""\n'
            'msgstr[1] "%(counter)s faites"\n'
        )
        (problem,) = catalogues.problems([catalogue])
        assert "has no msgstr[0]" in problem

    def test_french_plural_forms_must_make_two_and_more_plural(self):
        # The CLDR rule asks for a third form (round millions): with two forms written, a
        # French user reads "2 done" in English.
        header = FRENCH_HEADER.replace(
            "nplurals=2; plural=(n > 1);",
            "nplurals=3; plural=(n == 0 || n == 1) ? 0 : n != 0 && n % 1000000 == 0 ? 1 : 2;",
        )
        catalogue = french(
            'msgid "%(counter)s done"\n'
            'msgid_plural "%(counter)s done"\n'
            'msgstr[0] "%(counter)s faite"\n'
            'msgstr[1] "%(counter)s faites"\n',
            header=header,
        )
        found = catalogues.problems([catalogue])
        assert any(
            "Plural-Forms is" in line and "nplurals=2; plural=(n > 1);" in line for line in found
        )
        assert any("has no msgstr[2]" in line for line in found)

    def test_an_untranslated_french_string_fails(self):
        catalogue = french('msgid "Weighted amount"\nmsgstr ""\n')
        assert catalogues.problems([catalogue]) == [
            "sales/locale/fr/LC_MESSAGES/django.po: untranslated 'Weighted amount'"
        ]

    def test_a_fuzzy_french_string_fails(self):
        catalogue = french('#, fuzzy\nmsgid "Weighted amount"\nmsgstr "Montant pondéré"\n')
        assert catalogues.problems([catalogue]) == [
            "sales/locale/fr/LC_MESSAGES/django.po: fuzzy 'Weighted amount'"
        ]

    def test_a_fuzzy_english_string_fails(self):
        # msgmerge's guess carries another msgid's text: "Partner portal" read "Partner user".
        header = FRENCH_HEADER.replace("Language: fr", "Language: en").replace(
            "(n > 1)", "(n != 1)"
        )
        english = catalogues.parse(
            header + '\n#, fuzzy\nmsgid "Partner portal"\nmsgstr "Partner user"\n',
            Path("climcrm/locale/en/LC_MESSAGES/django.po"),
            "en",
        )
        assert catalogues.problems([english]) == [
            "climcrm/locale/en/LC_MESSAGES/django.po: fuzzy 'Partner portal'"
        ]

    def test_a_word_the_glossary_replaced_fails(self):
        catalogue = french(
            'msgid "%(counter)s lead"\nmsgid_plural "%(counter)s leads"\n'
            'msgstr[0] "%(counter)s lead"\nmsgstr[1] "%(counter)s pistes"\n\n'
            'msgid "Commit forecast"\nmsgstr "Prévision engagée"\n'
        )
        assert catalogues.problems([catalogue]) == [
            "sales/locale/fr/LC_MESSAGES/django.po: '%(counter)s lead' says 'pistes': "
            "the glossary word is 'Lead (les leads)' (docs/glossary.md)",
            "sales/locale/fr/LC_MESSAGES/django.po: 'Commit forecast' says 'engagée': "
            "the glossary word is 'Commit' (docs/glossary.md)",
        ]

    def test_affaire_stays_in_revenue_and_in_the_review_phrases(self):
        catalogue = french(
            'msgid "Revenue (won)"\nmsgstr "Chiffre d\'affaires (gagné)"\n\n'
            'msgid "Deals won or lost"\nmsgstr "Affaires gagnées ou perdues"\n\n'
            'msgid "Deal by deal"\nmsgstr "Affaire par affaire"\n\n'
            'msgid "Open the deal"\nmsgstr "Ouvrir l\'affaire"\n'
        )
        (problem,) = catalogues.problems([catalogue])
        assert "'Open the deal' says 'affaire'" in problem

    def test_english_catalogues_are_compared_among_themselves(self):
        english_header = FRENCH_HEADER.replace("Language: fr", "Language: en").replace(
            "(n > 1)", "(n != 1)"
        )
        path = Path("a/locale/en/LC_MESSAGES/django.po")
        one = catalogues.parse(english_header + '\nmsgid "Won"\nmsgstr "Won"\n', path, "en")
        other = catalogues.parse(
            english_header + '\nmsgid "Won"\nmsgstr "Won deals"\n',
            Path("b/locale/en/LC_MESSAGES/django.po"),
            "en",
        )
        french_won = french('msgid "Won"\nmsgstr "Gagnées"\n')
        (problem,) = catalogues.problems([one, other, french_won])
        assert problem.startswith("en: 'Won' is translated 2 ways")


def test_make_messages_gives_a_new_french_catalogue_the_two_form_plural_rule():
    from climcrm.management.commands.messages import _tidy_header

    # What a new catalogue copies from Django's own French one.
    created = (
        'msgid ""\nmsgstr ""\n"Language: \\n"\n'
        '"Plural-Forms: nplurals=3; plural=(n == 0 || n == 1) ? 0 : n != 0 && n % "\n'
        '"1000000 == 0 ? 1 : 2;\\n"\n\nmsgid "Won"\nmsgstr ""\n'
    )
    tidy = catalogues.parse(_tidy_header(created, "fr"), language="fr")
    assert tidy.header["Plural-Forms"] == "nplurals=2; plural=(n > 1);"
    assert tidy.header["Language"] == "fr"
    assert [entry.msgid for entry in tidy.entries] == ["Won"]


def test_the_shipped_catalogues_pass_the_check():
    assert catalogues.problems(shipped(), base=Path(settings.BASE_DIR)) == []


@pytest.mark.parametrize(("count", "form"), [(0, 0), (1, 0), (2, 1), (4, 1), (1000000, 1)])
def test_every_plural_reads_in_french_whatever_the_count(count, form):
    wrong = []
    with translation.override("fr"):
        for catalogue in shipped():
            if catalogue.language != "fr":
                continue
            for entry in catalogue.entries:
                if entry.plural is None:
                    continue
                if entry.context:
                    text = translation.npgettext(entry.context, entry.msgid, entry.plural, count)
                else:
                    text = translation.ngettext(entry.msgid, entry.plural, count)
                if text != entry.forms.get(form):
                    wrong.append(f"{entry.label!r} for {count}: {text!r}")
    assert wrong == []
