"""Requests per token (or per signed-in user), counted by ``climcrm.ratelimit`` in the
database so every web server sees the same count."""

from django.conf import settings
from rest_framework.throttling import BaseThrottle

from api.models import ApiToken
from climcrm.ratelimit import hit, parse_rate


class TokenRateThrottle(BaseThrottle):
    def allow_request(self, request, view):
        if request.user is None or not request.user.is_authenticated:
            return True
        token = request.auth
        key = f"token:{token.pk}" if isinstance(token, ApiToken) else f"user:{request.user.pk}"
        return hit(scope="api", key=key, rate=settings.CRM_API_RATE)

    def wait(self):
        return parse_rate(settings.CRM_API_RATE)[1].total_seconds()
