"""Reads for the account and contact pages, scoped by the user's visibility."""

from decimal import Decimal

from django.db.models import (
    Count,
    DecimalField,
    Exists,
    OuterRef,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce

from accounts.deals import account_deals
from accounts.filters import AccountFilter, ContactFilter
from accounts.models import Account, Contact
from accounts.visibility import visible_accounts, visible_contacts
from climcrm.lookup import LOOKUP_LIMIT
from climcrm.ordering import ordering_for
from climcrm.search import best_matches, contains
from climcrm.visibility import get_visible_or_404

ACCOUNT_ORDERINGS = {
    "name": ("name",),
    "city": ("city", "name"),
    "industry": ("industry", "name"),
    "owner": ("owner__last_name", "owner__first_name"),
    "open_deals": ("open_deals",),
    "created": ("created_at",),
    "updated": ("updated_at",),
}
CONTACT_ORDERINGS = {
    "name": ("last_name", "first_name"),
    "account": ("account__name",),
    "email": ("email",),
    "job_title": ("job_title",),
}


def _won_deals(user) -> QuerySet:
    deals = account_deals()
    return deals.visible(user).filter(deals.won)


def account_list(*, user, params) -> tuple[AccountFilter, QuerySet, str]:
    deals = account_deals()
    open_deals = (
        deals.visible(user)
        .filter(deals.open, account=OuterRef("pk"))
        .order_by()
        .values("account")
        .annotate(n=Count("pk"))
        .values("n")
    )
    queryset = (
        visible_accounts(user)
        .select_related("owner")
        .annotate(
            is_customer=Exists(_won_deals(user).filter(account=OuterRef("pk"))),
            open_deals=Coalesce(Subquery(open_deals), Value(0)),
        )
    )
    filterset = AccountFilter(params, queryset=queryset)
    ordering_key, ordering = ordering_for(params.get("ordering"), ACCOUNT_ORDERINGS, "name")
    if not params.get("ordering"):
        ordering = [*filterset.search_order(), *ordering]
    return filterset, filterset.qs.order_by(*ordering), ordering_key


def account_get(*, user, pk) -> Account:
    return get_visible_or_404(
        visible_accounts(user)
        .select_related("owner")
        .annotate(is_customer=Exists(_won_deals(user).filter(account=OuterRef("pk")))),
        pk=pk,
    )


def account_opportunities(*, user, account: Account) -> QuerySet:
    return (
        account_deals()
        .visible(user)
        .filter(account=account)
        .select_related("owner", "partner__account")
        .order_by("-close_date", "-pk")
    )


def account_totals(*, user, account: Account) -> dict:
    zero = Value(Decimal("0"))
    deals = account_deals()
    return (
        deals.visible(user)
        .filter(account=account)
        .aggregate(
            won_total=Coalesce(Sum("amount", filter=deals.won), zero, output_field=DecimalField()),
            won_count=Count("pk", filter=deals.won),
            open_total=Coalesce(
                Sum("amount", filter=deals.open), zero, output_field=DecimalField()
            ),
            open_count=Count("pk", filter=deals.open),
        )
    )


def account_contacts(*, user, account: Account) -> QuerySet:
    return visible_contacts(user).filter(account=account).order_by("last_name", "first_name")


def contact_list(*, user, params) -> tuple[ContactFilter, QuerySet, str]:
    queryset = visible_contacts(user).select_related("account")
    filterset = ContactFilter(params, queryset=queryset)
    ordering_key, ordering = ordering_for(params.get("ordering"), CONTACT_ORDERINGS, "name")
    if not params.get("ordering"):
        ordering = [*filterset.search_order(), *ordering]
    return filterset, filterset.qs.order_by(*ordering), ordering_key


def contact_get(*, user, pk) -> Contact:
    return get_visible_or_404(visible_contacts(user).select_related("account"), pk=pk)


def contact_opportunities(*, user, contact: Contact) -> QuerySet:
    return (
        account_deals()
        .visible(user)
        .filter(primary_contact=contact)
        .select_related("owner", "account")
        .order_by("-close_date", "-pk")
    )


def account_lookup(*, user, query: str) -> QuerySet:
    """The visible accounts whose name contains ``query``, those starting with it first
    (what a select asks for as the user types)."""
    accounts = visible_accounts(user)
    if query:
        accounts = best_matches(
            accounts.filter(contains(query, "name")),
            value=query,
            fields=("name",),
            ordering=("name", "pk"),
        )
    else:
        accounts = accounts.order_by("name", "pk")
    return accounts[:LOOKUP_LIMIT]


def contact_lookup(*, user, query: str, account_pk: str | None = None) -> QuerySet:
    """The visible contacts matching ``query`` by name or email, of one visible account
    when ``account_pk`` is given (404 when that account is not visible)."""
    contacts = visible_contacts(user)
    if account_pk:
        account = get_visible_or_404(visible_accounts(user), pk=account_pk)
        contacts = contacts.filter(account=account)
    ordering = ("last_name", "first_name", "pk")
    if query:
        contacts = best_matches(
            contacts.filter(contains(query, "last_name", "first_name", "email")),
            value=query,
            fields=("last_name", "first_name"),
            ordering=ordering,
        )
    else:
        contacts = contacts.order_by(*ordering)
    return contacts[:LOOKUP_LIMIT]
