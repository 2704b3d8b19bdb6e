"""Who may change what (the "changes" column of the roles table in SPEC.md).

One function per decision. Services refuse with a reason when the answer is no; views and
templates ask the same functions to hide what the user may not use. Seeing is decided in
``climcrm.visibility``: these functions assume the user can see the object.

Deals, leads and accounts belong to their owner. A sales rep changes their own; a sales
manager changes those of their team (themselves and the people whose manager they are); a
channel manager changes the deals and leads of the partners they manage; an admin changes
everything. A lead or an account nobody owns is anyone internal's. Partner users change
their own partner's deals and leads, never an account. Only sales managers (for their team)
and admins give an account to someone else.

Activities and to-dos belong to the people who have a hand in them:
- the assignee, who does it;
- the author, who planned or logged it (the channel manager who agreed a to-do in a
  review keeps it in hand after giving it to the partner);
- the owner of the deal, lead or account it is about: a deal's to-dos are how its owner
  works the deal, whoever they are given to.
Those people change it (edit, complete, reopen, give to someone else, delete), and so do
the sales manager of any of them, the channel manager of the partner whose deal or lead it
is about, and admins. Another sales rep does not, though they can read it. Partner users
share their partner's to-dos: they change every activity of their partner's deals and
leads ("its to-dos" in SPEC.md), never one of an account alone, which they cannot see.
An activity none of whose people is left (all deleted) is anyone internal's.

Adding an activity to a deal, a lead or an account is changing it: the same people who may
change the record may add to it. (A review to-do is added by whoever runs the review: the
review's own rule decides, see ``pipeline_reviews.services``.)
"""

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
        "amount_confirmed",
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
_TEAM_ATTR = "_climcrm_team"
_PARTNERS_ATTR = "_climcrm_managed_partners"


def partner_editable_fields() -> frozenset[str]:
    return _PARTNER_FIELDS


def _in_team(manager, user_id) -> bool:
    if user_id is None:
        return False
    # The cached team: a page of deals asks once, not once per deal.
    return user_id in _team_ids(manager)


def _team_ids(manager) -> frozenset[int]:
    """The manager and the people they manage; cached on the user for the request (a page
    of to-dos asks once, not once per to-do)."""
    cached = getattr(manager, _TEAM_ATTR, None)
    if cached is None:
        cached = frozenset({manager.pk, *manager.team_members.values_list("pk", flat=True)})
        setattr(manager, _TEAM_ATTR, cached)
    return cached


def _managed_partner_ids(user) -> frozenset[int]:
    """The partners whose channel manager ``user`` is; cached like the team."""
    cached = getattr(user, _PARTNERS_ATTR, None)
    if cached is None:
        # Through the reverse relation of Partner.channel_manager: the core imports no app.
        cached = frozenset(user.managed_partners.values_list("pk", flat=True))
        setattr(user, _PARTNERS_ATTR, cached)
    return cached


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


def can_edit_lead(user, lead) -> bool:
    """Owner, the owner's manager, admins, the channel manager of the lead's partner,
    any internal user for an unassigned lead, and the partner's own users."""
    if is_partner_user(user):
        return lead.partner_id is not None and lead.partner_id == user.partner_id
    if not is_internal(user):
        return False
    if is_admin(user) or lead.owner_id is None or lead.owner_id == user.pk:
        return True
    roles = roles_of(user)
    if Role.SALES_MANAGER in roles and lead.owner and lead.owner.manager_id == user.pk:
        return True
    return bool(
        Role.CHANNEL_MANAGER in roles
        and lead.partner_id
        and lead.partner.channel_manager_id == user.pk
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


# --- accounts -------------------------------------------------------------------------


def can_change_account(user, account) -> bool:
    """Rename and edit an account: its owner, the owner's sales manager, admins, anyone
    internal while nobody owns it; the channel manager of a partner, that partner's own
    company account."""
    if not is_internal(user):
        return False
    if is_admin(user) or account.owner_id is None or account.owner_id == user.pk:
        return True
    roles = roles_of(user)
    if Role.SALES_MANAGER in roles and account.owner_id in _team_ids(user):
        return True
    if Role.CHANNEL_MANAGER in roles and account.pk is not None:
        return user.managed_partners.filter(account_id=account.pk).exists()
    return False


def can_reassign_account(user, account=None) -> bool:
    """Give an account (or a new one) to someone else: admins, and sales managers for the
    accounts of their team."""
    if is_admin(user):
        return True
    if Role.SALES_MANAGER not in roles_of(user) or not is_internal(user):
        return False
    return account is None or account.owner_id is None or account.owner_id in _team_ids(user)


# --- activities and to-dos ------------------------------------------------------------


def _about(activity) -> list:
    """The deal, lead and account the activity is linked to (one or more)."""
    return [t for t in (activity.opportunity, activity.lead, activity.account) if t is not None]


def activity_people(activity) -> set[int]:
    """The ids of the people who have a hand in the activity (see the module docstring)."""
    people = {activity.assignee_id, activity.created_by_id}
    people.update(getattr(target, "owner_id", None) for target in _about(activity))
    people.discard(None)
    return people


def can_change_activity(user, activity) -> bool:
    """Edit, complete, reopen, give to someone else or delete an activity or to-do."""
    if is_partner_user(user):
        deals_and_leads = [t for t in (activity.opportunity, activity.lead) if t is not None]
        return bool(deals_and_leads) and all(
            t.partner_id is not None and t.partner_id == user.partner_id for t in deals_and_leads
        )
    if not is_internal(user):
        return False
    if is_admin(user):
        return True
    people = activity_people(activity)
    if not people or user.pk in people:
        return True
    roles = roles_of(user)
    if Role.SALES_MANAGER in roles and people & _team_ids(user):
        return True
    if Role.CHANNEL_MANAGER in roles:
        partners = {t.partner_id for t in (activity.opportunity, activity.lead) if t is not None}
        return bool(partners & _managed_partner_ids(user))
    return False


def can_add_activity(user, *, opportunity=None, lead=None, account=None) -> bool:
    """Log an activity or plan a to-do on these records: whoever may change them.

    Partner users add to their partner's deals and leads only, never to an account alone.
    """
    if opportunity is None and lead is None and account is None:
        return False
    if is_partner_user(user):
        if opportunity is None and lead is None:
            return False
    elif not is_internal(user):
        return False
    return (
        (opportunity is None or can_edit_opportunity(user, opportunity))
        and (lead is None or can_edit_lead(user, lead))
        and (account is None or is_partner_user(user) or can_change_account(user, account))
    )
