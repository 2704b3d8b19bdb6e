from django.db.models import QuerySet

from climcrm.models import AuditEntry
from privacy.filters import AuditEntryFilter


def audit_entries(*, params) -> tuple[AuditEntryFilter, QuerySet]:
    """The audit log, newest first, filtered by the query string (invalid filters: nothing)."""
    queryset = AuditEntry.objects.select_related("user").order_by("-at", "-pk")
    filterset = AuditEntryFilter(params, queryset=queryset)
    if not filterset.is_valid():
        return filterset, queryset.none()
    return filterset, filterset.qs
