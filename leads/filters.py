"""The lead list's filters and sorting (query string → queryset)."""

import django_filters
from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from climcrm.choices import OriginChannel, Source
from climcrm.models import User
from climcrm.search import contains, search_rank
from leads.first_contact import awaiting_first_contact
from leads.models import Lead, LeadStatus

SORT_FIELDS = (
    ("created_at", "created_at"),
    ("updated_at", "updated"),
    ("last_name", "last_name"),
    ("company", "company"),
    ("status", "status"),
    ("source", "source"),
    ("owner__last_name", "owner"),
)


def owner_choices(request=None):
    return (
        User.objects.filter(is_active=True, partner__isnull=True)
        .exclude(groups__name="partner_user")
        .order_by("first_name", "last_name", "username")
    )


class LeadFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(label=_("Search"), method="search")
    status = django_filters.ChoiceFilter(label=_("Status"), choices=LeadStatus.choices)
    prospect = django_filters.BooleanFilter(
        label=_("Prospects only"), method="filter_prospect", widget=forms.CheckboxInput
    )
    awaiting_contact = django_filters.BooleanFilter(
        label=_("Waiting for a first contact"),
        method="filter_awaiting_contact",
        widget=forms.CheckboxInput,
    )
    source = django_filters.ChoiceFilter(label=_("Source"), choices=Source.choices)
    origin = django_filters.ChoiceFilter(label=_("Origin"), choices=OriginChannel.choices)
    owner = django_filters.ModelChoiceFilter(label=_("Owner"), queryset=owner_choices)
    created_after = django_filters.DateFilter(
        label=_("Created from"),
        field_name="created_at",
        lookup_expr="date__gte",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    created_before = django_filters.DateFilter(
        label=_("Created until"),
        field_name="created_at",
        lookup_expr="date__lte",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    ordering = django_filters.OrderingFilter(fields=SORT_FIELDS, label=_("Sort"))

    class Meta:
        model = Lead
        fields: list[str] = []

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        # Partner users do not pick among internal owners.
        if user is not None and user.partner_id:
            del self.filters["owner"]

    def filter_prospect(self, queryset, name, value):
        """Leads that met the three qualification levels (prospects, converted or not)."""
        return queryset.filter(reached_prospect=True) if value else queryset

    def filter_awaiting_contact(self, queryset, name, value):
        """Open leads no one has called, met, emailed or visited yet (seed 001)."""
        if not value:
            return queryset
        return awaiting_first_contact(queryset)

    def search(self, queryset, name, value):
        value = (value or "").strip()[:100]
        if not value:
            return queryset
        condition = Q()
        for word in value.split()[:5]:
            condition &= contains(word, "first_name", "last_name", "email", "company", "phone")
        return queryset.filter(condition)

    @property
    def qs(self):
        queryset = super().qs
        if not queryset.query.order_by:
            # A search puts the leads whose name or company starts with its first word first.
            words = (self.form.cleaned_data.get("q") or "").split() if self.is_valid() else []
            rank = [search_rank(words[0], "last_name", "company")] if words else []
            queryset = queryset.order_by(*rank, "-created_at", "-pk")
        else:
            queryset = queryset.order_by(*queryset.query.order_by, "-pk")
        return queryset
