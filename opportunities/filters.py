"""The opportunity list's filters, shared by the list, its CSV export and the pipeline board."""

from datetime import timedelta

import django_filters
from django import forms
from django.conf import settings
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Account, Contact, Partner
from accounts.visibility import visible_partners
from climcrm import widgets
from climcrm.choices import BUYING_SIGNALS, SIGNAL_FIELDS
from climcrm.models import User, internal_users
from climcrm.roles import is_partner_user
from climcrm.search import among, contains, search_order
from opportunities.models import (
    CHARACTERISTICS,
    OPEN_STAGES,
    Opportunity,
    OpportunityType,
    Stage,
)


def deal_activities() -> QuerySet:
    """Every activity, reached through the relation the activities app attaches to deals
    (``Opportunity.activities``): the deals sit below that app and do not import it."""
    return Opportunity.activities.field.model.objects.all()


def attention_conditions(*, today) -> tuple[Q, Q]:
    """What makes an open deal need attention: its close date has passed (first), or it is
    stale — no stage change and no activity for ``CRM_STALE_DAYS`` (second). The
    dashboards and the list's "needing attention" filter count the same deals."""
    cutoff = timezone.now() - timedelta(days=settings.CRM_STALE_DAYS)
    # "No activity created or done since the cutoff" as two conditions, not one with an
    # ``OR``: each is then read from its own index of the recent activities
    # (``act_opp_created``, ``act_opp_done``) instead of from every activity's row.
    # (The indexes hold deals' activities only: the condition says so, to let them be read.)
    deal = deal_activities().filter(opportunity__isnull=False, opportunity_id=OuterRef("pk"))
    created_since = deal.filter(created_at__gte=cutoff)
    done_since = deal.filter(done_at__gte=cutoff)
    overdue = Q(close_date__lt=today)
    stale = Q(stage_changed_at__lt=cutoff) & ~Q(Exists(created_since)) & ~Q(Exists(done_since))
    return overdue, stale


def _owners(request) -> QuerySet:
    if request is None:
        return User.objects.none()
    return internal_users()


def _partners(request) -> QuerySet:
    if request is None:
        return Partner.objects.none()
    return visible_partners(request.user).select_related("account").order_by("account__name")


