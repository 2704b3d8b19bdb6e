"""The deals a user sees (see ``climcrm.visibility``)."""

from django.db.models import Q, QuerySet

from accounts.deals import AccountDeals, provide
from climcrm.visibility import scoped
from opportunities.models import OPEN_STAGES, Opportunity, Stage


def visible_opportunities(user) -> QuerySet:
    return scoped(Opportunity.objects.all(), user, lambda partner: Q(partner_id=partner))


def provide_account_deals() -> None:
    """Hand the account pages the deals they read (``accounts.deals``): the accounts sit
    below the deals and import nothing from them."""
    provide(
        AccountDeals(
            visible=visible_opportunities,
            open=Q(stage__in=OPEN_STAGES),
            won=Q(stage=Stage.CLOSED_WON),
        )
    )
