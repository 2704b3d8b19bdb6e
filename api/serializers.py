"""What the API reads and writes. Reads list the record's fields; writes check only types
and known fields here and leave every rule to the services (same messages as the pages)."""

from decimal import ROUND_HALF_UP

from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.models import Account, Contact
from accounts.visibility import visible_accounts, visible_contacts, visible_partners
from activities.models import Activity, ActivityKind
from climcrm.choices import Source
from climcrm.fields import REASON_MAX_LENGTH
from climcrm.models import internal_users
from leads.models import Lead, LeadStatus, LeadStatusChange
from leads.visibility import visible_leads
from opportunities.models import (
    ForecastCategory,
    LossReason,
    Opportunity,
    OpportunityHistory,
    OpportunityType,
    Stage,
)
from opportunities.visibility import visible_opportunities
from partners.models import DealRegistration


class StrictSerializer(serializers.Serializer):
    """Refuses fields it does not know (or may not write): nothing is silently ignored."""

    extra_allowed: tuple[str, ...] = ()

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            raise serializers.ValidationError(
                {"non_field_errors": [_("Send a JSON object.")]}, code="invalid"
            )
        writable = {name for name, f in self.fields.items() if not f.read_only}
        unknown = sorted(set(data) - writable - set(self.extra_allowed))
        if unknown:
            raise serializers.ValidationError(
                {name: [_("Unknown or read-only field.")] for name in unknown}
            )
        return super().to_internal_value(data)


def _user_field(**kwargs):
    return serializers.PrimaryKeyRelatedField(queryset=internal_users(), **kwargs)


@extend_schema_field(OpenApiTypes.INT)
class ScopedRelatedField(serializers.PrimaryKeyRelatedField):
    """A related record picked among those the requesting user sees (others: "does not
    exist", as a 404 would say)."""

    def __init__(self, scope, **kwargs):
        self.scope = scope
        super().__init__(**kwargs)

    def get_queryset(self):
        return self.scope(self.context["request"].user)


# --- leads --------------------------------------------------------------------------


