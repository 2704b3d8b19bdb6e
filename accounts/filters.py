import django_filters
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from climcrm.text import normalize_company_name


class AccountFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_q", label=_("Search"))
    customer = django_filters.ChoiceFilter(
        method="filter_customer",
        label=_("Customer"),
        empty_label=_("All accounts"),
        choices=[("yes", _("Customers")), ("no", _("Prospects"))],
    )

    class Meta:
        fields: list[str] = []

    def filter_q(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        value = (value or "").strip()
        if not value:
            return queryset
        condition = Q(name__icontains=value) | Q(city__icontains=value)
        normalized = normalize_company_name(value)
        if normalized:
            condition |= Q(normalized_name__contains=normalized)
        return queryset.filter(condition)

    def filter_customer(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        if value == "yes":
            return queryset.filter(is_customer=True)
        if value == "no":
            return queryset.filter(is_customer=False)
        return queryset


class ContactFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_q", label=_("Search"))
    decision_maker = django_filters.BooleanFilter(
        field_name="is_decision_maker", label=_("Decision maker")
    )

    class Meta:
        fields: list[str] = []

    def filter_q(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        value = (value or "").strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(last_name__icontains=value)
            | Q(first_name__icontains=value)
            | Q(email__icontains=value)
            | Q(account__name__icontains=value)
        )
