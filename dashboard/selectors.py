"""Reads for the home page of each role and the global search."""

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db.models import Count, DecimalField, Exists, OuterRef, Q, Sum, Value
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone

from accounts.visibility import visible_accounts, visible_contacts, visible_partners
from activities.visibility import visible_activities
from climcrm.models import User
from climcrm.periods import QUARTER, period_containing
from climcrm.roles import is_admin, is_channel_manager, is_internal, is_manager, is_partner_user
from climcrm.search import best_matches, contains
from forecasting.reports.forecast import forecast_report, scope_forecast
from forecasting.scopes import PARTNER, REP, TEAM, Scope
from leads.selectors import leads_awaiting_first_contact
from leads.visibility import visible_leads
from opportunities.amounts import pipeline_by_stage
from opportunities.filters import attention_conditions
from opportunities.models import OPEN_STAGES, ForecastCategory, Stage
from opportunities.visibility import visible_opportunities
from partners.models import DealRegistration, RegistrationStatus
from pipeline_reviews.models import Review

SEARCH_LIMIT = 8


@dataclass
class SearchHit:
    kind: str
    label: str
    detail: str
    url: str


ATTENTION_LIMIT = 10
TASK_LIMIT = 10


def _attention_deals(open_deals, *, today):
    """Open deals past their close date, or untouched (no activity, no stage change) for
    ``CRM_STALE_DAYS``: the first ones by close date and how many there are (two queries)."""
    overdue, stale = attention_conditions(today=today)
    deals = (
        open_deals.filter(overdue | stale)
        .annotate(is_overdue=overdue, is_stale=stale)
        .select_related("account", "owner")
        .order_by("close_date", "pk")
    )
    return {
        "deals": list(deals[:ATTENTION_LIMIT]),
        "count": deals.count(),
        "stale_days": settings.CRM_STALE_DAYS,
    }


def _tasks_due(activities, *, today):
    """To-dos not done, due within a week (or overdue): the first ones and the count."""
    due = (
        activities.filter(done=False, due_date__lte=today + timedelta(days=7))
        .select_related("opportunity", "lead", "account", "assignee")
        .order_by("due_date", "pk")
    )
    return {"items": list(due[:TASK_LIMIT]), "count": due.count()}


def _registrations_waiting(user):
    """Deal registrations submitted to this channel manager."""
    waiting = DealRegistration.objects.filter(status=RegistrationStatus.SUBMITTED).select_related(
        "partner__account"
    )
    if not is_admin(user):
        waiting = waiting.filter(partner__channel_manager=user)
    waiting = waiting.order_by("submitted_at", "pk")
    return {"items": list(waiting[:TASK_LIMIT]), "count": waiting.count()}


def _partner_pipelines(user, *, period):
    """Per managed partner: open pipeline, weighted, commit of the quarter and whether this
    month's partner review is still to be held (one query)."""
    partners = visible_partners(user).filter(is_active=True)
    if not is_admin(user):
        partners = partners.filter(channel_manager=user)
    month_start = timezone.localdate().replace(day=1)
    review_held = Review.objects.filter(
        partner_id=OuterRef("pk"), kind="monthly_partner", period_start=month_start
    )
    open_q = Q(opportunities__stage__in=OPEN_STAGES)
    in_quarter = Q(
        opportunities__close_date__gte=period.start, opportunities__close_date__lt=period.end
    )
    zero = Value(0)
    money = DecimalField(max_digits=18, decimal_places=2)
    return list(
        partners.select_related("account")
        .annotate(
            open_count=Count("opportunities", filter=open_q),
            open_amount=Coalesce(
                Sum("opportunities__amount", filter=open_q), zero, output_field=money
            ),
            commit_amount=Coalesce(
                Sum(
                    "opportunities__amount",
                    filter=open_q
                    & in_quarter
                    & Q(opportunities__forecast_category=ForecastCategory.COMMIT),
                ),
                zero,
                output_field=money,
            ),
            won_amount=Coalesce(
                Sum(
                    "opportunities__amount",
                    filter=in_quarter & Q(opportunities__stage=Stage.CLOSED_WON),
                ),
                zero,
                output_field=money,
            ),
            review_due=~Exists(review_held),
        )
        .order_by("account__name")
    )


