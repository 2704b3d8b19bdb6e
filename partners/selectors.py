"""Reads of the partner channel; every one starts from the user's visible querysets."""

import datetime
from types import SimpleNamespace

from django.db.models import (
    Count,
    DecimalField,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce, ExtractQuarter
from django.utils import timezone

from accounts.models import Account, Contact, Partner, PartnerTarget
from activities.models import Activity
from climcrm.models import User
from climcrm.roles import is_internal, is_partner_user
from climcrm.selectors import pipeline_by_stage, weighted_amount_expression
from climcrm.text import FREEMAIL_DOMAINS, email_domain, normalize_company_name, parse_id
from climcrm.visibility import (
    visible_activities,
    visible_opportunities,
    visible_partners,
    visible_reviews,
)
from opportunities.models import OPEN_STAGES, Opportunity, Stage
from partners.models import DealRegistration, RegistrationStatus

DUPLICATE_LIMIT = 10


def visible_registrations(user) -> QuerySet:
    """A partner user sees their partner's registrations; internal users see all."""
    qs = DealRegistration.objects.all()
    if is_partner_user(user):
        return qs.filter(partner_id=user.partner_id)
    return qs if is_internal(user) else qs.none()


def _sum_subquery(queryset: QuerySet, expression) -> Subquery:
    return Subquery(
        queryset.order_by()
        .values("partner_id")
        .annotate(total=Sum(expression))
        .values("total")[:1],
        output_field=DecimalField(max_digits=16, decimal_places=2),
    )


def _count_subquery(queryset: QuerySet) -> Subquery:
    return Subquery(
        queryset.order_by().values("partner_id").annotate(n=Count("id")).values("n")[:1],
        output_field=IntegerField(),
    )


def partner_list(*, user, params=None) -> QuerySet:
    """Partners with their open pipeline (count, amount, weighted) and pending registrations,
    each figure a correlated subquery so the page costs the same for 10 or 1,000 deals."""
    params = params or {}
    open_deals = Opportunity.objects.filter(partner_id=OuterRef("pk"), stage__in=OPEN_STAGES)
    won_this_year = Opportunity.objects.filter(
        partner_id=OuterRef("pk"),
        stage=Stage.CLOSED_WON,
        close_date__year=timezone.localdate().year,
    )
    pending = DealRegistration.objects.filter(
        partner_id=OuterRef("pk"), status=RegistrationStatus.SUBMITTED
    )
    qs = (
        visible_partners(user)
        .select_related("account", "channel_manager")
        .annotate(
            open_count=Coalesce(_count_subquery(open_deals), Value(0)),
            open_amount=Coalesce(
                _sum_subquery(open_deals, "amount"), Value(0), output_field=DecimalField()
            ),
            open_weighted=Coalesce(
                _sum_subquery(open_deals, weighted_amount_expression()),
                Value(0),
                output_field=DecimalField(),
            ),
            won_amount=Coalesce(
                _sum_subquery(won_this_year, "amount"), Value(0), output_field=DecimalField()
            ),
            pending_registrations=Coalesce(_count_subquery(pending), Value(0)),
            user_count=Coalesce(
                Subquery(
                    User.objects.filter(partner_id=OuterRef("pk"), is_active=True)
                    .order_by()
                    .values("partner_id")
                    .annotate(n=Count("id"))
                    .values("n")[:1],
                    output_field=IntegerField(),
                ),
                Value(0),
            ),
        )
    )
    if params.get("mine") and user.is_authenticated:
        qs = qs.filter(channel_manager=user)
    if params.get("active") != "all":
        qs = qs.filter(is_active=True)
    query = (params.get("q") or "").strip()
    if query:
        qs = qs.filter(account__name__icontains=query)
    ordering = params.get("ordering") or "account__name"
    allowed = {"account__name", "open_amount", "open_weighted", "open_count", "won_amount"}
    if ordering.lstrip("-") not in allowed:
        ordering = "account__name"
    return qs.order_by(ordering, "pk")


def partner_get(*, user, pk) -> Partner:
    from climcrm.visibility import get_visible_or_404

    return get_visible_or_404(
        visible_partners(user).select_related("account", "channel_manager"), pk=pk
    )


def partner_users(partner: Partner) -> QuerySet:
    return User.objects.filter(partner=partner).order_by("partner_title", "last_name")


def partner_pipeline(*, user, partner: Partner) -> list[dict]:
    deals = visible_opportunities(user).filter(partner=partner)
    return pipeline_by_stage(deals)


def business_plan(*, partner: Partner, year: int) -> list[dict]:
    """The four quarters of a year: targets next to what was won and brought (SQL)."""
    targets = {t.quarter: t for t in PartnerTarget.objects.filter(partner=partner, year=year)}
    won = {
        row["quarter"]: row
        for row in Opportunity.objects.filter(
            partner=partner, stage=Stage.CLOSED_WON, close_date__year=year
        )
        .annotate(quarter=ExtractQuarter("close_date"))
        .values("quarter")
        .annotate(revenue=Sum("amount"), count=Count("id"))
    }
    registered = {
        row["quarter"]: row["n"]
        for row in DealRegistration.objects.filter(partner=partner, submitted_at__year=year)
        .annotate(quarter=ExtractQuarter("submitted_at"))
        .values("quarter")
        .annotate(n=Count("id"))
    }
    rows = []
    for quarter in (1, 2, 3, 4):
        target = targets.get(quarter)
        rows.append(
            {
                "quarter": quarter,
                "revenue": target.revenue if target else None,
                "new_customers": target.new_customers if target else None,
                "leads": target.leads if target else None,
                "won_revenue": won.get(quarter, {}).get("revenue") or 0,
                "won_count": won.get(quarter, {}).get("count") or 0,
                "registrations": registered.get(quarter, 0),
            }
        )
    return rows


def _conflicting_registrations(partner_ref, name_ref) -> QuerySet:
    """Other partners' live claims: submitted, or accepted and still protected."""
    live = Q(status=RegistrationStatus.SUBMITTED) | Q(
        status=RegistrationStatus.ACCEPTED, protected_until__gte=timezone.localdate()
    )
    return DealRegistration.objects.filter(live, normalized_company=name_ref).exclude(
        partner_id=partner_ref
    )


def _conflicting_deals(partner_ref, name_ref) -> QuerySet:
    # Spelled out: "partner differs" must keep direct deals (NULL partner) in SQL too.
    return Opportunity.objects.filter(
        Q(partner__isnull=True) | ~Q(partner_id=partner_ref),
        account__normalized_name=name_ref,
        stage__in=OPEN_STAGES,
    )


def with_conflict_flags(qs: QuerySet) -> QuerySet:
    """Flag registrations whose company another partner also claims (submitted or accepted)
    or that already has an open deal outside this partner."""
    other_registrations = _conflicting_registrations(
        OuterRef("partner_id"), OuterRef("normalized_company")
    ).exclude(normalized_company="")
    open_deals = _conflicting_deals(OuterRef("partner_id"), OuterRef("normalized_company")).exclude(
        account__normalized_name=""
    )
    # An accepted registration's own deal is not a conflict with itself.
    open_deals = open_deals.exclude(pk=Coalesce(OuterRef("opportunity_id"), Value(0)))
    return qs.annotate(
        other_partner_claim=Exists(other_registrations),
        open_deal_exists=Exists(open_deals),
    )


def registration_queue(*, user, params=None) -> QuerySet:
    params = params or {}
    qs = with_conflict_flags(
        visible_registrations(user).select_related(
            "partner__account", "registered_by", "decided_by"
        )
    )
    status = params.get("status", RegistrationStatus.SUBMITTED.value)
    today = timezone.localdate()
    if status == "expired":
        qs = qs.filter(status=RegistrationStatus.ACCEPTED, protected_until__lt=today)
    elif status in RegistrationStatus.values:
        qs = qs.filter(status=status)
    partner = params.get("partner")
    if parse_id(partner) is not None and not is_partner_user(user):
        qs = qs.filter(partner_id=parse_id(partner))
    if params.get("conflicts"):
        qs = qs.filter(Q(other_partner_claim=True) | Q(open_deal_exists=True))
    query = (params.get("q") or "").strip()
    if query:
        qs = qs.filter(
            Q(company_name__icontains=query)
            | Q(contact_last_name__icontains=query)
            | Q(project_name__icontains=query)
        )
    ordering = params.get("ordering") or "-submitted_at"
    allowed = {"submitted_at", "company_name", "estimated_amount", "expected_close_date"}
    if ordering.lstrip("-") not in allowed:
        ordering = "-submitted_at"
    return qs.order_by(ordering, "-pk")


def registration_get(*, user, pk) -> DealRegistration:
    from climcrm.visibility import get_visible_or_404

    return get_visible_or_404(
        with_conflict_flags(
            visible_registrations(user).select_related(
                "partner__account",
                "partner__channel_manager",
                "registered_by",
                "decided_by",
                "account",
                "contact",
                "opportunity",
            )
        ),
        pk=pk,
    )


def registration_conflicts(*, user, registration: DealRegistration) -> dict:
    """Other partners' claims and open deals on the same company (internal users only)."""
    if not is_internal(user) or not registration.normalized_company:
        return {"registrations": [], "deals": []}
    others = (
        _conflicting_registrations(registration.partner_id, registration.normalized_company)
        .select_related("partner__account")
        .order_by("-submitted_at")[:DUPLICATE_LIMIT]
    )
    deals = _conflicting_deals(registration.partner_id, registration.normalized_company)
    if registration.opportunity_id:
        deals = deals.exclude(pk=registration.opportunity_id)
    deals = deals.select_related("account", "partner__account", "owner").order_by("close_date")[
        :DUPLICATE_LIMIT
    ]
    return {"registrations": list(others), "deals": list(deals)}


def _company_domain(email: str) -> str:
    domain = email_domain(email)
    return "" if not domain or domain in FREEMAIL_DOMAINS else domain


def duplicate_accounts(*, user, registration: DealRegistration) -> list[Account]:
    """Existing accounts the registered company may be: the leads' duplicate finder when
    it is there, else same normalised name or same email domain."""
    probe = SimpleNamespace(company=registration.company_name, email=registration.contact_email)
    try:
        from leads.selectors import likely_duplicate_accounts
    except ImportError:
        likely_duplicate_accounts = None
    if likely_duplicate_accounts is not None:
        return list(likely_duplicate_accounts(user=user, lead=probe))
    from climcrm.visibility import visible_accounts

    condition = Q(pk__in=[])
    normalized = normalize_company_name(registration.company_name)
    if normalized:
        condition |= Q(normalized_name=normalized)
    domain = _company_domain(registration.contact_email)
    if domain:
        condition |= Q(
            pk__in=Contact.objects.filter(email__iendswith=f"@{domain}").values("account_id")
        )
    return list(visible_accounts(user).filter(condition).order_by("name")[:DUPLICATE_LIMIT])


def duplicate_contacts(*, user, registration: DealRegistration) -> list[Contact]:
    from climcrm.visibility import visible_contacts

    if not registration.contact_email:
        return []
    return list(
        visible_contacts(user)
        .filter(email__iexact=registration.contact_email)
        .select_related("account")
        .order_by("last_name")[:DUPLICATE_LIMIT]
    )


def internal_owner_choices() -> QuerySet:
    return (
        User.objects.filter(is_active=True, partner__isnull=True)
        .filter(
            Q(groups__name__in=["sales_rep", "sales_manager", "channel_manager", "admin"])
            | Q(is_superuser=True)
        )
        .distinct()
        .order_by("first_name", "last_name", "username")
    )


PORTAL_TODOS = 30


def portal_todos(*, user, limit: int = PORTAL_TODOS) -> list[Activity]:
    """The partner's first open to-dos by due date (undated last): its deals' and its leads'.

    Asked as one "the deal's or the lead's partner", PostgreSQL can only walk every open
    to-do and look up both. So each side picks its first page alone (the deals' side walks
    the open to-dos by date and stops, the leads' side reads its small index), and the
    page is read from the user's visible to-dos among those.
    """
    if user.partner_id is None:
        return []
    by_due = (F("due_date").asc(nulls_last=True), "pk")
    open_todos = Activity.objects.filter(done=False).order_by(*by_due).values_list("pk", flat=True)
    of_deals = open_todos.filter(opportunity__partner_id=user.partner_id)
    of_leads = open_todos.filter(lead__isnull=False, lead__partner_id=user.partner_id)
    candidates = [*of_deals[:limit], *of_leads[:limit]]
    todos = (
        visible_activities(user)
        .filter(done=False, pk__in=candidates)
        .select_related("opportunity", "lead", "assignee")
        .order_by(*by_due)
    )
    return list(todos[:limit])


def portal_context(*, user) -> dict:
    """A partner user's home: their deals, to-dos, registrations and reviews."""
    today = timezone.localdate()
    deals = visible_opportunities(user)
    open_deals = (
        deals.filter(stage__in=OPEN_STAGES)
        .select_related("account", "owner")
        .order_by("close_date", "pk")
    )
    registrations = with_conflict_flags(visible_registrations(user)).order_by("-submitted_at")
    reviews = visible_reviews(user).order_by("-period_start", "-pk")
    return {
        "today": today,
        "soon": today + datetime.timedelta(days=7),
        "by_stage": pipeline_by_stage(deals.filter(stage__in=OPEN_STAGES)),
        "open_deals": open_deals[:50],
        "open_deal_count": open_deals.count(),
        "todos": portal_todos(user=user),
        "registrations": registrations.select_related("opportunity")[:30],
        "reviews": reviews[:10],
    }


def assignable_opportunities(*, user, params=None) -> QuerySet:
    """Open deals (or all, on request) with their partner, for the assignment page."""
    params = params or {}
    qs = visible_opportunities(user).select_related("account", "owner", "partner__account")
    stage = params.get("stage")
    qs = qs.filter(stage=stage) if stage in Stage.values else qs.filter(stage__in=OPEN_STAGES)
    partner = params.get("partner") or ""
    if partner == "none":
        qs = qs.filter(partner__isnull=True)
    elif parse_id(partner) is not None:
        qs = qs.filter(partner_id=parse_id(partner))
    owner = params.get("owner") or ""
    if parse_id(owner) is not None:
        qs = qs.filter(owner_id=parse_id(owner))
    query = (params.get("q") or "").strip()
    if query:
        qs = qs.filter(Q(name__icontains=query) | Q(account__name__icontains=query))
    ordering = params.get("ordering") or "close_date"
    allowed = {"close_date", "name", "amount", "account__name", "stage"}
    if ordering.lstrip("-") not in allowed:
        ordering = "close_date"
    return qs.order_by(ordering, "pk")
