"""Scoping in one place: every read starts from the querysets below.

A partner user sees only their partner's opportunities, the accounts and contacts of those
deals, their partner's leads, activities and reviews. Internal users see everything.
Anything outside the scope answers 404 (``get_visible_or_404``).
"""

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import Http404

from climcrm.roles import is_internal, is_partner_user


def _nothing(qs: QuerySet) -> QuerySet:
    return qs.none()


def visible_opportunities(user) -> QuerySet:
    from opportunities.models import Opportunity

    qs = Opportunity.objects.all()
    if is_partner_user(user):
        return qs.filter(partner_id=user.partner_id)
    return qs if is_internal(user) else _nothing(qs)


def visible_accounts(user) -> QuerySet:
    from accounts.models import Account
    from opportunities.models import Opportunity

    qs = Account.objects.all()
    if is_partner_user(user):
        deals = Opportunity.objects.filter(account=OuterRef("pk"), partner_id=user.partner_id)
        return qs.filter(Q(Exists(deals)) | Q(partner__id=user.partner_id))
    return qs if is_internal(user) else _nothing(qs)


def visible_contacts(user) -> QuerySet:
    from accounts.models import Contact
    from opportunities.models import Opportunity

    qs = Contact.objects.all()
    if is_partner_user(user):
        deals = Opportunity.objects.filter(
            account=OuterRef("account_id"), partner_id=user.partner_id
        )
        return qs.filter(Exists(deals))
    return qs if is_internal(user) else _nothing(qs)


def visible_partners(user) -> QuerySet:
    from accounts.models import Partner

    qs = Partner.objects.all()
    if is_partner_user(user):
        return qs.filter(pk=user.partner_id)
    return qs if is_internal(user) else _nothing(qs)


def visible_leads(user) -> QuerySet:
    from leads.models import Lead

    qs = Lead.objects.all()
    if is_partner_user(user):
        return qs.filter(partner_id=user.partner_id)
    return qs if is_internal(user) else _nothing(qs)


def visible_activities(user) -> QuerySet:
    from activities.models import Activity

    qs = Activity.objects.all()
    if is_partner_user(user):
        return qs.filter(
            Q(opportunity__partner_id=user.partner_id) | Q(lead__partner_id=user.partner_id)
        )
    return qs if is_internal(user) else _nothing(qs)


def visible_reviews(user) -> QuerySet:
    from pipeline_reviews.models import Review

    qs = Review.objects.all()
    if is_partner_user(user):
        return qs.filter(partner_id=user.partner_id)
    return qs if is_internal(user) else _nothing(qs)


def get_visible_or_404(queryset: QuerySet, **lookup):
    """The object if it is in the user's scope, else 404 (never 403: no existence leak)."""
    try:
        return queryset.get(**lookup)
    except (queryset.model.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404 from exc
