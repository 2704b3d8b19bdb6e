"""Formatting for money, percentages and dates in the active locale."""

from decimal import Decimal, InvalidOperation

from django import template
from django.conf import settings
from django.utils.formats import number_format

register = template.Library()


@register.filter
def money(value, decimals: int = 0):
    """'CHF 12’500' in French, 'CHF 12,500' in English; '—' for no amount."""
    if value is None or value == "":
        return "—"
    try:
        amount = Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        return "—"
    formatted = number_format(amount, int(decimals), use_l10n=True, force_grouping=True)
    return f"{settings.CRM_CURRENCY}\u00a0{formatted}"


@register.filter
def percent(value):
    if value is None or value == "":
        return "—"
    return f"{number_format(value, 0, use_l10n=True)}\u00a0%"


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
