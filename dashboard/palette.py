"""The command palette's entries: quick actions, the pages of the menu and the records the
user may see (the global search, so the same visibility)."""

import unicodedata
from dataclasses import dataclass, field

from django.http import HttpRequest
from django.urls import NoReverseMatch, Resolver404, resolve, reverse
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from climcrm.roles import is_internal, is_partner_user
from dashboard.selectors import global_search

# Pages whose activity panel takes a new to-do from the palette.
PAGES_WITH_ACTIVITIES = {"opportunities:detail", "leads:detail", "accounts:detail"}


@dataclass
class Entry:
    label: str
    url: str = ""
    icon: str = "arrow-right"
    detail: str = ""
    # "" follows the link; "shortcuts" shows the keyboard shortcuts; "focus" puts the
    # cursor in the element ``target`` names on the current page.
    action: str = ""
    target: str = ""


@dataclass
class Group:
    label: str
    entries: list[Entry] = field(default_factory=list)


def fold(text: str) -> str:
    """Lower case without accents: "opportunite" finds "Opportunités"."""
    decomposed = unicodedata.normalize("NFKD", str(text))
    return "".join(char for char in decomposed if not unicodedata.combining(char)).casefold()


def _url(name: str) -> str:
    try:
        return reverse(name)
    except NoReverseMatch:
        return ""


def _current_page(path: str) -> str:
    try:
        match = resolve(path or "")
    except Resolver404:
        return ""
    return match.view_name


def _actions(request: HttpRequest, current_path: str) -> list[Entry]:
    user = request.user
    actions = []
    if _current_page(current_path) in PAGES_WITH_ACTIVITIES:
        actions.append(
            Entry(
                _("New to-do on this page"),
                icon="list-checks",
                action="focus",
                target=".activity-add [name=subject]",
            )
        )
    actions.append(Entry(_("New lead"), _url("leads:create"), "user-round-plus"))
    if is_internal(user):
        actions.append(Entry(_("New opportunity"), _url("opportunities:create"), "plus"))
        actions.append(Entry(_("New account"), _url("accounts:create"), "building-2"))
    if is_partner_user(user):
        actions.append(
            Entry(_("New deal registration"), _url("partners:registration-create"), "plus")
        )
    actions.append(Entry(_("Keyboard shortcuts"), icon="keyboard", action="shortcuts"))
    return [action for action in actions if action.url or action.action]


def _pages(request: HttpRequest) -> list[Entry]:
    from climcrm.context_processors import navigation

    items = navigation(request).get("nav_items", [])
    return [Entry(str(item["label"]), item["url"], item["icon"]) for item in items]


RECORD_ICONS = {
    "account": "building-2",
    "contact": "contact",
    "opportunity": "briefcase-business",
    "lead": "user-round-plus",
}


def _record_kind_label(kind: str) -> str:
    return {
        "account": _("Account"),
        "contact": _("Contact"),
        "opportunity": _("Opportunity"),
        "lead": _("Lead"),
    }[kind]


def palette_groups(*, request: HttpRequest, query: str, current_path: str = "") -> list[Group]:
    """The palette's groups for what was typed: matching actions and pages, then the
    matching records (from two characters on, as the search page)."""
    wanted = fold(query.strip())
    groups = [
        Group(pgettext("command palette", "Actions"), _actions(request, current_path)),
        Group(pgettext("command palette", "Go to"), _pages(request)),
    ]
    for group in groups:
        group.entries = [entry for entry in group.entries if wanted in fold(entry.label)]
    hits = global_search(user=request.user, query=query.strip())
    if hits:
        groups.append(
            Group(
                pgettext("command palette", "Records"),
                [
                    Entry(
                        hit.label,
                        hit.url,
                        RECORD_ICONS.get(hit.kind, "search"),
                        detail=f"{_record_kind_label(hit.kind)} · {hit.detail}",
                    )
                    for hit in hits
                ],
            )
        )
    return [group for group in groups if group.entries]
