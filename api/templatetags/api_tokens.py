from django import template

from api.selectors import api_tokens_of

register = template.Library()


@register.simple_tag
def api_tokens(user):
    """The user's API tokens, for the token section of their page."""
    return list(api_tokens_of(user=user))
