"""CSV for spreadsheets: streamed, and never a formula typed by someone else.

A cell starting with = + - @ or a tab is run by Excel as a formula (CSV injection); such
text is written with a leading apostrophe, which spreadsheets show as plain text.
Numbers keep their sign.
"""

import csv
import re

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
