"""The opportunity list and the board keep saved views (``climcrm.saved_views``): the
filters that clean a view's query, over the records the user may see."""

from climcrm.models import SavedView
from climcrm.saved_views import ListSpec, register_list
from opportunities.filters import OpportunityListFilter
from opportunities.kanban import BoardFilter
from opportunities.selectors import OPPORTUNITY_ORDERINGS, opportunity_base_queryset


def _list_filterset(params, request):
    return OpportunityListFilter(
        params, queryset=opportunity_base_queryset(request.user), request=request
    )


def _board_filterset(params, request):
    return BoardFilter(params, queryset=opportunity_base_queryset(request.user), request=request)


def register() -> None:
    register_list(
        SavedView.List.OPPORTUNITIES,
        ListSpec("opportunities:list", _list_filterset, lambda: OPPORTUNITY_ORDERINGS, "-updated"),
    )
    register_list(
        SavedView.List.BOARD, ListSpec("opportunities:kanban", _board_filterset, None, "")
    )
