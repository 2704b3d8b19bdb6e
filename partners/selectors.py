"""Reads of the partner channel; every one starts from the user's visible querysets."""

import datetime
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from django.db.models import (
    Case,
    Count,
    DateField,
    DateTimeField,
    DecimalField,
    Exists,
    F,
    IntegerField,
    Max,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, ExtractQuarter
from django.utils import timezone

from accounts.models import Account, Contact, Partner, PartnerTarget
from accounts.visibility import visible_accounts, visible_contacts, visible_partners
from activities.models import Activity
from activities.visibility import visible_activities
from climcrm.figures import rate
from climcrm.models import User
from climcrm.roles import is_admin, is_channel_manager, is_internal, is_partner_user
from climcrm.text import parse_id
from climcrm.visibility import get_visible_or_404
from leads.selectors import likely_duplicate_accounts
from opportunities.amounts import pipeline_by_stage, weighted_amount_expression
from opportunities.models import OPEN_STAGES, Opportunity, Stage
from opportunities.visibility import visible_opportunities
from partners.models import (
    EDITABLE_STATUSES,
    MATCH_KEY_FIELDS,
    ConflictDecision,
    DealRegistration,
    MatchKey,
    RegistrationEvent,
    RegistrationStatus,
    missing_mandatory_fields,
)
from pipeline_reviews.visibility import visible_reviews

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
    won: dict[int, Mapping[str, Any]] = {
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


def live_claim(on: datetime.date | None = None) -> Q:
    """Registrations still claiming their customer: waiting for a decision (submitted, or
    returned to the partner), or accepted and protected on that day."""
    return Q(status__in=EDITABLE_STATUSES) | Q(
        status=RegistrationStatus.ACCEPTED,
        protected_until__gte=on or timezone.localdate(),
    )


def same_customer(registration: DealRegistration | None = None) -> Q:
    """Registrations sharing a matching key with ``registration`` (or, without one, with
    the outer row of a subquery). An empty key matches nothing."""
    condition = Q(pk__in=[])
    for column in MATCH_KEY_FIELDS.values():
        if registration is None:
            condition |= Q(**{column: OuterRef(column)}) & ~Q(**{column: ""})
        elif getattr(registration, column):
            condition |= Q(**{column: getattr(registration, column)})
    return condition


def _conflicting_registrations(registration: DealRegistration | None = None) -> QuerySet:
    """Other partners' live claims on the same customer."""
    partner = OuterRef("partner_id") if registration is None else registration.partner_id
    return DealRegistration.objects.filter(live_claim(), same_customer(registration)).exclude(
        partner_id=partner
    )


def protecting_claim(registration: DealRegistration, *, on: datetime.date):
    """Another partner's accepted registration of the same customer, still protected on
    that day (the one protected longest), or None."""
    return (
        DealRegistration.objects.filter(
            same_customer(registration),
            status=RegistrationStatus.ACCEPTED,
            protected_until__gte=on,
        )
        .exclude(partner_id=registration.partner_id)
        .order_by("-protected_until", "pk")
        .first()
    )


def _conflicting_deals(partner_ref, name_ref) -> QuerySet:
    # Spelled out: "partner differs" must keep direct deals (NULL partner) in SQL too.
    return Opportunity.objects.filter(
        Q(partner__isnull=True) | ~Q(partner_id=partner_ref),
        account__normalized_name=name_ref,
        stage__in=OPEN_STAGES,
    )


def with_conflict_flags(qs: QuerySet) -> QuerySet:
    """Flag registrations whose customer another partner also claims (same company name,
    email domain or address; waiting or accepted and protected), with the end of another
    partner's protection on it, or that already has an open deal outside this partner."""
    other_registrations = _conflicting_registrations()
    protection = (
        other_registrations.filter(status=RegistrationStatus.ACCEPTED)
        .order_by("-protected_until")
        .values("protected_until")[:1]
    )
    open_deals = _conflicting_deals(OuterRef("partner_id"), OuterRef("normalized_company")).exclude(
        account__normalized_name=""
    )
    # An accepted registration's own deal is not a conflict with itself.
    open_deals = open_deals.exclude(pk=Coalesce(OuterRef("opportunity_id"), Value(0)))
    return qs.annotate(
        other_partner_claim=Exists(other_registrations),
        open_deal_exists=Exists(open_deals),
        # While it runs, this registration cannot be accepted (partners.services).
        protected_claim_until=Subquery(protection, output_field=DateField()),
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
    """Other partners' claims and open deals on the same customer (internal users only)."""
    if not is_internal(user):
        return {"registrations": [], "deals": [], "kinds": []}
    others = list(
        _conflicting_registrations(registration)
        .select_related("partner__account")
        .order_by("-submitted_at")[:DUPLICATE_LIMIT]
    )
    if not registration.normalized_company:
        return {"registrations": others, "deals": [], "kinds": _shared_keys(registration, others)}
    deals = _conflicting_deals(registration.partner_id, registration.normalized_company)
    if registration.opportunity_id:
        deals = deals.exclude(pk=registration.opportunity_id)
    deals = deals.select_related("account", "partner__account", "owner").order_by("close_date")[
        :DUPLICATE_LIMIT
    ]
    return {
        "registrations": others,
        "deals": list(deals),
        "kinds": _shared_keys(registration, others),
    }


def _shared_keys(registration: DealRegistration, others: list) -> list[str]:
    """The matching keys this registration shares with at least one of ``others``."""
    return [
        kind
        for kind, column in MATCH_KEY_FIELDS.items()
        if getattr(registration, column)
        and any(getattr(other, column) == getattr(registration, column) for other in others)
    ]


def duplicate_accounts(*, user, registration: DealRegistration) -> list[Account]:
    """Existing accounts the registered company may be: the leads' duplicate finder, the
    registration read as a lead."""
    probe = SimpleNamespace(company=registration.company_name, email=registration.contact_email)
    return list(likely_duplicate_accounts(user=user, lead=probe))


def group_duplicate_accounts(*, user, registrations) -> list[Account]:
    """Existing accounts the customer of a conflict group may be (same normalised name, or
    contacts at the same company email domain as one of its registrations): one query."""

    condition = Q(pk__in=[])
    names = {r.normalized_company for r in registrations if r.normalized_company}
    if names:
        condition |= Q(normalized_name__in=names)
    domains = {r.email_domain for r in registrations if r.email_domain}
    if domains:
        at_domain = Q(pk__in=[])
        for domain in domains:
            at_domain |= Q(email__iendswith=f"@{domain}")
        condition |= Q(pk__in=Contact.objects.filter(at_domain).values("account_id"))
    return list(visible_accounts(user).filter(condition).order_by("name")[:DUPLICATE_LIMIT])


def duplicate_contacts(*, user, registration: DealRegistration) -> list[Contact]:
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


# The conflict queue -----------------------------------------------------------------------


def _first_submitted() -> Coalesce:
    """When the registration was first submitted: its first event (a resubmission or an
    appeal does not make it younger), else its submission date."""
    first_event = (
        RegistrationEvent.objects.filter(registration=OuterRef("pk"), from_status="")
        .order_by("at")
        .values("at")[:1]
    )
    return Coalesce(Subquery(first_event, output_field=DateTimeField()), F("submitted_at"))


def first_submissions(ids) -> dict:
    """{registration id: first submission} for these registrations, in one query."""
    return dict(
        DealRegistration.objects.filter(pk__in=list(ids))
        .annotate(first_submitted=_first_submitted())
        .values_list("pk", "first_submitted")
    )


def conflict_group_members(
    *, kind: str, key: str, on: datetime.date | None = None, for_update: bool = False
) -> list[DealRegistration]:
    """The live registrations sharing one matching key: one conflict group."""
    column = MATCH_KEY_FIELDS[MatchKey(kind)]
    if not key:
        return []
    qs = DealRegistration.objects.filter(live_claim(on), **{column: key})
    if for_update:
        qs = qs.select_for_update(of=("self",))
    return list(
        qs.select_related("partner__account", "registered_by").order_by("submitted_at", "pk")
    )


def _groups_of(kind: MatchKey, *, on: datetime.date, channel_manager=None) -> QuerySet:
    """One row per value of one matching key shared by live registrations of at least two
    partners, one of them still waiting for a decision (a SQL GROUP BY ... HAVING)."""
    column = MATCH_KEY_FIELDS[kind]
    qs = (
        DealRegistration.objects.filter(live_claim(on))
        .exclude(**{column: ""})
        .annotate(key=F(column), kind=Value(kind.value))
        .values("key", "kind")
        .order_by()
        .annotate(
            partner_count=Count("partner", distinct=True),
            registration_count=Count("pk"),
            first_submitted=Min("submitted_at"),
            appeal_count=Count(
                "pk", filter=Q(status=RegistrationStatus.SUBMITTED, appealed_at__isnull=False)
            ),
            protected_until=Max("protected_until", filter=Q(status=RegistrationStatus.ACCEPTED)),
        )
        .alias(pending=Count("pk", filter=Q(status__in=EDITABLE_STATUSES)))
        .filter(partner_count__gte=2, pending__gte=1)
    )
    # A group by domain or address whose registrations all share one company name (or,
    # for addresses, one domain) is the same conflict as that group: shown once.
    covering = {
        MatchKey.COMPANY: [],
        MatchKey.DOMAIN: ["normalized_company"],
        MatchKey.ADDRESS: ["normalized_company", "email_domain"],
    }[kind]
    for other in covering:
        qs = qs.alias(**{f"{other}_min": Min(other), f"{other}_max": Max(other)}).exclude(
            Q(**{f"{other}_min": F(f"{other}_max")}) & ~Q(**{f"{other}_min": ""})
        )
    if channel_manager is not None:
        qs = qs.alias(mine=Count("pk", filter=Q(partner__channel_manager=channel_manager))).filter(
            mine__gte=1
        )
    return qs


def conflict_groups(*, user, params=None) -> QuerySet:
    """The conflict queue: every group of competing registrations, oldest first; a channel
    manager sees the groups touching their partners unless they ask for all."""
    params = params or {}
    if not is_internal(user):
        return DealRegistration.objects.none().values("pk")
    today = timezone.localdate()
    scope = conflict_scope(user=user, params=params)
    manager = user if scope == "mine" else None
    kinds = [params["kind"]] if params.get("kind") in MatchKey.values else MatchKey.values
    first, *others = [_groups_of(MatchKey(k), on=today, channel_manager=manager) for k in kinds]
    qs = first.union(*others, all=True) if others else first
    return qs.order_by("first_submitted", "kind", "key")


def conflict_scope(*, user, params) -> str:
    """ "mine" (the channel manager's partners) or "all"; only channel managers have a scope."""
    if is_channel_manager(user) and not is_admin(user):
        return "all" if params.get("scope") == "all" else "mine"
    return "all"


def with_evidence(qs: QuerySet) -> QuerySet:
    """What the channel manager compares: first submission, the partner's activity on the
    customer since then, the partner's updates to the registration, and another partner's
    protection."""
    first_submitted = _first_submitted()
    # Changes the partner's own people made since: edits, resubmissions, an appeal.
    later_events = (
        RegistrationEvent.objects.filter(
            registration=OuterRef("pk"), by__partner_id=OuterRef("partner_id")
        )
        .exclude(from_status="")
        .order_by()
        .values("registration")
        .annotate(n=Count("pk"))
        .values("n")
    )
    # To-dos, calls and visits the partner's people logged on this customer since.
    customer = OuterRef("normalized_company")
    activities = (
        Activity.objects.filter(
            Q(account__normalized_name=customer)
            | Q(opportunity__account__normalized_name=customer),
            created_by__partner_id=OuterRef("partner_id"),
            created_at__gte=OuterRef("first_submitted"),
        )
        .exclude(created_by__partner__isnull=True)
        .order_by()
        .values("created_by__partner_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return (
        with_conflict_flags(qs)
        .annotate(
            first_submitted=first_submitted,
            update_count=Coalesce(Subquery(later_events, output_field=IntegerField()), Value(0)),
        )
        .annotate(
            activity_count=Case(
                When(normalized_company="", then=Value(0)),
                default=Coalesce(Subquery(activities, output_field=IntegerField()), Value(0)),
            )
        )
    )


def partner_conversions(partner_ids) -> dict:
    """{partner id: (accepted registrations, those whose deal was won)}, in one query."""
    rows = (
        DealRegistration.objects.filter(
            partner_id__in=list(partner_ids), status=RegistrationStatus.ACCEPTED
        )
        .order_by()
        .values("partner_id")
        .annotate(
            accepted=Count("pk"),
            won=Count("pk", filter=Q(opportunity__stage=Stage.CLOSED_WON)),
        )
    )
    return {row["partner_id"]: (row["accepted"], row["won"]) for row in rows}


@dataclass
class ConflictGroup:
    kind: str
    key: str
    partner_count: int
    first_submitted: datetime.datetime | None
    appeal_count: int
    protected_until: datetime.date | None
    members: list = field(default_factory=list)

    @property
    def kind_label(self) -> str:
        return str(MatchKey(self.kind).label)

    @property
    def anchor(self):
        """The registration the group's links go through (its URLs need one)."""
        return self.members[0] if self.members else None

    @property
    def pending(self) -> list:
        return [m for m in self.members if m.status in EDITABLE_STATUSES]


def _annotate_members(members: list, today: datetime.date) -> None:
    conversions = partner_conversions({m.partner_id for m in members})
    for member in members:
        accepted, won = conversions.get(member.partner_id, (0, 0))
        member.conversion_accepted = accepted
        member.conversion_won = won
        member.conversion_rate = rate(won, accepted)
        member.missing = missing_mandatory_fields(member)
        member.is_protected = (
            member.status == RegistrationStatus.ACCEPTED
            and member.protected_until is not None
            and member.protected_until >= today
        )


def conflict_groups_with_members(rows) -> list[ConflictGroup]:
    """The groups of one page of the queue with their registrations and the evidence: a
    constant number of queries whatever the number of groups and registrations."""
    groups = [
        ConflictGroup(
            kind=row["kind"],
            key=row["key"],
            partner_count=row["partner_count"],
            first_submitted=row["first_submitted"],
            appeal_count=row["appeal_count"],
            protected_until=row["protected_until"],
        )
        for row in rows
    ]
    if not groups:
        return groups
    today = timezone.localdate()
    condition = Q(pk__in=[])
    for kind, column in MATCH_KEY_FIELDS.items():
        keys = [g.key for g in groups if g.kind == kind]
        if keys:
            condition |= Q(**{f"{column}__in": keys})
    members = list(
        with_evidence(DealRegistration.objects.filter(live_claim(today)).filter(condition))
        .select_related("partner__account", "registered_by")
        .order_by("first_submitted", "pk")
    )
    _annotate_members(members, today)
    by_key: dict = {}
    for member in members:
        for kind, column in MATCH_KEY_FIELDS.items():
            by_key.setdefault((kind, getattr(member, column)), []).append(member)
    for group in groups:
        group.members = by_key.get((group.kind, group.key), [])
    return groups


def conflict_group(*, user, registration: DealRegistration, kind: str) -> ConflictGroup | None:
    """The group of ``registration`` by one key, with the evidence; None when the
    registration has no such key or is no longer in a conflict on it."""
    if not is_internal(user) or kind not in MatchKey.values:
        return None
    column = MATCH_KEY_FIELDS[MatchKey(kind)]
    key = getattr(registration, column)
    if not key:
        return None
    today = timezone.localdate()
    members = list(
        with_evidence(DealRegistration.objects.filter(live_claim(today), **{column: key}))
        .select_related("partner__account", "registered_by", "decided_by")
        .order_by("first_submitted", "pk")
    )
    _annotate_members(members, today)
    group = ConflictGroup(
        kind=kind,
        key=key,
        partner_count=len({m.partner_id for m in members}),
        first_submitted=min((m.first_submitted for m in members), default=None),
        appeal_count=sum(1 for m in members if m.is_appeal),
        protected_until=max((m.protected_until for m in members if m.is_protected), default=None),
        members=members,
    )
    return group


def conflict_decisions(*, user, kind: str, key: str, limit: int = 10) -> list[ConflictDecision]:
    """The decisions already taken on one matching key, newest first (internal users)."""
    if not is_internal(user):
        return []
    return list(
        ConflictDecision.objects.filter(key_kind=kind, key_value=key)
        .select_related("decided_by", "winner__partner__account")
        .prefetch_related("entries__registration__partner__account")
        .order_by("-decided_at", "-pk")[:limit]
    )
