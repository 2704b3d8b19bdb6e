"""``{% inline_field deal "amount" %}``: a deal's value that opens its inline edit form."""

from django import template

from opportunities.inline import field_html

register = template.Library()


@register.simple_tag(takes_context=True)
def inline_field(context, deal, name: str, compact: bool = False) -> str:
    return field_html(context["request"].user, deal, name, compact=compact)
