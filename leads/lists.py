"""The lead list keeps saved views (``climcrm.saved_views``)."""

from climcrm.models import SavedView
from climcrm.saved_views import ListSpec, register_list
from leads.selectors import lead_list


def _filterset(params, request):
    return lead_list(user=request.user, params=params)


def register() -> None:
    register_list(SavedView.List.LEADS, ListSpec("leads:list", _filterset, None, "-updated"))
