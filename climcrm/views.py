from axes.utils import reset as axes_reset
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.urls import reverse_lazy
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST
from django.views.i18n import set_language as django_set_language

from climcrm import ratelimit
from climcrm.forms import LoginForm, PasswordResetForm
from climcrm.models import AuditEntry
from climcrm.tasks import send_password_reset


class LoginView(auth_views.LoginView):
    authentication_form = LoginForm
    redirect_authenticated_user = True


class PasswordChangeView(auth_views.PasswordChangeView):
    success_url = reverse_lazy("dashboard")

    def form_valid(self, form):
        response = super().form_valid(form)
        # Every other session of this user ends: the session auth hash changed, and only
        # this one was updated.
        update_session_auth_hash(self.request, form.user)
        AuditEntry.objects.create(user=form.user, action=AuditEntry.Action.PASSWORD_CHANGE)
        messages.success(
            self.request, _("Your password was changed. Other sessions were logged out.")
        )
        return response


def _client_ip(request: HttpRequest) -> str:
    return request.META.get("REMOTE_ADDR") or "0.0.0.0"


class PasswordResetView(auth_views.PasswordResetView):
    """Django's reset by email: the same answer, as fast, for a known and an unknown
    address; limited per IP address and per address asked for (counted in the database)."""

    form_class = PasswordResetForm

    def form_valid(self, form):
        email = form.cleaned_data["email"].strip().lower()
        # Both are counted on every request, whatever the other says.
        ip_ok = ratelimit.hit(
            scope="password_reset_ip",
            key=_client_ip(self.request),
            rate=settings.CRM_PASSWORD_RESET_RATE_IP,
        )
        email_ok = ratelimit.hit(
            scope="password_reset_email", key=email, rate=settings.CRM_PASSWORD_RESET_RATE_EMAIL
        )
        if not (ip_ok and email_ok):
            form.add_error(None, _("Too many requests. Please try again later."))
            return self.render_to_response(self.get_context_data(form=form), status=429)
        # The worker looks the address up and writes the email: this answer is the same,
        # as fast, whether the address is known or not, and no mail server holds it.
        send_password_reset.enqueue(form.cleaned_data["email"].strip())
        return HttpResponseRedirect(self.get_success_url())


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    def get_user(self, uidb64):
        user = super().get_user(uidb64)
        # A link sent before the account was deactivated opens nothing.
        return user if user is not None and user.is_active else None

    def form_valid(self, form):
        response = super().form_valid(form)
        AuditEntry.objects.create(
            user=form.user,
            action=AuditEntry.Action.PASSWORD_RESET,
            ip_address=_client_ip(self.request),
        )
        # Whoever proved they own the address is no longer locked out by failed logins.
        axes_reset(username=form.user.get_username())
        return response


@login_not_required
@require_POST
def set_language(request: HttpRequest) -> HttpResponse:
    """Django's language switch, remembered on the user's profile too."""
    response = django_set_language(request)
    language = request.POST.get("language")
    if request.user.is_authenticated and language in ("fr", "en"):
        request.user.language = language
        request.user.save(update_fields=["language"])
    return response


@login_not_required
@never_cache
@require_GET
def healthz(request: HttpRequest) -> HttpResponse:
    """For the load balancer: 200 when the database answers, 503 otherwise."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception:  # noqa: BLE001 - any database failure means "not healthy"
        return JsonResponse({"status": "error", "database": "unreachable"}, status=503)
    return JsonResponse({"status": "ok", "database": "ok"})
