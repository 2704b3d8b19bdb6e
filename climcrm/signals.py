from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from climcrm.models import AuditEntry


def client_ip(request) -> str | None:
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None


@receiver(user_logged_in)
def _audit_login(sender, request, user, **kwargs):
    AuditEntry.objects.create(
        user=user, action=AuditEntry.Action.LOGIN, ip_address=client_ip(request)
    )


@receiver(user_logged_in)
def _remember_default_views(sender, request, user, **kwargs):
    """The list pages read the user's default views from the session (no query of theirs)."""
    from climcrm.saved_views import remember_defaults

    if request is not None and hasattr(request, "session"):
        remember_defaults(request, user)


@receiver(user_logged_out)
def _audit_logout(sender, request, user, **kwargs):
    if user is not None:
        AuditEntry.objects.create(
            user=user, action=AuditEntry.Action.LOGOUT, ip_address=client_ip(request)
        )


@receiver(user_login_failed)
def _audit_login_failed(sender, credentials, request=None, **kwargs):
    AuditEntry.objects.create(
        action=AuditEntry.Action.LOGIN_FAILED,
        detail=str(credentials.get("username", ""))[:300],
        ip_address=client_ip(request),
    )
