"""The accounts, contacts and partners a user sees (see ``climcrm.visibility``): a partner
user sees the accounts and contacts of their partner's deals and the accounts their partner
brought (the deals are read through ``accounts.deals``)."""

from django.db.models import Exists, OuterRef, Q, QuerySet

from accounts.deals import account_deals
from accounts.models import Account, Contact, Partner
from climcrm.visibility import scoped


def visible_accounts(user) -> QuerySet:
    def partner_scope(partner: int) -> Q:
        deals = account_deals().visible(user).filter(account=OuterRef("pk"))
        return Q(Exists(deals)) | Q(partner__id=partner)

    return scoped(Account.objects.all(), user, partner_scope)


def visible_contacts(user) -> QuerySet:
    def partner_scope(_partner: int) -> Q:
        deals = account_deals().visible(user).filter(account=OuterRef("account_id"))
        return Q(Exists(deals))

    return scoped(Contact.objects.all(), user, partner_scope)


def visible_partners(user) -> QuerySet:
    return scoped(Partner.objects.all(), user, lambda partner: Q(pk=partner))
