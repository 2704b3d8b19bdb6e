"""How every figure is computed for display and written, in pages, emails and exports.

One rule for the whole product: computations keep full precision (Decimals, never a value
rounded on the way) and a figure is rounded once, half up, to the precision it is shown
at, then written in the active language's format (``climcrm/formats``). Python's
``round()`` rounds half to even and ``django.utils.formats.number_format`` cuts the digits
it does not show: neither is used on a figure.
"""

import math
from decimal import ROUND_HALF_UP, Context, Decimal, InvalidOperation

from django.conf import settings
from django.utils.formats import number_format

NO_FIGURE = "—"
# Between a figure and its unit, so that "CHF" or "%" never ends up alone on a line.
_NBSP = "\u00a0"
_FLOAT_DIGITS = Context(prec=15)


def as_decimal(value) -> Decimal | None:
    """``value`` as a Decimal, None when it is not a number.

    A float (SQLite's sums and averages) keeps its first 15 significant digits, all that
    SQLite holds: 3000.2999999999997 is 3000.30."""
    if value is None or value == "" or isinstance(value, bool):
        return None
    if isinstance(value, float):
        return _FLOAT_DIGITS.create_decimal_from_float(value) if math.isfinite(value) else None
    try:
        number = Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        return None
    return number if number.is_finite() else None


def rounded(value, places: int = 0) -> Decimal | None:
    """``value`` rounded half up (away from zero) to ``places`` decimals."""
    number = as_decimal(value)
    if number is None:
        return None
    return number.quantize(Decimal(1).scaleb(-int(places)), rounding=ROUND_HALF_UP)


def rate(part, whole) -> Decimal | None:
    """``part`` as a percentage of ``whole`` at full precision; None when ``whole`` is 0."""
    part, whole = as_decimal(part), as_decimal(whole)
    if part is None or not whole:
        return None
    return part * 100 / whole


def number(value, places: int = 0) -> str:
    """``1’663’980`` in French, ``1,663,980`` in English; "—" for no value."""
    figure = rounded(value, places)
    if figure is None:
        return NO_FIGURE
    if figure.is_zero():
        figure = abs(figure)  # never "-0"
    return number_format(figure, int(places), use_l10n=True, force_grouping=True)


def money(value, places: int = 0) -> str:
    """``CHF 1’663’980`` in French, ``CHF 1,663,980`` in English; "—" for no amount."""
    text = number(value, places)
    return text if text == NO_FIGURE else f"{settings.CRM_CURRENCY}{_NBSP}{text}"


def percent(value, places: int = 0) -> str:
    """A percentage (0-100 scale): ``67 %``; "—" when there is none (a rate of nothing)."""
    text = number(value, places)
    return text if text == NO_FIGURE else f"{text}{_NBSP}%"


def ratio(value, places: int = 1) -> str:
    """A multiple such as the coverage (pipeline ÷ target), to one decimal: ``1.3``."""
    return number(value, places)


def plain(value) -> str:
    """An exact number for a CSV export: every digit, a decimal point, no grouping, at least
    two decimals (``170584.50``, ``250.375``); empty for no value. Spreadsheets and scripts
    read the same text whatever the language of the person who exported it."""
    number_value = as_decimal(value)
    if number_value is None:
        return ""
    number_value = number_value.normalize()
    exponent = number_value.as_tuple().exponent
    if isinstance(exponent, int) and exponent > -2:
        number_value = number_value.quantize(Decimal("0.01"))
    return f"{number_value:f}"
