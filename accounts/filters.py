import django_filters
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from accounts.models import Account
from climcrm.search import among, contains, search_order
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
        condition = contains(value, "name", "city")
        normalized = normalize_company_name(value)
        if normalized:
            condition |= Q(normalized_name__contains=normalized)
        return queryset.filter(condition)

    def search_order(self) -> list:
        """Accounts whose name starts with the search, then whose name contains it, first."""
        return search_order(self, "name")

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
        # The account's name by its own index, not through the join.
        return queryset.filter(
            contains(value, "last_name", "first_name", "email")
            | among("account_id", Account.objects.filter(name__icontains=value))
        )

    def search_order(self) -> list:
        """Contacts whose last or first name starts with the search, then contains it, first."""
        return search_order(self, "last_name", "first_name")
