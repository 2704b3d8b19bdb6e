import django_filters
from django.utils.translation import gettext_lazy as _

from climcrm.models import AuditEntry, User


class AuditEntryFilter(django_filters.FilterSet):
    action = django_filters.ChoiceFilter(
        label=_("Action"), choices=AuditEntry.Action.choices, empty_label=_("All actions")
    )
    user = django_filters.ModelChoiceFilter(
        label=_("User"), queryset=User.objects.order_by("username"), empty_label=_("Everyone")
    )
    start = django_filters.DateFilter(field_name="at", lookup_expr="date__gte", label=_("From"))
    end = django_filters.DateFilter(field_name="at", lookup_expr="date__lte", label=_("Until"))

    class Meta:
        model = AuditEntry
        fields = ["action", "user", "start", "end"]
