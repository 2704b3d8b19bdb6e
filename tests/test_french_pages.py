"""Every page a French user can reach reads French.

The demo data is loaded (it has plurals, partners, reviews, registrations waiting…), then each
demo user, switched to French, follows the links of the app from the dashboard, one page per
kind of URL. On each page (and each CSV header) no piece of text may be the English of one of
our own messages: an English source text whose French translation is different. That is what a
French user sees when a plural form, a context or a translation is missing.
"""

import io
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest
from django.conf import settings
from django.core.management import call_command

from climcrm import catalogues

# One user per kind of page set: the rep and the second partner see the same pages.
USERS = ("admin", "manager", "channel", "partner_a")
# Django's own records shown by the admin keep the English they were stored with (permission
# names are rows written at migrate time, in English): not our words. Neither is the admin's
# search icon, whose alt text Django does not translate.
SKIPPED = ("/logout", "/i18n/", "/static/", "/admin/logout", "/admin/auth/", "/admin/axes/")
NOT_OURS = {"Search"}
PAGES_PER_USER = 250
# Values of the demo records, not words of the app: the admin's first name and username,
# the English label column of loss reasons, the audit log's technical details, the
# industries typed in by the demo data.
DATA = {"Admin", "manager", "Other", "opportunities", "Industry"}
_PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]|%%")


def _english_only() -> re.Pattern:
    """Our English source texts that French pages must not show, as one pattern."""
    base = Path(settings.BASE_DIR)
    found = [catalogues.read(path) for path in base.glob("*/locale/*/LC_MESSAGES/django.po")]
    french: dict[tuple, list[str]] = {}
    french_texts: set[str] = set()
    for catalogue in found:
        if catalogue.language == "fr":
            for entry in catalogue.entries:
                forms = [entry.forms[i] for i in sorted(entry.forms)]
                french[entry.key] = forms
                french_texts.update(forms)
    english: set[str] = set()
    for catalogue in found:
        if catalogue.language != "en":
            continue
        for entry in catalogue.entries:
            for text in (entry.msgid, entry.plural):
                if (
                    text
                    and "<" not in text
                    and text not in french.get(entry.key, [])
                    and text not in french_texts
                    # "Contact:" differs from « Contact : » by a space only (and Django's
                    # admin writes "<name>: object" itself).
                    and text.removesuffix(":") not in french_texts
                    and re.search(r"[A-Za-z]{2}", _PLACEHOLDER.sub("", text))
                ):
                    english.add(text)
    patterns = []
    for text in sorted(english):
        pieces = _PLACEHOLDER.split(text)
        regex = ""
        for index, piece in enumerate(pieces):
            if index % 2 == 0:
                regex += re.escape(piece.replace("%%", "%"))
            else:
                regex += r"\d+" if piece in ("counter", "count") else ".+?"
        patterns.append(regex)
    return re.compile("|".join(f"(?:{regex})" for regex in patterns))


class _Text(HTMLParser):
    """The pieces of text of a page a reader meets, attributes they hear or hover included."""

    READ_ATTRIBUTES = ("title", "placeholder", "aria-label", "alt", "data-confirm", "hx-confirm")

    def __init__(self):
        super().__init__()
        self.pieces: list[str] = []
        self.links: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style", "template"):
            self._hidden += 1
        for name, value in attrs:
            if not value:
                continue
            if name in self.READ_ATTRIBUTES:
                self.pieces.append(" ".join(value.split()))
            elif name in ("href", "hx-get") and value.startswith("/"):
                self.links.append(value)

    def handle_endtag(self, tag):
        if tag in ("script", "style", "template"):
            self._hidden -= 1

    def handle_data(self, data):
        if not self._hidden and data.strip():
            self.pieces.append(" ".join(data.split()))


def _shape(url: str) -> str:
    parts = urlsplit(url)
    query = sorted(key for key, _value in parse_qsl(parts.query, keep_blank_values=True))
    return re.sub(r"\d+", "N", parts.path) + "?" + "&".join(query)


def _crawl(client, start: str = "/"):
    """(url, pieces of text) of one page per URL shape reachable from the dashboard."""
    queue, seen_shapes = [start], set()
    while queue and len(seen_shapes) < PAGES_PER_USER:
        url = queue.pop(0).split("#")[0]
        shape = _shape(url)
        if shape in seen_shapes or any(part in url for part in SKIPPED):
            continue
        seen_shapes.add(shape)
        response = client.get(url)
        if response.status_code != 200:
            continue
        body = b"".join(response.streaming_content) if response.streaming else response.content
        text = body.decode("utf-8", "replace")
        content_type = response.get("Content-Type", "")
        if "csv" in content_type:
            header = text.lstrip("\ufeff").splitlines()[:1]
            yield url, [cell.strip('"') for line in header for cell in re.split("[;,]", line)]
        elif "html" in content_type:
            page = _Text()
            page.feed(text)
            yield url, page.pieces
            queue += page.links


@pytest.mark.django_db
def test_a_french_user_reads_no_english_on_any_page(client):
    from climcrm.models import User

    call_command("seed_demo", stdout=io.StringIO())
    User.objects.filter(username__in=USERS).update(language="fr")
    english = _english_only()
    shown: dict[str, set[str]] = {}
    visited = 0
    for username in USERS:
        client.force_login(User.objects.get(username=username))
        for url, pieces in _crawl(client):
            visited += 1
            for piece in pieces:
                if piece not in DATA | NOT_OURS and english.fullmatch(piece):
                    shown.setdefault(piece, set()).add(_shape(url))
        client.logout()
    assert visited > 100
    assert shown == {}, "\n".join(f"{text!r} on {sorted(urls)[:3]}" for text, urls in shown.items())
