"""The token section of the user's page (create, revoke): plain Django views, session only."""

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from api.selectors import api_token_of_user_or_none
from api.services import api_token_create, api_token_revoke

TOKEN_PAGE = "password_change"


@never_cache
@require_POST
def token_create(request: HttpRequest) -> HttpResponse:
    new = api_token_create(user=request.user, name=request.POST.get("name", ""))
    # The secret is shown on this answer only (never stored, never put in a URL).
    return render(request, "api/token_created.html", {"token": new.token, "secret": new.secret})


@require_POST
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    token = api_token_of_user_or_none(user=request.user, pk=pk)
    if token is None:
        raise Http404
    api_token_revoke(token=token)
    messages.success(request, _("The token “%(name)s” was revoked.") % {"name": token.name})
    return redirect(TOKEN_PAGE)
