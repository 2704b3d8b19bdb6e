"""The single place that answers "what role(s) does this user have".

Roles are Django groups created by a data migration; superusers count as admins.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    SALES_REP = "sales_rep", _("Sales rep")
    SALES_MANAGER = "sales_manager", _("Sales manager")
    CHANNEL_MANAGER = "channel_manager", _("Channel manager")
    PARTNER_USER = "partner_user", _("Partner user")
    ADMIN = "admin", _("Admin")


INTERNAL_ROLES = frozenset({Role.SALES_REP, Role.SALES_MANAGER, Role.CHANNEL_MANAGER, Role.ADMIN})
_CACHE_ATTR = "_climcrm_roles"


def roles_of(user) -> frozenset[Role]:
    """Every role of the user; cached on the user object for the request."""
    if user is None or not user.is_authenticated:
        return frozenset()
    cached = getattr(user, _CACHE_ATTR, None)
    if cached is not None:
        return cached
    names = set(user.groups.values_list("name", flat=True))
    roles = {Role(name) for name in names if name in Role.values}
    if user.is_superuser:
        roles.add(Role.ADMIN)
    # A partner user is defined by the link to the partner as much as by the group.
    if user.partner_id:
        roles.add(Role.PARTNER_USER)
    result = frozenset(roles)
    setattr(user, _CACHE_ATTR, result)
    return result


def forget_roles(user) -> None:
    if hasattr(user, _CACHE_ATTR):
        delattr(user, _CACHE_ATTR)


def is_partner_user(user) -> bool:
    """Partner users are never internal, whatever else they were given."""
    return Role.PARTNER_USER in roles_of(user)


def is_internal(user) -> bool:
    return bool(roles_of(user) & INTERNAL_ROLES) and not is_partner_user(user)


def is_admin(user) -> bool:
    return Role.ADMIN in roles_of(user) and not is_partner_user(user)


def is_manager(user) -> bool:
    return not is_partner_user(user) and bool(roles_of(user) & {Role.SALES_MANAGER, Role.ADMIN})


def is_channel_manager(user) -> bool:
    return not is_partner_user(user) and bool(roles_of(user) & {Role.CHANNEL_MANAGER, Role.ADMIN})