class OpportunityFilter(django_filters.FilterSet):
    """Filter a queryset of opportunities the user may already see (never widens it)."""

    q = django_filters.CharFilter(
        method="filter_q", label=_("Search"), widget=forms.TextInput(attrs={"type": "search"})
    )
    stage = django_filters.MultipleChoiceFilter(
        choices=Stage.choices,
        label=_("Stage"),
        widget=widgets.SelectMultiple(attrs={"size": 3}),
        distinct=False,
    )
    owner = django_filters.ModelChoiceFilter(
        queryset=_owners, label=_("Owner"), empty_label=_("Any owner"), widget=widgets.Select
    )
    mine = django_filters.BooleanFilter(
        method="filter_mine", label=_("Only mine"), widget=forms.CheckboxInput
    )
    team = django_filters.BooleanFilter(
        method="filter_team", label=_("My team's deals"), widget=forms.HiddenInput
    )
    my_partners = django_filters.BooleanFilter(
        method="filter_my_partners", label=_("My partners' deals"), widget=forms.HiddenInput
    )
    attention = django_filters.BooleanFilter(
        method="filter_attention", label=_("Needing attention"), widget=forms.CheckboxInput
    )
    partner = django_filters.ModelChoiceFilter(
        queryset=_partners, label=_("Partner"), empty_label=_("Any partner"), widget=widgets.Select
    )
    direct = django_filters.BooleanFilter(
        method="filter_direct", label=_("Direct deals only"), widget=forms.CheckboxInput
    )
    type = django_filters.ChoiceFilter(
        choices=OpportunityType.choices,
        label=_("Type"),
        empty_label=_("Any type"),
        widget=widgets.Select,
    )
    close_from = django_filters.DateFilter(
        field_name="close_date",
        lookup_expr="gte",
        label=_("Close date from"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    close_to = django_filters.DateFilter(
        field_name="close_date",
        lookup_expr="lte",
        label=_("Close date to"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    amount_min = django_filters.NumberFilter(
        field_name="amount", lookup_expr="gte", label=_("Amount from")
    )
    amount_max = django_filters.NumberFilter(
        field_name="amount", lookup_expr="lte", label=_("Amount to")
    )
    signal = django_filters.ChoiceFilter(
        method="filter_signal",
        label=_("Buying signal"),
        empty_label=_("Any or none"),
        widget=widgets.Select,
        choices=[
            *BUYING_SIGNALS,
            ("any", _("At least one signal")),
            ("none", _("No signal")),
        ],
    )
    characteristic = django_filters.ChoiceFilter(
        method="filter_characteristic",
        label=_("Pain, interest and fit"),
        empty_label=_("Any"),
        widget=widgets.Select,
        choices=[
            ("all", _("All three identified")),
            ("missing", _("One or more missing")),
            *[(name, label) for name, label in CHARACTERISTICS],
        ],
    )
    unconfirmed = django_filters.BooleanFilter(
        method="filter_unconfirmed",
        label=_("Amount not confirmed by the prospect"),
        widget=forms.CheckboxInput,
    )

    class Meta:
        fields: list[str] = []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Partner users only ever see their own partner's deals: owner and partner
        # pickers would only leak names.
        if self.request is not None and is_partner_user(self.request.user):
            for name in ("owner", "partner", "direct", "team", "my_partners"):
                self.filters.pop(name, None)
                self.form.fields.pop(name, None)

    def filter_q(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        value = (value or "").strip()
        if not value:
            return queryset
        # The account and contact names by their own indexes, not through the joins.
        return queryset.filter(
            contains(value, "name", "next_step")
            | among("account_id", Account.objects.filter(name__icontains=value))
            | among("primary_contact_id", Contact.objects.filter(last_name__icontains=value))
        )

    def searching(self) -> bool:
        return self.is_valid() and bool((self.form.cleaned_data.get("q") or "").strip())

    def search_order(self) -> list:
        """Deals named by the search first (name starting with it, then containing it), when
        there is a search; the list's order follows."""
        return search_order(self, "name")

    def filter_mine(self, queryset: QuerySet, name: str, value) -> QuerySet:
        if value and self.request is not None:
            return queryset.filter(owner=self.request.user)
        return queryset

    def filter_team(self, queryset: QuerySet, name: str, value) -> QuerySet:
        if value and self.request is not None:
            return queryset.filter(owner__manager=self.request.user)
        return queryset

    def filter_my_partners(self, queryset: QuerySet, name: str, value) -> QuerySet:
        """The deals of the partners the user is the channel manager of."""
        if value and self.request is not None:
            return queryset.filter(partner__channel_manager=self.request.user)
        return queryset

    def filter_attention(self, queryset: QuerySet, name: str, value) -> QuerySet:
        """Open deals past their close date or stale (the dashboards' "needing attention")."""
        if not value:
            return queryset
        overdue, stale = attention_conditions(today=timezone.localdate())
        return queryset.filter(stage__in=OPEN_STAGES).filter(overdue | stale)

    def filter_signal(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        any_signal = Q()
        for field in SIGNAL_FIELDS:
            any_signal |= Q(**{field: True})
        if value in SIGNAL_FIELDS:
            return queryset.filter(**{value: True})
        if value == "any":
            return queryset.filter(any_signal)
        if value == "none":
            return queryset.exclude(any_signal)
        return queryset

    def filter_characteristic(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        fields = [f"{key}_ok" for key, _label in CHARACTERISTICS]
        if value == "all":
            return queryset.filter(**dict.fromkeys(fields, True))
        if value == "missing":
            missing = Q()
            for field in fields:
                missing |= Q(**{field: False})
            return queryset.filter(missing)
        if f"{value}_ok" in fields:
            return queryset.filter(**{f"{value}_ok": True})
        return queryset

    def filter_unconfirmed(self, queryset: QuerySet, name: str, value) -> QuerySet:
        if value:
            return queryset.filter(amount_confirmed=False)
        return queryset

    def filter_direct(self, queryset: QuerySet, name: str, value) -> QuerySet:
        if value:
            return queryset.filter(partner__isnull=True)
        return queryset


class OpportunityListFilter(OpportunityFilter):
    """The list's filters: the opportunity filters plus open/won/lost (open by default)."""

    status = django_filters.ChoiceFilter(
        method="filter_status",
        label=_("Status"),
        empty_label=None,
        widget=widgets.Select,
        choices=[
            ("open", _("Open")),
            ("won", _("Won")),
            ("lost", _("Lost")),
            ("all", _("All")),
        ],
    )

    def filter_status(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        if value == "open":
            return queryset.filter(stage__in=OPEN_STAGES)
        if value == "won":
            return queryset.filter(stage=Stage.CLOSED_WON)
        if value == "lost":
            return queryset.filter(stage=Stage.CLOSED_LOST)
        return queryset


def with_default_status(params):
    """Open deals unless a status or a stage was asked for."""
    if params.get("status"):
        return params
    params = params.copy()
    params["status"] = "all" if params.getlist("stage") else "open"
    return params
