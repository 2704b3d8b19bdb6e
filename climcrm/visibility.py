"""Scoping: every read starts from a ``visible_*`` queryset, one per kind of record, each in
the app that owns the record (``opportunities.visibility`` and siblings) and all built here
by ``scoped``.

A partner user sees only their partner's opportunities, the accounts and contacts of those
deals, their partner's leads, activities and reviews. Internal users see everything.
Anything outside the scope answers 404 (``get_visible_or_404``).
"""

from collections.abc import Callable

from django.db.models import Q, QuerySet
from django.http import Http404

from climcrm.roles import is_internal, is_partner_user


def scoped(queryset: QuerySet, user, partner_scope: Callable[[int], Q]) -> QuerySet:
    """``queryset`` as ``user`` sees it: all of it for an internal user, the rows
    ``partner_scope(partner id)`` selects for a partner user, nothing for anyone else."""
    if is_partner_user(user):
        return queryset.filter(partner_scope(user.partner_id))
    return queryset if is_internal(user) else queryset.none()


def get_visible_or_404(queryset: QuerySet, **lookup):
    """The object if it is in the user's scope, else 404 (never 403: no existence leak)."""
    try:
        return queryset.get(**lookup)
    except (queryset.model.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404 from exc
