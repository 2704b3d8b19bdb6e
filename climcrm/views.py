from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse_lazy
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST
from django.views.i18n import set_language as django_set_language

from climcrm import selectors
from climcrm.forms import LoginForm
from climcrm.models import AuditEntry


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


@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    context = selectors.dashboard_context(user=request.user)
    return render(request, "climcrm/dashboard.html", context)


@require_GET
def search(request: HttpRequest) -> HttpResponse:
    query = (request.GET.get("q") or "").strip()[:100]
    results = selectors.global_search(user=request.user, query=query)
    template = "climcrm/search.html"
    if request.htmx and not request.htmx.boosted:
        template += "#results"
    # ``search_query`` fills the header's box: other pages have a ``query`` of their own.
    context = {"query": query, "search_query": query, "results": results}
    return render(request, template, context)
