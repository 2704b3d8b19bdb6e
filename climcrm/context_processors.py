from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from climcrm.roles import is_admin, is_internal, is_partner_user

# (url name, label, who sees it)
_NAV = [
    ("dashboard", _("Dashboard"), "all"),
    ("leads:list", _("Leads"), "all"),
    ("accounts:list", _("Accounts"), "internal"),
    ("accounts:contact-list", _("Contacts"), "internal"),
    ("opportunities:list", _("Opportunities"), "all"),
    ("opportunities:kanban", pgettext_lazy("board", "Pipeline"), "all"),
    ("partners:portal", _("Partner portal"), "partner"),
    ("activities:my-tasks", _("My tasks"), "all"),
    ("forecasting:forecast", _("Forecast"), "internal"),
    ("pipeline_reviews:list", _("Reviews"), "all"),
    ("partners:list", _("Partners"), "internal"),
]


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    from django.urls import NoReverseMatch, reverse

    partner = is_partner_user(user)
    internal = is_internal(user)
    items = []
    current = request.resolver_match
    current_name = (
        f"{current.namespace}:{current.url_name}"
        if current and current.namespace
        else (current.url_name if current else "")
    )
    for name, label, who in _NAV:
        if who == "internal" and (partner or not internal):
            continue
        if who == "partner" and not partner:
            continue
        try:
            url = reverse(name)
        except NoReverseMatch:
            continue
        namespace = name.split(":")[0]
        active = current_name == name or (
            ":" in name and current_name.split(":")[0] == namespace and name.endswith(":list")
        )
        items.append({"url": url, "label": label, "active": active})
    return {
        "nav_items": items,
        "nav_show_admin": is_admin(user) and user.is_staff,
        "user_is_partner": partner,
        "user_is_internal": internal,
    }
