"""The calendar feed (read by calendar programs, without a session) and its management
from the user's password and account page."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from integrations import calendar


@login_not_required
@require_GET
def calendar_feed(request: HttpRequest, token: str) -> HttpResponse:
    """The feed of the token's user; an unknown or revoked token answers 404."""
    user = calendar.feed_user(token)
    if user is None:
        raise Http404
    with translation.override(user.language or settings.LANGUAGE_CODE):
        body = calendar.feed_ics(user)
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="climcrm.ics"'
    response["Cache-Control"] = "private, no-store"
    return response


@require_POST
def calendar_feed_manage(request: HttpRequest) -> HttpResponse:
    """Make a new feed address (shown once) or revoke the current one."""
    if request.POST.get("action") == "revoke":
        if calendar.feed_revoke(user=request.user):
            messages.success(request, _("Your calendar address no longer works."))
        return redirect("password_change")
    token = calendar.feed_regenerate(user=request.user)
    url = settings.CRM_BASE_URL + reverse("integrations:calendar-feed", args=[token])
    return render(request, "integrations/calendar_feed_created.html", {"feed_url": url})
