"""Figures in the active language (``climcrm.figures``: rounded half up, once, here)."""

from django import template

from climcrm import charts, figures

register = template.Library()


@register.filter
def money(value, places: int = 0):
    """'CHF 12’500' in French, 'CHF 12,500' in English; '—' for no amount."""
    return figures.money(value, places)


@register.filter
def percent(value, places: int = 0):
    """'67 %'; '—' for no rate."""
    return figures.percent(value, places)


@register.filter
def ratio(value, places: int = 1):
    """A multiple such as the coverage: '1.3'; '—' for none."""
    return figures.ratio(value, places)


@register.filter
def number(value, places: int = 0):
    """A count or a measure (days) with the language's grouping; '—' for none."""
    return figures.number(value, places)


@register.simple_tag(takes_context=True)
def url_replace(context, **kwargs):
    """The current query string with some parameters replaced (sorting, pagination)."""
    query = context["request"].GET.copy()
    for key, value in kwargs.items():
        if value in (None, ""):
            query.pop(key, None)
        else:
            query[key] = value
    return query.urlencode()


@register.filter
def largest_of(rows, key: str):
    """The largest figure ``key`` of ``rows`` (dicts or objects): the scale of a bar chart."""
    return charts.largest(_field(row, key) for row in rows or ())


@register.filter
def share_of(value, scale):
    """A bar's length in percent of ``scale`` (``climcrm.charts.share``), written with a
    decimal point whatever the language, for a CSS length."""
    return f"{charts.share(value, scale):f}"


def _field(row, key: str):
    return row.get(key) if isinstance(row, dict) else getattr(row, key, None)
