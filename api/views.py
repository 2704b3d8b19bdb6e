"""The REST API (``/api/v1/``): reads start from the ``visible_*`` querysets of the pages,
writes go through the services. Anything outside the user's scope answers 404."""

from django.http import Http404
from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import generics, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.filters import OrderingFilter
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import Account, Contact
from accounts.services import account_create, account_update, contact_create, contact_update
from accounts.visibility import visible_accounts, visible_contacts
from activities.models import Activity
from activities.services import activity_create
from activities.visibility import visible_activities
from api import serializers as s
from api.services import activity_change, lead_change, lead_receive
from climcrm.periods import MONTH, QUARTER, parse_period
from climcrm.roles import is_internal, is_partner_user
from climcrm.visibility import get_visible_or_404
from forecasting.reports.forecast import forecast_report
from forecasting.scopes import parse_scope
from leads.models import Lead, LeadStatus
from leads.selectors import likely_duplicate_accounts, likely_duplicate_contacts
from leads.visibility import visible_leads
from opportunities.models import Opportunity
from opportunities.services import opportunity_create, opportunity_update
from opportunities.visibility import visible_opportunities
from partners.models import DealRegistration
from partners.selectors import visible_registrations
from partners.services import registration_submit


class ScopedMixin:
    """``get_object`` looks the pk up in the user's scope only: 404 otherwise."""

    def get_object(self):
        obj = get_visible_or_404(self.get_queryset(), pk=self.kwargs["pk"])
        self.check_object_permissions(self.request, obj)
        return obj


# --- leads --------------------------------------------------------------------------


class LeadFilter(filters.FilterSet):
    created_after = filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")
    updated_after = filters.IsoDateTimeFilter(field_name="updated_at", lookup_expr="gte")

    class Meta:
        model = Lead
        fields = ["status", "source", "campaign", "origin", "owner", "partner", "email"]


@extend_schema_view(
    get=extend_schema(summary=_("Leads the user sees")),
    post=extend_schema(
        summary=_("Create a lead (inbound: marketing automation)"),
        request=s.LeadCreateSerializer,
        responses={201: s.ReceivedLeadSerializer, 200: s.ReceivedLeadSerializer},
        parameters=[
            OpenApiParameter(
                "Idempotency-Key",
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                description=_(
                    "The same key twice creates one lead: the second answer is the "
                    "first lead (200)."
                ),
            )
        ],
    ),
)
class LeadList(generics.ListCreateAPIView):
    serializer_class = s.LeadSerializer
    filterset_class = LeadFilter
    ordering_fields = ["id", "created_at", "updated_at", "last_name", "company", "status"]
    ordering = ["-id"]

    def get_queryset(self):
        return visible_leads(self.request.user)

    def create(self, request, *args, **kwargs):
        incoming = s.LeadCreateSerializer(data=request.data, context={"request": request})
        incoming.is_valid(raise_exception=True)
        values = dict(incoming.validated_data)
        mql = values.pop("status", LeadStatus.NEW) == LeadStatus.MQL
        received = lead_receive(
            by=request.user,
            values=values,
            idempotency_key=request.headers.get("Idempotency-Key", ""),
            mql=mql,
        )
        lead = received.lead
        duplicates = {
            "accounts": [a.pk for a in likely_duplicate_accounts(user=request.user, lead=lead)],
            "contacts": [c.pk for c in likely_duplicate_contacts(user=request.user, lead=lead)],
        }
        body = s.ReceivedLeadSerializer(
            lead, context={"request": request, "duplicates": duplicates}
        ).data
        return Response(body, status=status.HTTP_201_CREATED if received.created else 200)


@extend_schema_view(
    get=extend_schema(summary=_("A lead")),
    patch=extend_schema(summary=_("Change a lead"), request=s.LeadUpdateSerializer),
)
class LeadDetail(ScopedMixin, generics.RetrieveAPIView):
    serializer_class = s.LeadSerializer

    def get_queryset(self):
        return visible_leads(self.request.user)

    def patch(self, request, pk):
        lead = self.get_object()
        incoming = s.LeadUpdateSerializer(data=request.data, context={"request": request})
        incoming.is_valid(raise_exception=True)
        changes = dict(incoming.validated_data)
        to_status = changes.pop("status", "")
        reason = changes.pop("disqualification_reason", "")
        lead = lead_change(
            lead=lead, by=request.user, changes=changes, status=to_status, reason=reason
        )
        return Response(s.LeadSerializer(lead, context={"request": request}).data)


