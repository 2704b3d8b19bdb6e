from typing import Any

from django.conf import settings
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from climcrm.roles import is_admin, is_internal, is_manager, is_partner_user

# Groups of the side navigation: (label or None, [(url name, label, icon, who sees it)]).
_NAV = [
    (
        None,
        [
            ("dashboard", _("Dashboard"), "layout-dashboard", "all"),
            ("partners:portal", _("Partner portal"), "store", "partner"),
            ("activities:my-tasks", _("My tasks"), "list-checks", "all"),
        ],
    ),
    (
        pgettext_lazy("navigation group", "Sales"),
        [
            ("leads:list", _("Leads"), "user-round-plus", "all"),
            ("accounts:list", _("Accounts"), "building-2", "internal"),
            ("accounts:contact-list", _("Contacts"), "contact", "internal"),
            ("opportunities:list", _("Opportunities"), "briefcase-business", "all"),
            ("opportunities:kanban", pgettext_lazy("board", "Pipeline"), "square-kanban", "all"),
            ("imports:start", _("Import"), "upload", "manager"),
        ],
    ),
    (
        pgettext_lazy("navigation group", "Steering"),
        [
            ("forecasting:forecast", _("Forecast"), "chart-line", "internal"),
            ("pipeline_reviews:list", _("Reviews"), "calendar-check", "all"),
            ("partners:list", _("Partners"), "handshake", "internal"),
        ],
    ),
]

# URL names that belong to another entry than their namespace's list: the board's column
# and move pages are the board, not the opportunity list; the forecast's other reports
# are the forecast.
_SECTION_OF = {
    "opportunities:kanban-column": "opportunities:kanban",
    "opportunities:kanban-move": "opportunities:kanban",
    "partners:registration-queue": "partners:list",
    "partners:registration-detail": "partners:list",
    "partners:registration-create": "partners:list",
    "partners:registration-edit": "partners:list",
    "partners:assign": "partners:list",
    "partners:assign-one": "partners:list",
    "partners:detail": "partners:list",
}
_PARTNER_SECTION_OF = {
    # A partner user's registrations and deals are reached from their portal.
    "partners:registration-queue": "partners:portal",
    "partners:registration-detail": "partners:portal",
    "partners:registration-create": "partners:portal",
    "partners:registration-edit": "partners:portal",
}
THEMES = ("light", "dark")


def active_entry(current_name: str, entry_names: list[str], *, partner: bool = False) -> str:
    """The one navigation entry a page belongs to: its own name, a section it was mapped
    to, else the entry of its namespace (the namespace's list, or its only entry)."""
    if current_name in entry_names:
        return current_name
    mapped = (_PARTNER_SECTION_OF if partner else {}).get(current_name) or _SECTION_OF.get(
        current_name
    )
    if mapped in entry_names:
        return mapped
    if ":" not in current_name:
        return ""
    namespace = current_name.split(":")[0]
    same = [name for name in entry_names if name.split(":")[0] == namespace]
    lists = [name for name in same if name.endswith(":list")]
    if lists:
        return lists[0]
    return same[0] if len(same) == 1 else ""


def navigation(request):
    user = getattr(request, "user", None)
    theme = request.COOKIES.get("theme") if request is not None else None

    ui = {
        "crm_currency": settings.CRM_CURRENCY,
        "ui_theme": theme if theme in THEMES else "",
        "ui_sidebar_collapsed": request is not None
        and request.COOKIES.get("sidebar") == "collapsed",
    }
    if user is None or not user.is_authenticated:
        return ui

    partner = is_partner_user(user)
    internal = is_internal(user)
    current = request.resolver_match
    current_name = (
        f"{current.namespace}:{current.url_name}"
        if current and current.namespace
        else (current.url_name if current else "")
    )
    groups: list[dict[str, Any]] = []
    for group_label, entries in _NAV:
        items: list[dict[str, Any]] = []
        for name, label, icon, who in entries:
            if who == "internal" and (partner or not internal):
                continue
            if who == "partner" and not partner:
                continue
            if who == "manager" and not is_manager(user):
                continue
            try:
                url = reverse(name)
            except NoReverseMatch:
                continue
            items.append({"name": name, "url": url, "label": label, "icon": icon})
        if items:
            groups.append({"label": group_label, "items": items})
    names = [item["name"] for group in groups for item in group["items"]]
    active = active_entry(current_name, names, partner=partner)
    for group in groups:
        for item in group["items"]:
            item["active"] = item["name"] == active
    return {
        **ui,
        "nav_groups": groups,
        "nav_items": [item for group in groups for item in group["items"]],
        "nav_show_admin": is_admin(user) and user.is_staff,
        "nav_show_style": user.is_staff,
        "nav_can_import": is_manager(user),
        "user_is_partner": partner,
        "user_is_internal": internal,
    }
