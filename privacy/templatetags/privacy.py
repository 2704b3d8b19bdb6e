"""`{% load privacy %}{% anonymise_link contact %}` / `{% anonymise_link lead %}` on a detail
page: a link to the anonymisation page, shown only to who may use it."""

from django import template
from django.urls import reverse

from climcrm.roles import is_admin
from privacy.services import can_anonymise

register = template.Library()


@register.inclusion_tag("privacy/anonymise_link.html", takes_context=True)
def anonymise_link(context, obj):
    request = context.get("request")
    user = getattr(request, "user", None)
    kind = obj._meta.model_name
    url = None
    if user is not None and kind in ("contact", "lead") and can_anonymise(user):
        url = reverse(f"privacy:anonymise-{kind}", args=[obj.pk])
    return {"url": url, "anonymised_at": getattr(obj, "anonymised_at", None)}


@register.simple_tag(takes_context=True)
def audit_log_url(context) -> str:
    """The audit log's address for administrators, "" for everyone else."""

    request = context.get("request")
    user = getattr(request, "user", None)
    return reverse("privacy:audit-log") if user is not None and is_admin(user) else ""