@extend_schema_view(get=extend_schema(summary=_("The status changes of a lead")))
class LeadHistoryList(generics.ListAPIView):
    serializer_class = s.LeadStatusChangeSerializer
    ordering_fields = ["id", "changed_at"]
    ordering = ["-id"]
    filter_backends = [OrderingFilter]

    def get_queryset(self):
        lead = get_visible_or_404(visible_leads(self.request.user), pk=self.kwargs["pk"])
        return lead.status_changes.all()


# --- accounts and contacts ------------------------------------------------------------


class AccountFilter(filters.FilterSet):
    name = filters.CharFilter(lookup_expr="icontains")
    updated_after = filters.IsoDateTimeFilter(field_name="updated_at", lookup_expr="gte")

    class Meta:
        model = Account
        fields = ["owner", "city", "country", "industry"]


@extend_schema_view(
    get=extend_schema(summary=_("Accounts the user sees")),
    post=extend_schema(
        summary=_("Create an account (internal users)"),
        request=s.AccountWriteSerializer,
        responses={201: s.AccountSerializer},
    ),
)
class AccountList(generics.ListCreateAPIView):
    serializer_class = s.AccountSerializer
    filterset_class = AccountFilter
    ordering_fields = ["id", "name", "created_at", "updated_at"]
    ordering = ["-id"]

    def get_queryset(self):
        return visible_accounts(self.request.user)

    def create(self, request, *args, **kwargs):
        _require_internal(request.user)
        incoming = s.AccountWriteSerializer(data=request.data, context={"request": request})
        incoming.is_valid(raise_exception=True)
        account = account_create(by=request.user, **incoming.validated_data)
        body = s.AccountSerializer(account, context={"request": request}).data
        return Response(body, status=status.HTTP_201_CREATED)


@extend_schema_view(
    get=extend_schema(summary=_("An account")),
    patch=extend_schema(
        summary=_("Change an account (its owner, their manager or an admin)"),
        request=s.AccountWriteSerializer,
    ),
)
class AccountDetail(ScopedMixin, generics.RetrieveAPIView):
    serializer_class = s.AccountSerializer

    def get_queryset(self):
        return visible_accounts(self.request.user)

    def patch(self, request, pk):
        account = self.get_object()
        incoming = s.AccountWriteSerializer(data=request.data, context={"request": request})
        incoming.is_valid(raise_exception=True)
        account = account_update(
            account=account, by=request.user, changes=dict(incoming.validated_data)
        )
        return Response(s.AccountSerializer(account, context={"request": request}).data)


class ContactFilter(filters.FilterSet):
    updated_after = filters.IsoDateTimeFilter(field_name="updated_at", lookup_expr="gte")

    class Meta:
        model = Contact
        fields = ["account", "email", "is_decision_maker"]


def _require_internal(user) -> None:
    if not is_internal(user):
        raise PermissionDenied(_("Only internal users change accounts and contacts."))


@extend_schema_view(
    get=extend_schema(summary=_("Contacts the user sees")),
    post=extend_schema(
        summary=_("Create a contact (internal users)"),
        request=s.ContactWriteSerializer,
        responses={201: s.ContactSerializer},
    ),
)
class ContactList(generics.ListCreateAPIView):
    serializer_class = s.ContactSerializer
    filterset_class = ContactFilter
    ordering_fields = ["id", "last_name", "created_at", "updated_at"]
    ordering = ["-id"]

    def get_queryset(self):
        return visible_contacts(self.request.user)

    def create(self, request, *args, **kwargs):
        _require_internal(request.user)
        incoming = s.ContactWriteSerializer(data=request.data, context={"request": request})
        incoming.is_valid(raise_exception=True)
        contact = contact_create(by=request.user, **incoming.validated_data)
        body = s.ContactSerializer(contact, context={"request": request}).data
        return Response(body, status=status.HTTP_201_CREATED)


