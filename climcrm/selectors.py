"""Reads for the core pages: dashboard and global search."""

from dataclasses import dataclass

from django.db.models import Count, DecimalField, ExpressionWrapper, F, Q, Sum, Value
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone

from climcrm.roles import is_partner_user
from climcrm.visibility import (
    visible_accounts,
    visible_contacts,
    visible_leads,
    visible_opportunities,
)

SEARCH_LIMIT = 8


@dataclass
class SearchHit:
    kind: str
    label: str
    detail: str
    url: str


def weighted_amount_expression():
    return ExpressionWrapper(
        Coalesce(F("amount"), Value(0)) * F("probability") / Value(100),
        output_field=DecimalField(max_digits=16, decimal_places=2),
    )


def pipeline_by_stage(queryset) -> list[dict]:
    """Count, amount and weighted amount per stage, in stage order, computed in SQL."""
    from opportunities.models import Stage

    rows = {
        row["stage"]: row
        for row in queryset.values("stage").annotate(
            count=Count("id"),
            total=Coalesce(Sum("amount"), Value(0), output_field=DecimalField()),
            weighted=Coalesce(
                Sum(weighted_amount_expression()), Value(0), output_field=DecimalField()
            ),
        )
    }
    return [
        {
            "stage": stage,
            "label": label,
            "count": rows.get(stage, {}).get("count", 0),
            "total": rows.get(stage, {}).get("total", 0),
            "weighted": rows.get(stage, {}).get("weighted", 0),
        }
        for stage, label in Stage.choices
    ]


def dashboard_context(*, user) -> dict:
    from opportunities.models import OPEN_STAGES

    deals = visible_opportunities(user)
    if not is_partner_user(user):
        deals = deals.filter(owner=user)
    open_deals = deals.filter(stage__in=OPEN_STAGES)
    today = timezone.localdate()
    overdue = (
        open_deals.filter(close_date__lt=today)
        .select_related("account")
        .order_by("close_date")[:10]
    )
    return {
        "by_stage": [row for row in pipeline_by_stage(open_deals) if row["count"]],
        "overdue_deals": overdue,
        "today": today,
    }


def global_search(*, user, query: str) -> list[SearchHit]:
    if len(query) < 2:
        return []
    hits: list[SearchHit] = []
    for account in (
        visible_accounts(user).filter(name__icontains=query).order_by("name")[:SEARCH_LIMIT]
    ):
        hits.append(
            SearchHit(
                "account", account.name, account.city, reverse("accounts:detail", args=[account.pk])
            )
        )
    contacts = (
        visible_contacts(user)
        .filter(
            Q(last_name__icontains=query)
            | Q(first_name__icontains=query)
            | Q(email__icontains=query)
        )
        .select_related("account")
        .order_by("last_name")[:SEARCH_LIMIT]
    )
    for contact in contacts:
        hits.append(
            SearchHit(
                "contact",
                contact.full_name,
                f"{contact.email} · {contact.account.name}",
                reverse("accounts:contact-detail", args=[contact.pk]),
            )
        )
    deals = (
        visible_opportunities(user)
        .filter(name__icontains=query)
        .select_related("account")
        .order_by("-created_at")[:SEARCH_LIMIT]
    )
    for deal in deals:
        hits.append(
            SearchHit(
                "opportunity",
                deal.name,
                f"{deal.account.name} · {deal.get_stage_display()}",
                reverse("opportunities:detail", args=[deal.pk]),
            )
        )
    leads = (
        visible_leads(user)
        .filter(
            Q(last_name__icontains=query) | Q(company__icontains=query) | Q(email__icontains=query)
        )
        .order_by("-created_at")[:SEARCH_LIMIT]
    )
    for lead in leads:
        try:
            url = reverse("leads:detail", args=[lead.pk])
        except Exception:  # noqa: BLE001 - the leads pages may be switched off
            continue
        hits.append(SearchHit("lead", str(lead), lead.get_status_display(), url))
    return hits
