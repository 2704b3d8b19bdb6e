"""What the activity items offer the person looking at them."""

from django import template

from climcrm.permissions import can_change_activity

register = template.Library()


@register.filter
def changeable_by(activity, user) -> bool:
    """``{% if activity|changeable_by:user %}``: may ``user`` tick, edit or delete it?"""
    return can_change_activity(user, activity)
