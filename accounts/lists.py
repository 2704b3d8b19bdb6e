"""The account list keeps saved views (``climcrm.saved_views``)."""

from accounts.filters import AccountFilter
from accounts.selectors import ACCOUNT_ORDERINGS
from accounts.visibility import visible_accounts
from climcrm.models import SavedView
from climcrm.saved_views import ListSpec, register_list


def _filterset(params, request):
    return AccountFilter(params, queryset=visible_accounts(request.user))


def register() -> None:
    register_list(
        SavedView.List.ACCOUNTS,
        ListSpec("accounts:list", _filterset, lambda: ACCOUNT_ORDERINGS, "-updated"),
    )
