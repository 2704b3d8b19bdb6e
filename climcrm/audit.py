"""Audit entries written by the views (exports) and services (anonymisation)."""

from climcrm.models import AuditEntry


def audit(*, user, action: str, detail: str = "", request=None) -> AuditEntry:
    ip = request.META.get("REMOTE_ADDR") if request is not None else None
    return AuditEntry.objects.create(
        user=user if getattr(user, "is_authenticated", False) else None,
        action=action,
        detail=detail[:300],
        ip_address=ip or None,
    )


def audit_export(request, what: str) -> AuditEntry:
    """Call from every CSV export: who exported what (with the filters used)."""
    query = request.GET.urlencode()
    return audit(
        user=request.user,
        action=AuditEntry.Action.EXPORT,
        detail=f"{what}?{query}" if query else what,
        request=request,
    )