@extend_schema_view(
    get=extend_schema(summary=_("A contact")),
    patch=extend_schema(
        summary=_("Change a contact (internal users)"), request=s.ContactWriteSerializer
    ),
)
class ContactDetail(ScopedMixin, generics.RetrieveAPIView):
    serializer_class = s.ContactSerializer

    def get_queryset(self):
        return visible_contacts(self.request.user)

    def patch(self, request, pk):
        contact = self.get_object()
        _require_internal(request.user)
        incoming = s.ContactWriteSerializer(data=request.data, context={"request": request})
        incoming.is_valid(raise_exception=True)
        contact = contact_update(
            contact=contact, by=request.user, changes=dict(incoming.validated_data)
        )
        return Response(s.ContactSerializer(contact, context={"request": request}).data)


# --- opportunities --------------------------------------------------------------------


class OpportunityFilter(filters.FilterSet):
    close_date = filters.DateFromToRangeFilter()
    updated_after = filters.IsoDateTimeFilter(field_name="updated_at", lookup_expr="gte")

    class Meta:
        model = Opportunity
        fields = ["stage", "forecast_category", "owner", "partner", "account", "type"]


@extend_schema_view(
    get=extend_schema(summary=_("Opportunities the user sees")),
    post=extend_schema(
        summary=_("Create an opportunity (internal users; partners register deals)"),
        request=s.OpportunityCreateSerializer,
        responses={201: s.OpportunitySerializer},
    ),
)
class OpportunityList(generics.ListCreateAPIView):
    serializer_class = s.OpportunitySerializer
    filterset_class = OpportunityFilter
    ordering_fields = ["id", "close_date", "created_at", "updated_at", "name"]
    ordering = ["-id"]

    def get_queryset(self):
        return visible_opportunities(self.request.user)

    def create(self, request, *args, **kwargs):
        if not is_internal(request.user):
            raise PermissionDenied(_("Partner users bring deals in through deal registration."))
        incoming = s.OpportunityCreateSerializer(data=request.data, context={"request": request})
        incoming.is_valid(raise_exception=True)
        deal = opportunity_create(by=request.user, **incoming.validated_data)
        body = s.OpportunitySerializer(deal, context={"request": request}).data
        return Response(body, status=status.HTTP_201_CREATED)


@extend_schema_view(
    get=extend_schema(summary=_("An opportunity")),
    patch=extend_schema(
        summary=_("Change an opportunity (stage machine, permissions, version read)"),
        request=s.OpportunityUpdateSerializer,
        responses={200: s.OpportunitySerializer, 409: OpenApiTypes.OBJECT},
    ),
)
class OpportunityDetail(ScopedMixin, generics.RetrieveAPIView):
    serializer_class = s.OpportunitySerializer

    def get_queryset(self):
        return visible_opportunities(self.request.user)

    def patch(self, request, pk):
        deal = self.get_object()
        incoming = s.OpportunityUpdateSerializer(data=request.data, context={"request": request})
        incoming.is_valid(raise_exception=True)
        changes = dict(incoming.validated_data)
        reason_code = changes.pop("reason_code", "") or None
        reason_text = changes.pop("reason_text", "")
        opportunity_update(
            opportunity=deal,
            by=request.user,
            changes=changes,
            expected_version=request.data.get("version"),
            reason_code=reason_code,
            reason_text=reason_text,
        )
        deal.refresh_from_db()
        return Response(s.OpportunitySerializer(deal, context={"request": request}).data)


@extend_schema_view(get=extend_schema(summary=_("The history rows of an opportunity")))
class OpportunityHistoryList(generics.ListAPIView):
    serializer_class = s.OpportunityHistorySerializer
    ordering_fields = ["version"]
    ordering = ["-version"]
    filter_backends = [OrderingFilter]

    def get_queryset(self):
        deal = get_visible_or_404(visible_opportunities(self.request.user), pk=self.kwargs["pk"])
        return deal.history.all()


# --- activities and registrations -----------------------------------------------------


class ActivityFilter(filters.FilterSet):
    due_date = filters.DateFromToRangeFilter()

    class Meta:
        model = Activity
        fields = ["kind", "done", "assignee", "lead", "opportunity", "account"]


