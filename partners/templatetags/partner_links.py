"""Links of the partner channel that other apps' pages show."""

from django import template
from django.template.loader import render_to_string

from climcrm.permissions import can_assign_partner

register = template.Library()


@register.simple_tag(takes_context=True)
def partner_assign_link(context, opportunity) -> str:
    """The "assign to a partner" button of a deal, for channel managers and admins only."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not can_assign_partner(user):
        return ""
    return render_to_string(
        "partners/_assign_link.html", {"opportunity": opportunity}, request=request
    )