class LeadSerializer(serializers.ModelSerializer):
    class Meta:
        model = Lead
        fields = [
            "id",
            "first_name",
            "last_name",
            "email",
            "phone",
            "company",
            "job_title",
            "source",
            "campaign",
            "origin",
            "partner",
            "owner",
            "status",
            "status_changed_at",
            "reached_mql",
            "disqualification_reason",
            "notes",
            "project_name",
            "converted_opportunity",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class LeadStatusChangeSerializer(serializers.ModelSerializer):
    class Meta:
        model = LeadStatusChange
        fields = ["id", "lead", "from_status", "to_status", "changed_at", "changed_by"]
        read_only_fields = fields


class DuplicatesSerializer(serializers.Serializer):
    accounts = serializers.ListField(child=serializers.IntegerField())
    contacts = serializers.ListField(child=serializers.IntegerField())


class ReceivedLeadSerializer(LeadSerializer):
    """A lead as answered to its creation: with the likely duplicates the lead page shows."""

    duplicates = serializers.SerializerMethodField()

    class Meta(LeadSerializer.Meta):
        fields = [*LeadSerializer.Meta.fields, "duplicates"]
        read_only_fields = fields

    def get_duplicates(self, lead) -> DuplicatesSerializer:
        return self.context.get("duplicates", {"accounts": [], "contacts": []})


class LeadWriteSerializer(StrictSerializer):
    first_name = serializers.CharField(max_length=100, required=False, allow_blank=True)
    last_name = serializers.CharField(max_length=100, required=False, allow_blank=True)
    email = serializers.EmailField(max_length=254, required=False, allow_blank=True)
    phone = serializers.CharField(max_length=40, required=False, allow_blank=True)
    company = serializers.CharField(max_length=200, required=False, allow_blank=True)
    job_title = serializers.CharField(max_length=120, required=False, allow_blank=True)
    source = serializers.ChoiceField(choices=Source.choices, required=False)
    campaign = serializers.CharField(max_length=200, required=False, allow_blank=True)
    notes = serializers.CharField(max_length=5000, required=False, allow_blank=True)
    project_name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    owner = _user_field(required=False, allow_null=True)


class LeadCreateSerializer(LeadWriteSerializer):
    status = serializers.ChoiceField(
        choices=[(LeadStatus.NEW, LeadStatus.NEW.label), (LeadStatus.MQL, LeadStatus.MQL.label)],
        required=False,
        help_text=_("“mql” when marketing qualified the lead; “new” otherwise."),
    )


class LeadUpdateSerializer(LeadWriteSerializer):
    status = serializers.ChoiceField(
        choices=[
            (s, s.label)
            for s in (
                LeadStatus.NEW,
                LeadStatus.WORKING,
                LeadStatus.MQL,
                LeadStatus.DISQUALIFIED,
            )
        ],
        required=False,
    )
    disqualification_reason = serializers.CharField(
        max_length=2000, required=False, allow_blank=True
    )


# --- accounts and contacts ------------------------------------------------------------


class AccountSerializer(serializers.ModelSerializer):
    class Meta:
        model = Account
        fields = [
            "id",
            "name",
            "industry",
            "website",
            "street",
            "postal_code",
            "city",
            "country",
            "owner",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class AccountWriteSerializer(StrictSerializer):
    name = serializers.CharField(max_length=200, required=False)
    industry = serializers.CharField(max_length=100, required=False, allow_blank=True)
    website = serializers.CharField(max_length=200, required=False, allow_blank=True)
    street = serializers.CharField(max_length=200, required=False, allow_blank=True)
    postal_code = serializers.CharField(max_length=20, required=False, allow_blank=True)
    city = serializers.CharField(max_length=100, required=False, allow_blank=True)
    country = serializers.CharField(max_length=2, required=False)
    owner = _user_field(required=False, allow_null=True)
    notes = serializers.CharField(max_length=5000, required=False, allow_blank=True)


class ContactSerializer(serializers.ModelSerializer):
    class Meta:
        model = Contact
        fields = [
            "id",
            "first_name",
            "last_name",
            "email",
            "phone",
            "job_title",
            "account",
            "is_decision_maker",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class ContactWriteSerializer(StrictSerializer):
    first_name = serializers.CharField(max_length=100, required=False, allow_blank=True)
    last_name = serializers.CharField(max_length=100, required=False)
    email = serializers.EmailField(max_length=254, required=False, allow_blank=True)
    phone = serializers.CharField(max_length=40, required=False, allow_blank=True)
    job_title = serializers.CharField(max_length=120, required=False, allow_blank=True)
    account = ScopedRelatedField(visible_accounts, required=False)
    is_decision_maker = serializers.BooleanField(required=False)
    notes = serializers.CharField(max_length=5000, required=False, allow_blank=True)


# --- opportunities --------------------------------------------------------------------


class OpportunitySerializer(serializers.ModelSerializer):
    class Meta:
        model = Opportunity
        fields = [
            "id",
            "name",
            "account",
            "primary_contact",
            "owner",
            "partner",
            "type",
            "stage",
            "probability",
            "amount",
            "currency",
            "close_date",
            "expected_delivery",
            "forecast_category",
            "next_step",
            "next_step_date",
            "source",
            "lead",
            "loss_reason",
            "loss_reason_text",
            "stage_changed_at",
            "closed_at",
            "created_at",
            "updated_at",
            "version",
        ]
        read_only_fields = fields


class OpportunityUpdateSerializer(StrictSerializer):
    """The fields a change may carry; ``version`` (the version read) is required and checked
    by the service (missing or stale: 409)."""

    extra_allowed = ("version",)

    name = serializers.CharField(max_length=200, required=False)
    account = ScopedRelatedField(visible_accounts, required=False)
    primary_contact = ScopedRelatedField(visible_contacts, required=False, allow_null=True)
    owner = _user_field(required=False)
    partner = ScopedRelatedField(visible_partners, required=False, allow_null=True)
    type = serializers.ChoiceField(choices=OpportunityType.choices, required=False)
    stage = serializers.ChoiceField(choices=Stage.choices, required=False)
    probability = serializers.IntegerField(min_value=0, max_value=100, required=False)
    amount = serializers.DecimalField(
        max_digits=14, decimal_places=2, required=False, allow_null=True
    )
    close_date = serializers.DateField(required=False)
    expected_delivery = serializers.DateField(required=False, allow_null=True)
    forecast_category = serializers.ChoiceField(choices=ForecastCategory.choices, required=False)
    next_step = serializers.CharField(max_length=255, required=False, allow_blank=True)
    next_step_date = serializers.DateField(required=False, allow_null=True)
    loss_reason = serializers.PrimaryKeyRelatedField(
        queryset=LossReason.objects.all(), required=False, allow_null=True
    )
    loss_reason_text = serializers.CharField(max_length=2000, required=False, allow_blank=True)
    # Why a change goes backward (close date out of its month, amount lowered, stage moved
    # back, forecast category lowered): a reason code (its ``code``), checked by the service
    # as on every other path, and details.
    reason_code = serializers.CharField(max_length=40, required=False, allow_blank=True)
    reason_text = serializers.CharField(
        max_length=REASON_MAX_LENGTH, required=False, allow_blank=True
    )


class OpportunityCreateSerializer(OpportunityUpdateSerializer):
    """A new deal: the fields of a change, no version (it starts at 1)."""

    extra_allowed = ()
    reason_code = None
    reason_text = None


class OpportunityHistorySerializer(serializers.ModelSerializer):
    class Meta:
        model = OpportunityHistory
        fields = [
            "id",
            "opportunity",
            "version",
            "changed_at",
            "valid_until",
            "changed_by",
            "is_creation",
            "changed_fields",
            "stage",
            "amount",
            "probability",
            "close_date",
            "forecast_category",
            "owner",
            "partner",
            "prev_stage",
            "prev_amount",
            "prev_probability",
            "prev_close_date",
            "prev_forecast_category",
            "prev_owner",
            "prev_partner",
        ]
        read_only_fields = fields


# --- activities and registrations -----------------------------------------------------


class ActivitySerializer(serializers.ModelSerializer):
    class Meta:
        model = Activity
        fields = [
            "id",
            "kind",
            "subject",
            "description",
            "due_date",
            "done",
            "done_at",
            "assignee",
            "created_by",
            "lead",
            "opportunity",
            "account",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


def _active_users():
    from climcrm.models import User

    return User.objects.filter(is_active=True)


class ActivityUpdateSerializer(StrictSerializer):
    kind = serializers.ChoiceField(choices=ActivityKind.choices, required=False)
    subject = serializers.CharField(max_length=255, required=False, allow_blank=True)
    description = serializers.CharField(max_length=5000, required=False, allow_blank=True)
    due_date = serializers.DateField(required=False, allow_null=True)
    assignee = serializers.PrimaryKeyRelatedField(queryset=_active_users(), required=False)
    done = serializers.BooleanField(required=False)


class ActivityCreateSerializer(ActivityUpdateSerializer):
    """A to-do or a logged activity about one deal, lead or account the user sees."""

    opportunity = ScopedRelatedField(visible_opportunities, required=False)
    lead = ScopedRelatedField(visible_leads, required=False)
    account = ScopedRelatedField(visible_accounts, required=False)


class RegistrationSerializer(serializers.ModelSerializer):
    class Meta:
        model = DealRegistration
        fields = [
            "id",
            "partner",
            "registered_by",
            "company_name",
            "contact_first_name",
            "contact_last_name",
            "contact_email",
            "contact_phone",
            "need",
            "estimated_amount",
            "expected_close_date",
            "project_name",
            "site_address",
            "status",
            "submitted_at",
            "decision_reason",
            "decided_at",
            "protected_until",
            "account",
            "contact",
            "opportunity",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class RegistrationCreateSerializer(StrictSerializer):
    """A deal registration: a partner user's is their partner's; internal staff name the
    partner."""

    partner = ScopedRelatedField(visible_partners, required=False)
    company_name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    contact_first_name = serializers.CharField(max_length=100, required=False, allow_blank=True)
    contact_last_name = serializers.CharField(max_length=100, required=False, allow_blank=True)
    contact_email = serializers.EmailField(max_length=254, required=False, allow_blank=True)
    contact_phone = serializers.CharField(max_length=40, required=False, allow_blank=True)
    need = serializers.CharField(max_length=5000, required=False, allow_blank=True)
    estimated_amount = serializers.DecimalField(
        max_digits=14, decimal_places=2, required=False, allow_null=True
    )
    expected_close_date = serializers.DateField(required=False, allow_null=True)
    project_name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    site_address = serializers.CharField(max_length=255, required=False, allow_blank=True)


# --- forecast -------------------------------------------------------------------------


def _figure(**kwargs):
    return serializers.DecimalField(
        max_digits=18, decimal_places=2, rounding=ROUND_HALF_UP, **kwargs
    )


class ForecastRowSerializer(serializers.Serializer):
    key = serializers.CharField(required=False)
    label = serializers.CharField(required=False)
    closed = _figure()
    commit = _figure()
    best_case = _figure()
    pipeline = _figure()
    commit_forecast = _figure()
    best_case_forecast = _figure()
    open_pipeline = _figure()
    target = _figure(allow_null=True)


class ForecastSerializer(serializers.Serializer):
    period = serializers.CharField()
    group = serializers.CharField()
    rows = ForecastRowSerializer(many=True)
    total = ForecastRowSerializer()
