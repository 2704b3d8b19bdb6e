"""The request a page view receives, typed.

Every page but the public ones (``login_not_required``) sits behind Django's
``LoginRequiredMiddleware``, so its user is a ``User``; django-htmx's middleware has read the
request's HTMX headers into ``request.htmx``. Views annotate ``request: UserRequest`` so the
services they call receive a ``User`` without a cast.
"""

from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails

from climcrm.models import User


class UserRequest(HttpRequest):
    user: User
    htmx: HtmxDetails
