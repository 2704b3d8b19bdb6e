"""Reads on leads, always starting from what the user may see."""

from typing import Protocol

from django.db.models import Min, OuterRef, Q, QuerySet, Subquery

from accounts.models import Contact
from accounts.visibility import visible_accounts, visible_contacts
from climcrm.text import FREEMAIL_DOMAINS, email_domain, normalize_company_name
from climcrm.visibility import get_visible_or_404
from leads.filters import LeadFilter
from leads.first_contact import awaiting_first_contact, contacts_done
from leads.models import Lead
from leads.visibility import visible_leads

DUPLICATE_LIMIT = 10


class LeadLike(Protocol):
    """What the duplicate finders read of a lead: a deal registration read as a lead has
    the same two fields."""

    company: str
    email: str


def lead_list(*, user, params=None) -> LeadFilter:
    """The user's leads filtered and sorted by ``params`` (the query string)."""
    queryset = visible_leads(user).select_related("owner", "partner__account")
    return LeadFilter(params or None, queryset=queryset, user=user)


def lead_get(*, user, pk) -> Lead:
    queryset = visible_leads(user).select_related(
        "owner",
        "partner__account",
        "converted_account",
        "converted_contact",
        "converted_opportunity",
    )
    return get_visible_or_404(queryset, pk=pk)


def lead_status_changes(*, lead: Lead) -> QuerySet:
    return lead.status_changes.select_related("changed_by").order_by("changed_at", "pk")


def lead_activities(*, lead: Lead) -> QuerySet:
    """The lead's activities; ``lead`` is one the user sees (``lead_detail``), and whoever
    sees a lead sees all its activities (``activities.visibility``)."""
    return (
        lead.activities.all().select_related("assignee").order_by("done", "due_date", "-created_at")
    )


def company_domain(lead: LeadLike) -> str:
    """The lead's email domain when it says which company it is (not a freemail)."""
    domain = email_domain(lead.email)
    return "" if not domain or domain in FREEMAIL_DOMAINS else domain


def likely_duplicate_accounts(*, user, lead: LeadLike) -> QuerySet:
    """Accounts with the same normalised name, or whose website or contacts share the
    lead's email domain."""
    condition = Q(pk__in=[])
    normalized = normalize_company_name(lead.company) if lead.company else ""
    if normalized:
        condition |= Q(normalized_name=normalized)
    domain = company_domain(lead)
    if domain:
        domain_contacts = Contact.objects.filter(email__iendswith=f"@{domain}").values("account_id")
        condition |= Q(website__iregex=rf"^(https?://)?(www\.)?{_regex_escape(domain)}(/|$)") | Q(
            pk__in=domain_contacts
        )
    return visible_accounts(user).filter(condition).order_by("name")[:DUPLICATE_LIMIT]


def likely_duplicate_contacts(*, user, lead: Lead) -> QuerySet:
    if not lead.email:
        return Contact.objects.none()
    return (
        visible_contacts(user)
        .filter(email__iexact=lead.email)
        .select_related("account")
        .order_by("last_name")[:DUPLICATE_LIMIT]
    )


def conversion_account_choices(*, user) -> QuerySet:
    return visible_accounts(user)


def conversion_contact_choices(*, user) -> QuerySet:
    return visible_contacts(user).select_related("account")


def _regex_escape(text: str) -> str:
    return "".join("\\" + ch if not ch.isalnum() and ch != "-" else ch for ch in text)


# --- first contact (seed 001: the speed of the first engagement) ------------------------


def first_contact_subquery(outer: str = "pk") -> Subquery:
    """When the lead ``outer`` was first contacted (the earliest contact done), or NULL."""
    contacts = (
        contacts_done()
        .filter(lead_id=OuterRef(outer))
        .order_by()
        .values("lead_id")
        .annotate(first=Min("done_at"))
        .values("first")[:1]
    )
    return Subquery(contacts)


def leads_awaiting_first_contact(*, user, limit: int = 10) -> QuerySet:
    """The user's open leads no one has contacted yet, the longest waiting first."""
    return awaiting_first_contact(visible_leads(user).filter(owner=user)).order_by(
        "created_at", "pk"
    )[:limit]
