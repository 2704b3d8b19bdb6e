from django import template

from climcrm.charts import ZERO, largest, share, stacked
from climcrm.figures import as_decimal, rate
from opportunities.models import Stage

register = template.Library()

# The forecast categories of a bar, in the order they stack (the forecast's cumulative
# roll-ups read left to right: Closed, then Commit, Best Case and Pipeline).
BAR_PARTS = ("closed", "commit", "best_case", "pipeline")


@register.filter
def stage_label(value):
    """The translated name of a stage value (history annotations hold raw values)."""

    if not value:
        return "—"
    try:
        return Stage(value).label
    except ValueError:
        return value


def _figure(figures, key: str):
    value = figures.get(key) if isinstance(figures, dict) else getattr(figures, key, None)
    return as_decimal(value) or ZERO


def _bar_length(figures):
    """What a forecast bar spans: every category, or the target when it is further."""
    return max(sum((_figure(figures, key) for key in BAR_PARTS), ZERO), _figure(figures, "target"))


@register.filter
def forecast_scale(rows):
    """The common scale of the forecast bars of ``rows``: the longest of them."""
    return largest(_bar_length(row) for row in rows or ())


@register.inclusion_tag("forecasting/_forecast_bar.html")
def forecast_bar(figures, scale=None, label: str = "", legend: bool = False):
    """A forecast's figures as one bar: its categories end to end, the target as a mark.

    ``figures`` is a row of the forecast (closed, commit, best_case, pipeline, target);
    ``scale`` the length of a full bar, for bars compared on one page (``forecast_scale``),
    else the bar's own length. ``attained``: closed and Commit forecast in % of the target."""
    whole = scale if scale is not None else _bar_length(figures)
    segments = stacked([(key, key, _figure(figures, key)) for key in BAR_PARTS], whole)
    target = _figure(figures, "target")
    closed = _figure(figures, "closed")
    return {
        "figures": figures,
        "label": label,
        "legend": legend,
        "segments": {segment.key: segment for segment in segments},
        "target": target,
        "target_at": f"{share(target, whole):f}" if target else None,
        "closed_of_target": rate(closed, target),
        "commit_of_target": rate(closed + _figure(figures, "commit"), target),
    }
