"""Writes for accounts and contacts: validate, save in one transaction.

Who may change an account is decided in ``climcrm.permissions``; a refusal raises
``PermissionError`` with the reason.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import Account, Contact
from climcrm.permissions import can_change_account, can_reassign_account

if TYPE_CHECKING:
    from django.db.models import Model

    from climcrm.models import User

ACCOUNT_FIELDS = (
    "name",
    "industry",
    "website",
    "street",
    "postal_code",
    "city",
    "country",
    "owner",
    "notes",
)
CONTACT_FIELDS = (
    "first_name",
    "last_name",
    "email",
    "phone",
    "job_title",
    "account",
    "is_decision_maker",
    "notes",
)


def _assign(instance: Model, values: dict[str, Any], allowed: tuple[str, ...]) -> list[str]:
    changed = []
    for name, value in values.items():
        if name not in allowed:
            raise TypeError(f"{type(instance).__name__} has no editable field {name!r}")
        field = instance._meta.get_field(name)
        current = getattr(instance, field.attname)  # type: ignore[union-attr]
        new = value.pk if field.is_relation and value is not None else value
        if current != new or instance.pk is None:
            setattr(instance, name, value)
            changed.append(name)
    return changed


@transaction.atomic
def account_create(*, by: User | None = None, **values: Any) -> Account:
    account = Account()
    values.setdefault("owner", by if getattr(by, "pk", None) else None)
    _assign(account, values, ACCOUNT_FIELDS)
    account.full_clean(exclude=["normalized_name"])
    account.save()
    return account


def change_refusal(user: User, account: Account) -> str:
    """Why ``user`` may not change this account: whose it is."""
    if account.owner is None:
        return _("You may not change this account.")
    return _(
        "This account is %(person)s's: only they, their sales manager or an administrator "
        "may change it."
    ) % {"person": account.owner.get_full_name() or account.owner.username}


def reassign_refusal() -> str:
    return _("Only a sales manager can give an account to someone else.")


@transaction.atomic
def account_update(*, account: Account, by: User | None = None, changes: dict[str, Any]) -> Account:
    """Change an account. ``by`` is checked when given: the owner, their sales manager or
    an admin may change it, and only a sales manager or an admin may change its owner."""
    account = Account.objects.select_for_update().get(pk=account.pk)
    if by is not None:
        if not can_change_account(by, account):
            raise PermissionError(change_refusal(by, account))
        new_owner = changes.get("owner", account.owner)
        new_owner_id = getattr(new_owner, "pk", new_owner)
        if new_owner_id != account.owner_id and not can_reassign_account(by, account):
            raise PermissionError(reassign_refusal())
    changed = _assign(account, changes, ACCOUNT_FIELDS)
    if changed:
        account.full_clean(exclude=["normalized_name"])
        account.save()
    return account


@transaction.atomic
def contact_create(*, by: User | None = None, **values: Any) -> Contact:
    contact = Contact()
    _assign(contact, values, CONTACT_FIELDS)
    contact.email = contact.email.strip().lower()
    contact.full_clean()
    contact.save()
    return contact


@transaction.atomic
def contact_update(*, contact: Contact, by: User | None = None, changes: dict[str, Any]) -> Contact:
    contact = Contact.objects.select_for_update().get(pk=contact.pk)
    if "email" in changes:
        changes = {**changes, "email": (changes["email"] or "").strip().lower()}
    changed = _assign(contact, changes, CONTACT_FIELDS)
    if changed:
        contact.full_clean()
        contact.save()
    return contact
