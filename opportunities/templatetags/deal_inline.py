"""``{% inline_field deal "amount" %}``: a deal's value that opens its inline edit form."""

from django import template

from opportunities.inline import field_context

register = template.Library()


@register.inclusion_tag("opportunities/inline_field.html", takes_context=True)
def inline_field(context, deal, name: str, compact: bool = False):
    return field_context(context["request"].user, deal, name, compact=compact)
