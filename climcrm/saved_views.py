"""Saved views: a list's filters and sort kept under a name, personal or shared with the team.

A view stores only a query string, cleaned by the list's own filter set when it is saved
(unknown or refused parameters are dropped, invalid values refused) and applied by the same
filter set, on the user's visible records, when it is opened: a view can narrow a list, never
widen it. The lists' modules are imported when a view is checked, not by this module.
"""

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.http import HttpRequest, QueryDict
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _

from climcrm.models import DefaultView, SavedView, User
from climcrm.roles import is_channel_manager, is_internal, is_manager, is_partner_user
from climcrm.visibility import get_visible_or_404

# Parameters that never belong to a view: the page shown, and the "no view" switch.
IGNORED_PARAMS = ("page", "view")
# ``?view=none`` opens a list without the user's default view.
NO_VIEW_QUERY = "view=none"


@dataclass(frozen=True)
class ListSpec:
    url_name: str
    # (params, request) → a bound filter set over the user's visible records.
    filterset: Callable
    # Sort keys accepted in "ordering" (without the "-"), or None when the filter set
    # sorts itself (an OrderingFilter among its filters).
    orderings: Callable | None
    # The sort key of "recently changed" first.
    recent: str


# The lists that keep saved views, registered by their apps in ``AppConfig.ready()``
# (``register_list``): the core knows none of them.
LISTS: dict[str, ListSpec] = {}


def register_list(list_name: str, spec: ListSpec) -> None:
    """Make a list keep saved views (its app calls this once, when it is ready)."""
    LISTS[list_name] = spec


def list_url(list_name: str, query: str = "") -> str:
    url = reverse(LISTS[list_name].url_name)
    return f"{url}?{query}" if query else url


def clean_query(*, list_name: str, request: HttpRequest, query: str) -> str:
    """The query string as the list's filters accept it for this user: parameters the list
    does not know (or hides from this user, such as the owner and partner pickers of a
    partner user) are dropped, empty ones too; an invalid value is refused."""
    spec = LISTS[list_name]
    params = QueryDict(query or "")
    filterset = spec.filterset(params, request)
    known = set(filterset.form.fields)
    kept = QueryDict(mutable=True)
    for key in sorted(params):
        if key in IGNORED_PARAMS:
            continue
        values = [value for value in params.getlist(key) if value.strip()]
        if not values:
            continue
        if key == "ordering" and spec.orderings is not None:
            if values[0].lstrip("-") in spec.orderings():
                kept.setlist(key, values[:1])
            continue
        if key in known:
            kept.setlist(key, values)
    if not kept:
        return ""
    filterset = spec.filterset(kept, request)
    if not filterset.form.is_valid():
        raise ValidationError(_("These filters are not valid: correct them before saving."))
    return kept.urlencode()


def same_query(first: str, second: str) -> bool:
    """Whether two query strings ask for the same filters (order and the page aside)."""

    def normal(query: str) -> list:
        params = QueryDict(query or "")
        return sorted(
            (key, sorted(params.getlist(key))) for key in params if key not in IGNORED_PARAMS
        )

    return normal(first) == normal(second)


# --------------------------------------------------------------------------- selectors


def _team_q(user: User) -> Q:
    """The owners whose shared views this user is offered: the same partner's users for a
    partner user, the internal users for an internal user."""
    if is_partner_user(user):
        return Q(owner__partner_id=user.partner_id)
    if is_internal(user):
        return Q(owner__partner__isnull=True) & ~Q(owner__groups__name="partner_user")
    return Q(pk__in=[])


def visible_saved_views(user: User) -> QuerySet:
    """The user's own views and the views their team shares."""
    if not (is_internal(user) or is_partner_user(user)):
        return SavedView.objects.none()
    shared = SavedView.objects.filter(shared=True).filter(_team_q(user)).values("pk")
    return SavedView.objects.filter(Q(owner=user) | Q(pk__in=shared))


def saved_view_get(*, user: User, pk) -> SavedView:
    return get_visible_or_404(visible_saved_views(user), pk=pk)


def owned_saved_view_get(*, user: User, pk) -> SavedView:
    """A view the user may change: their own (a team's shared view is read only)."""
    return get_visible_or_404(SavedView.objects.filter(owner=user), pk=pk)


@dataclass
class ViewMenu:
    mine: list
    shared: list
    default_id: int | None


