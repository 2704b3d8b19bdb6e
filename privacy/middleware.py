"""Request hygiene, before the CSRF check reads the body (listed before it in MIDDLEWARE).

Uploads over the limit are refused from their Content-Length: otherwise the CSRF check would
parse the whole multipart body (spooling the files to disk, for anonymous visitors too)
before any view could look at its size. Views exempt from the middleware's CSRF check read
their body themselves and enforce the limit as they read (the lead import does, to show the
error in its form): they are left alone. NUL characters in parameters are refused too.
"""

from django.conf import settings
from django.http import HttpResponse
from django.shortcuts import render
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from django_htmx.http import trigger_client_event

# Room for the other fields and the multipart boundaries around the file.
ENVELOPE_BYTES = 64 * 1024


class UploadSizeLimitMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        # Runs before CsrfViewMiddleware.process_view (listed before it in MIDDLEWARE).
        if request.method not in ("POST", "PUT", "PATCH"):
            return None
        if getattr(view_func, "csrf_exempt", False):
            return None
        try:
            length = int(request.META.get("CONTENT_LENGTH") or "0")
        except ValueError:
            return HttpResponse(_("Invalid request."), status=400)
        if length > settings.CRM_MAX_UPLOAD_BYTES + ENVELOPE_BYTES:
            return self.refuse(request)
        return None

    @staticmethod
    def refuse(request) -> HttpResponse:
        message = _("The file is too large (maximum %(size)s).") % {
            "size": filesizeformat(settings.CRM_MAX_UPLOAD_BYTES)
        }
        # The body is never read, so the connection cannot be reused for another request.
        if request.headers.get("HX-Request"):
            response = HttpResponse(message, status=413)
            trigger_client_event(response, "toast", {"text": message, "kind": "error"})
        else:
            response = render(
                request,
                "privacy/upload_too_large.html",
                {"message": message, "back_url": request.get_full_path()},
                status=413,
            )
        response["Connection"] = "close"
        return response


class NulCharacterMiddleware:
    """A NUL character in a parameter is refused (400) before any view sees it.

    PostgreSQL cannot store or compare text containing NUL: without this, a ``?q=%00``
    in any search or filter would end in a database error.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if _has_nul(request.GET) or (
            # The CSRF check reads these fields next anyway; exempt views read their own body.
            request.method == "POST"
            and not getattr(view_func, "csrf_exempt", False)
            and _has_nul(request.POST)
        ):
            return HttpResponse(_("Invalid request."), status=400)
        return None


def _has_nul(params) -> bool:
    return any("\x00" in key or any("\x00" in v for v in values) for key, values in params.lists())
