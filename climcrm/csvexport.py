"""CSV for spreadsheets: streamed, and never a formula typed by someone else.

A cell starting with = + - @ or a tab is run by Excel as a formula (CSV injection); such
text is written with a leading apostrophe, which spreadsheets show as plain text.
Numbers keep their sign.
"""

import csv
import re

from django.http import StreamingHttpResponse
from django.utils import timezone, translation
from django.utils.translation import gettext

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"^-?\d+([.,]\d+)?$")


class Echo:
    """A file-like object whose write returns the line, for streaming csv.writer output."""

    def write(self, value):
        return value


def safe_cell(value):
    if isinstance(value, str) and value.startswith(FORMULA_STARTS) and not _NUMBER.match(value):
        return "'" + value
    return value


class SafeWriter:
    """csv.writer whose rows are made safe for spreadsheets; writerow returns the line."""

    def __init__(self, stream=None, delimiter: str = ";"):
        self._writer = csv.writer(stream if stream is not None else Echo(), delimiter=delimiter)

    def writerow(self, row):
        return self._writer.writerow([safe_cell(cell) for cell in row])

    def writerows(self, rows):
        for row in rows:
            self.writerow(row)


def csv_response(*, filename: str, header, rows, language: str | None = None):
    """The one way ClimCRM answers with a CSV file: UTF-8 with a BOM, semicolons, numbers
    with a decimal point and no grouping (``climcrm.figures.plain``), dates ISO 8601, each
    cell safe for spreadsheets; streamed, so a long list costs no memory. ``rows`` is an
    iterable of lists produced while the response streams: the labels keep the request's
    language. The file is named ``<filename>-<today>.csv``."""

    language = language or translation.get_language() or "fr"

    def lines():
        with translation.override(language):
            writer = SafeWriter(delimiter=";")
            yield "\ufeff" + writer.writerow([str(label) for label in header])
            for row in rows:
                yield writer.writerow(row)

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    stamp = timezone.localdate().isoformat()
    response["Content-Disposition"] = f'attachment; filename="{filename}-{stamp}.csv"'
    return response


def yes_no(value) -> str:
    return gettext("yes") if value else gettext("no")
