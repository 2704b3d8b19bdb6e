"""Geometry of the charts drawn in HTML and CSS: bar lengths as shares of a scale.

A chart never computes a figure: it takes the figures the page's table shows and says how
long each bar is, in percent of the longest one (or of a given scale), rounded half up to a
tenth of a percent. The labels and amounts beside the bars are written by the page with the
same filters as its tables (``climcrm/figures.py``).
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from climcrm.figures import as_decimal

ZERO = Decimal(0)
HUNDRED = Decimal(100)
_TENTH = Decimal("0.1")


def share(value, scale) -> Decimal:
    """``value`` as a percentage of ``scale``, between 0 and 100, to a tenth.

    Nothing to draw (no figure, zero or negative, or no scale) is 0; a value above the scale
    is drawn full length."""
    number, whole = as_decimal(value), as_decimal(scale)
    if number is None or whole is None or number <= 0 or whole <= 0:
        return ZERO
    percentage = min(number / whole * HUNDRED, HUNDRED)
    return percentage.quantize(_TENTH, rounding=ROUND_HALF_UP)


def largest(values: Iterable) -> Decimal:
    """The largest of ``values`` (figures, None skipped), 0 when there is none."""
    numbers = [number for number in map(as_decimal, values) if number is not None]
    return max(numbers, default=ZERO)


@dataclass(frozen=True)
class Segment:
    """One part of a stacked bar: where it starts and how long it is, in % of the scale."""

    key: str
    label: str
    value: Decimal
    offset: Decimal
    width: Decimal


def stacked(parts: Sequence[tuple[str, str, object]], scale=None) -> list[Segment]:
    """Segments of a stacked bar, one per ``(key, label, value)`` in order, laid end to end.

    ``scale`` defaults to the sum of the parts (the bar is then full). Each segment starts
    where the previous ones end: offsets are the rounded shares of the running sums, so the
    segments never overlap nor leave a gap, whatever the rounding."""
    values = [max(as_decimal(value) or ZERO, ZERO) for _key, _label, value in parts]
    whole = as_decimal(scale) if scale is not None else sum(values, ZERO)
    segments, running = [], ZERO
    for (key, label, _value), value in zip(parts, values, strict=True):
        start = share(running, whole)
        running += value
        end = share(running, whole)
        segments.append(Segment(key=key, label=label, value=value, offset=start, width=end - start))
    return segments


def waterfall(start, steps: Sequence[tuple[str, str, object, int]], end) -> list[dict]:
    """The bars of a waterfall: the start, each ``(key, label, amount, count)`` step that
    moved something, the end. A step's bar runs from the running total before it to the one
    after it; lengths in % of the highest running total (steps that add come first, so the
    running total stays between zero and that)."""
    running = as_decimal(start) or ZERO
    bars = [{"key": "start", "amount": running, "low": ZERO, "high": running, "total": True}]
    for key, label, amount, count in steps:
        if not count:
            continue
        change = as_decimal(amount) or ZERO
        after = running + change
        bars.append(
            {
                "key": key,
                "label": label,
                "amount": change,
                "count": count,
                "low": min(running, after),
                "high": max(running, after),
                "up": change >= 0,
            }
        )
        running = after
    last = as_decimal(end) or ZERO
    bars.append({"key": "end", "amount": last, "low": ZERO, "high": last, "total": True})
    scale = largest(bar["high"] for bar in bars)
    for bar in bars:
        offset = share(bar["low"], scale)
        bar["offset"] = f"{offset:f}"
        bar["width"] = f"{share(bar['high'], scale) - offset:f}"
    return bars
