from axes.utils import reset as axes_reset
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import ValidationError
from django.db import connection
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    JsonResponse,
    QueryDict,
)
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST
from django.views.i18n import set_language as django_set_language
from django_htmx.http import trigger_client_event

from climcrm import ratelimit, saved_views
from climcrm.forms import LoginForm, PasswordResetForm
from climcrm.http import UserRequest
from climcrm.models import AuditEntry, SavedView
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


# --- saved views -----------------------------------------------------------------------


def _view_list_name(value: str) -> str:
    if value not in SavedView.List.values:
        raise Http404
    return value


def _menu_response(request: UserRequest, list_name: str, current: str, *, status: int = 200):
    menu = saved_views.saved_view_menu(user=request.user, list_name=list_name)
    saved_views.remember_defaults(request)
    spec = saved_views.LISTS[list_name]
    recent = ""
    if spec.recent:
        params = QueryDict(current, mutable=True)
        params.pop("page", None)
        params["ordering"] = spec.recent
        recent = saved_views.list_url(list_name, params.urlencode())
    for view in (*menu.mine, *menu.shared):
        view.url = saved_views.list_url(list_name, view.query)
        view.is_current = saved_views.same_query(view.query, current)
    suggested = [
        {
            "label": label,
            "url": saved_views.list_url(list_name, query),
            "is_current": saved_views.same_query(query, current),
        }
        for label, query in saved_views.suggested_views(user=request.user, list_name=list_name)
    ]
    context = {
        "menu": menu,
        "suggested": suggested,
        "list_name": list_name,
        "current": current,
        "bare_url": saved_views.list_url(list_name, saved_views.NO_VIEW_QUERY),
        "recent_url": recent,
        "list_url": saved_views.list_url(list_name, current),
    }
    template = "climcrm/saved_views.html"
    if request.htmx:
        template += "#view-menu"
    return render(request, template, context, status=status)


@require_GET
def saved_view_menu(request: UserRequest) -> HttpResponse:
    """The views of a list (the list page's "Views" menu, or a page of its own)."""
    list_name = _view_list_name(request.GET.get("list", ""))
    return _menu_response(request, list_name, request.GET.get("current", "")[:2000])


def _after_change(request: UserRequest, list_name: str, current: str, text: str, kind="success"):
    if request.htmx:
        status = 200 if kind == "success" else 400
        response = _menu_response(request, list_name, current, status=status)
        return trigger_client_event(response, "toast", {"text": text, "kind": kind})
    saved_views.remember_defaults(request)
    if kind == "success":
        messages.success(request, text)
    else:
        messages.error(request, text)
    return redirect(saved_views.list_url(list_name, current))


@require_POST
def saved_view_create(request: UserRequest) -> HttpResponse:
    list_name = _view_list_name(request.POST.get("list", ""))
    current = request.POST.get("current", "")[:2000]
    try:
        view = saved_views.saved_view_create(
            owner=request.user,
            request=request,
            list_name=list_name,
            name=request.POST.get("name", "")[:80],
            query=current,
            shared=request.POST.get("shared") == "on",
        )
    except ValidationError as error:
        return _after_change(request, list_name, current, " ".join(error.messages), "error")
    if request.POST.get("default") == "on":
        saved_views.saved_view_set_default(user=request.user, view=view, list_name=list_name)
    text = _("View “%(name)s” saved.") % {"name": view.name}
    return _after_change(request, list_name, view.query, text)


@require_GET
def saved_view_open(request: UserRequest, pk: int) -> HttpResponse:
    view = saved_views.saved_view_get(user=request.user, pk=pk)
    return redirect(saved_views.list_url(view.list_name, view.query or saved_views.NO_VIEW_QUERY))


@require_POST
def saved_view_edit(request: UserRequest, pk: int) -> HttpResponse:
    view = saved_views.owned_saved_view_get(user=request.user, pk=pk)
    current = request.POST.get("current", "")[:2000]
    try:
        view = saved_views.saved_view_update(
            view=view,
            name=request.POST.get("name", "")[:80],
            shared=request.POST.get("shared") == "on",
        )
    except ValidationError as error:
        return _after_change(request, view.list_name, current, " ".join(error.messages), "error")
    text = _("View “%(name)s” saved.") % {"name": view.name}
    return _after_change(request, view.list_name, current, text)


@require_POST
def saved_view_delete(request: UserRequest, pk: int) -> HttpResponse:
    view = saved_views.owned_saved_view_get(user=request.user, pk=pk)
    list_name, name = view.list_name, view.name
    saved_views.saved_view_delete(view=view)
    text = _("View “%(name)s” deleted.") % {"name": name}
    return _after_change(request, list_name, request.POST.get("current", "")[:2000], text)


@require_POST
def saved_view_default(request: UserRequest) -> HttpResponse:
    """Make a view (one's own or the team's) the list's default, or none (empty view)."""
    list_name = _view_list_name(request.POST.get("list", ""))
    view = None
    if request.POST.get("view"):
        view = saved_views.saved_view_get(user=request.user, pk=request.POST["view"])
        if view.list_name != list_name:
            raise Http404
    saved_views.saved_view_set_default(user=request.user, view=view, list_name=list_name)
    if view is None:
        text = _("This list now opens without a view.")
    else:
        text = _("This list now opens with “%(name)s”.") % {"name": view.name}
    return _after_change(request, list_name, request.POST.get("current", "")[:2000], text)
