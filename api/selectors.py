"""Reads of the API app: a user's tokens."""

from django.db.models import QuerySet

from api.models import ApiToken


def api_tokens_of(*, user) -> QuerySet:
    """The user's tokens, the newest first (revoked and expired ones included)."""
    return ApiToken.objects.filter(user=user).order_by("-created_at", "-pk")


def api_token_of_user_or_none(*, user, pk) -> ApiToken | None:
    try:
        return ApiToken.objects.filter(user=user).get(pk=pk)
    except (ApiToken.DoesNotExist, ValueError, TypeError):
        return None
