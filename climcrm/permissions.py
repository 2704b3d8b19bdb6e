"""Who may change what (the "changes" column of the roles table in SPEC.md)."""

from climcrm.roles import (
    Role,
    is_admin,
    is_channel_manager,
    is_internal,
    is_manager,
    is_partner_user,
    roles_of,
)

# What a partner user may change on their own partner's deals.
_PARTNER_FIELDS = frozenset(
    {
        "stage",
        "amount",
        "probability",
        "close_date",
        "next_step",
        "next_step_date",
        "loss_reason",
        "loss_reason_text",
        "objective_reasons",
        "lessons_learned",
        "expected_delivery",
    }
)


def partner_editable_fields() -> frozenset[str]:
    return _PARTNER_FIELDS


def _in_team(manager, user_id) -> bool:
    if user_id is None:
        return False
    if user_id == manager.pk:
        return True
    return manager.team_members.filter(pk=user_id).exists()


def can_edit_opportunity(user, opportunity) -> bool:
    if is_partner_user(user):
        return opportunity.partner_id is not None and opportunity.partner_id == user.partner_id
    if not is_internal(user):
        return False
    if is_admin(user) or opportunity.owner_id == user.pk:
        return True
    roles = roles_of(user)
    if Role.SALES_MANAGER in roles and _in_team(user, opportunity.owner_id):
        return True
    # Channel managers work the deals of the partners they manage (assignment, reviews).
    return bool(
        Role.CHANNEL_MANAGER in roles
        and opportunity.partner_id
        and opportunity.partner.channel_manager_id == user.pk
    )


def can_reopen_opportunity(user) -> bool:
    return is_manager(user)


def can_change_forecast_category(user, opportunity) -> bool:
    """Owner and managers, on open deals."""
    if is_partner_user(user):
        return False
    return opportunity.owner_id == user.pk or is_manager(user) or is_channel_manager(user)


def can_assign_partner(user) -> bool:
    return is_channel_manager(user)