def saved_view_menu(*, user: User, list_name: str) -> ViewMenu:
    """The views of one list for the menu: the user's, then the team's (two queries)."""
    views = list(visible_saved_views(user).filter(list_name=list_name).select_related("owner"))
    default = (
        DefaultView.objects.filter(user=user, list_name=list_name)
        .values_list("view_id", flat=True)
        .first()
    )
    return ViewMenu(
        mine=[view for view in views if view.owner_id == user.pk],
        shared=[view for view in views if view.owner_id != user.pk],
        default_id=default,
    )


def suggested_views(*, user: User, list_name: str) -> list[tuple[str, str]]:
    """Ready-made views of the deal list and the board by role: (label, query string)."""
    if list_name not in (SavedView.List.OPPORTUNITIES, SavedView.List.BOARD):
        return []
    if not is_internal(user):
        return []
    views = [(_("My deals"), "mine=on")]
    if is_manager(user):
        views.append((_("My team's deals"), "team=1"))
    if is_channel_manager(user):
        views.append((_("My partners"), "my_partners=1"))
    return views


# The query strings of the user's default views, by list, kept in the session: a list page
# opened bare redirects to its default without a query of its own. Filled at login and again
# whenever the user's views or defaults change or the views menu is read (a teammate may
# have unshared or deleted a shared default meanwhile).
SESSION_KEY = "climcrm_default_views"


def default_queries(*, user: User) -> dict[str, str]:
    """The query string of the user's default view of each list, among the views they
    still may see (one query)."""
    return dict(
        DefaultView.objects.filter(user=user, view__in=visible_saved_views(user)).values_list(
            "list_name", "view__query"
        )
    )


def remember_defaults(request: HttpRequest, user: User | None = None) -> dict[str, str]:
    defaults = default_queries(user=user or request.user)  # type: ignore[arg-type]
    if request.session.get(SESSION_KEY) != defaults:
        request.session[SESSION_KEY] = defaults
    return defaults


def default_query(*, request: HttpRequest, list_name: str) -> str:
    defaults = request.session.get(SESSION_KEY)
    if defaults is None:
        defaults = remember_defaults(request)
    return defaults.get(list_name, "")


# --------------------------------------------------------------------------- services


def saved_view_create(
    *, owner: User, request: HttpRequest, list_name: str, name: str, query: str, shared: bool
) -> SavedView:
    name = (name or "").strip()
    if not name:
        raise ValidationError(_("Give the view a name."))
    cleaned = clean_query(list_name=list_name, request=request, query=query)
    try:
        with transaction.atomic():
            return SavedView.objects.create(
                owner=owner, list_name=list_name, name=name, query=cleaned, shared=shared
            )
    except IntegrityError as error:
        raise ValidationError(
            _("You already have a view named “%(name)s” on this list.") % {"name": name}
        ) from error


def saved_view_update(*, view: SavedView, name: str, shared: bool) -> SavedView:
    name = (name or "").strip()
    if not name:
        raise ValidationError(_("Give the view a name."))
    clash = (
        SavedView.objects.filter(owner_id=view.owner_id, list_name=view.list_name, name=name)
        .exclude(pk=view.pk)
        .exists()
    )
    if clash:
        raise ValidationError(
            _("You already have a view named “%(name)s” on this list.") % {"name": name}
        )
    with transaction.atomic():
        view = SavedView.objects.select_for_update().get(pk=view.pk)
        view.name = name
        view.shared = shared
        view.save(update_fields=["name", "shared", "updated_at"])
        if not shared:
            # Unshared: it can no longer be anyone else's default.
            DefaultView.objects.filter(view=view).exclude(user_id=view.owner_id).delete()
    return view


def saved_view_delete(*, view: SavedView) -> None:
    with transaction.atomic():
        view.delete()


def saved_view_set_default(*, user: User, view: SavedView | None, list_name: str) -> None:
    """Make ``view`` the list's default for the user, or remove the default (None)."""
    with transaction.atomic():
        if view is None:
            DefaultView.objects.filter(user=user, list_name=list_name).delete()
            return
        DefaultView.objects.update_or_create(
            user=user, list_name=list_name, defaults={"view": view}
        )


# --------------------------------------------------------------------------- list pages


def opens_default_view(list_name: str):
    """A list page opened without any parameter shows the user's default view (a
    redirect, so the address says which filters apply); ``?view=none`` opens it bare."""

    def decorator(view_func):
        @wraps(view_func)
        def wrapper(request, *args, **kwargs):
            if (
                request.method == "GET"
                and not request.GET
                and not getattr(request, "htmx", False)
                and request.user.is_authenticated
            ):
                query = default_query(request=request, list_name=list_name)
                if query:
                    return redirect(list_url(list_name, query))
            return view_func(request, *args, **kwargs)

        return wrapper

    return decorator
