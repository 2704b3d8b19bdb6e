from django import template

from opportunities.models import Stage

register = template.Library()


@register.filter
def stage_label(value):
    """The translated name of a stage value (history annotations hold raw values)."""

    if not value:
        return "—"
    try:
        return Stage(value).label
    except ValueError:
        return value