@extend_schema_view(
    get=extend_schema(summary=_("Activities the user sees")),
    post=extend_schema(
        summary=_("Log an activity or plan a to-do"),
        request=s.ActivityCreateSerializer,
        responses={201: s.ActivitySerializer},
    ),
)
class ActivityList(generics.ListCreateAPIView):
    serializer_class = s.ActivitySerializer
    filterset_class = ActivityFilter
    ordering_fields = ["id", "created_at", "updated_at"]
    ordering = ["-id"]

    def get_queryset(self):
        return visible_activities(self.request.user)

    def create(self, request, *args, **kwargs):
        incoming = s.ActivityCreateSerializer(data=request.data, context={"request": request})
        incoming.is_valid(raise_exception=True)
        values = dict(incoming.validated_data)
        values.setdefault("subject", "")
        activity = activity_create(by=request.user, **values)
        body = s.ActivitySerializer(activity, context={"request": request}).data
        return Response(body, status=status.HTTP_201_CREATED)


@extend_schema_view(
    get=extend_schema(summary=_("An activity")),
    patch=extend_schema(
        summary=_("Change an activity, mark it done or open again"),
        request=s.ActivityUpdateSerializer,
    ),
)
class ActivityDetail(ScopedMixin, generics.RetrieveAPIView):
    serializer_class = s.ActivitySerializer

    def get_queryset(self):
        return visible_activities(self.request.user)

    def patch(self, request, pk):
        activity = self.get_object()
        incoming = s.ActivityUpdateSerializer(data=request.data, context={"request": request})
        incoming.is_valid(raise_exception=True)
        changes = dict(incoming.validated_data)
        done = changes.pop("done", None)
        activity = activity_change(activity=activity, by=request.user, changes=changes, done=done)
        return Response(s.ActivitySerializer(activity, context={"request": request}).data)


class RegistrationFilter(filters.FilterSet):
    class Meta:
        model = DealRegistration
        fields = ["status", "partner"]


@extend_schema_view(
    get=extend_schema(summary=_("Deal registrations the user sees")),
    post=extend_schema(
        summary=_("Register a deal"),
        request=s.RegistrationCreateSerializer,
        responses={201: s.RegistrationSerializer},
    ),
)
class RegistrationList(generics.ListCreateAPIView):
    serializer_class = s.RegistrationSerializer
    filterset_class = RegistrationFilter
    ordering_fields = ["id", "submitted_at", "created_at", "updated_at"]
    ordering = ["-id"]

    def get_queryset(self):
        return visible_registrations(self.request.user)

    def create(self, request, *args, **kwargs):
        incoming = s.RegistrationCreateSerializer(data=request.data, context={"request": request})
        incoming.is_valid(raise_exception=True)
        registration = registration_submit(by=request.user, **incoming.validated_data)
        body = s.RegistrationSerializer(registration, context={"request": request}).data
        return Response(body, status=status.HTTP_201_CREATED)


@extend_schema_view(get=extend_schema(summary=_("A deal registration")))
class RegistrationDetail(ScopedMixin, generics.RetrieveAPIView):
    serializer_class = s.RegistrationSerializer

    def get_queryset(self):
        return visible_registrations(self.request.user)


# --- forecast -------------------------------------------------------------------------


class Forecast(APIView):
    """The forecast of a period as on the forecast page: Closed, Commit, Best Case and
    Pipeline per rep, team, partner or channel manager (partner users: their partner)."""

    @extend_schema(
        summary=_("The forecast figures of a period"),
        parameters=[
            OpenApiParameter("period", OpenApiTypes.STR, description="2026-Q1, 2026-03…"),
            OpenApiParameter("kind", OpenApiTypes.STR, enum=[MONTH, QUARTER, "year"]),
            OpenApiParameter("group", OpenApiTypes.STR, enum=["rep", "team", "partner", "channel"]),
            OpenApiParameter("scope", OpenApiTypes.STR, description="rep:12, team:3, partner:5…"),
        ],
        responses=s.ForecastSerializer,
    )
    def get(self, request):
        user = request.user
        if not (is_internal(user) or is_partner_user(user)):
            raise Http404
        kind = request.query_params.get("kind")
        period = parse_period(
            request.query_params.get("period"), kind if kind in (MONTH, QUARTER, "year") else None
        )
        scope = parse_scope(request.query_params.get("scope"), user=user)
        report = forecast_report(
            user=user, period=period, group=request.query_params.get("group") or "rep", scope=scope
        )
        data = {
            "period": period.key,
            "group": report.group,
            "rows": report.rows,
            "total": report.total,
        }
        return Response(s.ForecastSerializer(data).data)