def dashboard_context(*, user) -> dict:
    """The home page of each role, a fixed number of queries whatever the data size.

    Everyone internal gets their own open deals by stage, tasks due within a week, their
    quarter forecast and the deals needing attention; a manager also their team's; a
    channel manager the registrations waiting, the partners whose monthly review is due
    and the partners' pipelines; a partner user their partner's pipeline and to-dos.
    """
    today = timezone.localdate()
    quarter = period_containing(QUARTER, today)
    context: dict = {"today": today, "quarter": quarter, "sections": []}
    deals = visible_opportunities(user)
    if is_partner_user(user):
        open_deals = deals.filter(stage__in=OPEN_STAGES)
        context["partner"] = {
            "by_stage": [row for row in pipeline_by_stage(open_deals) if row["count"]],
            "forecast": scope_forecast(
                user=user, period=quarter, scope=Scope(PARTNER, user.partner_id)
            ),
            "tasks": _tasks_due(
                visible_activities(user).filter(Q(assignee=user) | Q(assignee__isnull=True)),
                today=today,
            ),
            "attention": _attention_deals(open_deals, today=today),
        }
        context["sections"].append("partner")
        return context
    if not is_internal(user):
        return context
    mine = deals.filter(owner=user, stage__in=OPEN_STAGES)
    context["mine"] = {
        "by_stage": [row for row in pipeline_by_stage(mine) if row["count"]],
        "tasks": _tasks_due(visible_activities(user).filter(assignee=user), today=today),
        "forecast": scope_forecast(user=user, period=quarter, scope=Scope(REP, user.pk)),
        "attention": _attention_deals(mine, today=today),
        # Seed 001: the speed of the first contact makes the hunter (one query).
        "first_contact": list(leads_awaiting_first_contact(user=user)),
    }
    context["sections"].append("mine")
    if is_manager(user) and User.objects.filter(manager=user).exists():
        team_deals = deals.filter(owner__manager=user, stage__in=OPEN_STAGES)
        team_scope = Scope(TEAM, user.pk)
        context["team"] = {
            "by_stage": [row for row in pipeline_by_stage(team_deals) if row["count"]],
            "tasks": _tasks_due(
                visible_activities(user).filter(assignee__manager=user), today=today
            ),
            "forecast": forecast_report(user=user, period=quarter, group=REP, scope=team_scope),
            "attention": _attention_deals(team_deals, today=today),
        }
        context["sections"].append("team")
    if is_channel_manager(user):
        pipelines = _partner_pipelines(user, period=quarter)
        context["channel"] = {
            "registrations": _registrations_waiting(user),
            "partners": pipelines,
            "reviews_due": [partner for partner in pipelines if partner.review_due],
        }
        context["sections"].append("channel")
    return context


def global_search(*, user, query: str) -> list[SearchHit]:
    if len(query) < 2:
        return []
    hits: list[SearchHit] = []
    accounts = best_matches(
        visible_accounts(user).filter(name__icontains=query),
        value=query,
        fields=("name",),
        ordering=("name", "pk"),
    )
    for account in accounts[:SEARCH_LIMIT]:
        hits.append(
            SearchHit(
                "account", account.name, account.city, reverse("accounts:detail", args=[account.pk])
            )
        )
    contacts = best_matches(
        visible_contacts(user).filter(contains(query, "last_name", "first_name", "email")),
        value=query,
        fields=("last_name", "first_name"),
        ordering=("last_name", "pk"),
    ).select_related("account")
    for contact in contacts[:SEARCH_LIMIT]:
        hits.append(
            SearchHit(
                "contact",
                contact.full_name,
                f"{contact.email} · {contact.account.name}",
                reverse("accounts:contact-detail", args=[contact.pk]),
            )
        )
    deals = best_matches(
        visible_opportunities(user).filter(name__icontains=query),
        value=query,
        fields=("name",),
        ordering=("-created_at", "-pk"),
    ).select_related("account")
    for deal in deals[:SEARCH_LIMIT]:
        hits.append(
            SearchHit(
                "opportunity",
                deal.name,
                f"{deal.account.name} · {deal.get_stage_display()}",
                reverse("opportunities:detail", args=[deal.pk]),
            )
        )
    leads = best_matches(
        visible_leads(user).filter(contains(query, "last_name", "company", "email")),
        value=query,
        fields=("last_name", "company"),
        ordering=("-created_at", "-pk"),
    )
    for lead in leads[:SEARCH_LIMIT]:
        try:
            url = reverse("leads:detail", args=[lead.pk])
        except Exception:  # noqa: BLE001 - the leads pages may be switched off
            continue
        hits.append(SearchHit("lead", str(lead), lead.get_status_display(), url))
    return hits
