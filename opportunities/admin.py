"""Admin for deals and their reference data.

Saving a deal here goes through the same services as the pages (stage machine, optimistic
locking, history row tagged "admin"); the history itself is read-only.
"""

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from climcrm.admin import RelatedListFilter
from climcrm.fields import REASON_MAX_LENGTH
from climcrm.forms import add_service_errors
from opportunities.forms import VersionField
from opportunities.models import (
    LossReason,
    Opportunity,
    OpportunityHistory,
    ReasonCode,
    StageSetting,
)
from opportunities.reasons import active_reason_codes
from opportunities.services import (
    EDITABLE_FIELDS,
    StaleVersionError,
    opportunity_create,
    opportunity_update,
)

ADMIN_TAG = "admin"
# On creation these take the stage's defaults unless the admin changed them.
DEFAULTED_FIELDS = ("probability", "forecast_category")


class _DryRun(Exception):
    """Raised to roll back the validation run of the service."""


class OpportunityAdminForm(forms.ModelForm):
    expected_version = VersionField()
    # Asked of a change that goes backward, as on every other path (opportunities.reasons).
    reason_code = forms.ModelChoiceField(
        label=_("Reason for the change"), queryset=ReasonCode.objects.none(), required=False
    )
    reason_text = forms.CharField(
        label=_("Reason details"), required=False, max_length=REASON_MAX_LENGTH
    )
    request_user = None  # set per request by OpportunityAdmin.get_form

    class Meta:
        model = Opportunity
        fields = list(EDITABLE_FIELDS)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk and not self.is_bound:
            self.initial["expected_version"] = self.instance.version
        self.fields["reason_code"].queryset = active_reason_codes()

    def _post_clean(self):
        # The instance is neither filled nor validated here: the service does both, from
        # the deal as it is in the database (see clean()).
        pass

    def service_values(self) -> dict:
        data = self.cleaned_data
        if self.instance.pk:
            return {n: data[n] for n in self.changed_data if n in EDITABLE_FIELDS and n in data}
        return {
            n: data[n]
            for n in EDITABLE_FIELDS
            if n in data and (n not in DEFAULTED_FIELDS or n in self.changed_data)
        }

    def run_service(self) -> Opportunity:
        values = self.service_values()
        if self.instance.pk:
            current = Opportunity.objects.get(pk=self.instance.pk)
            opportunity_update(
                opportunity=current,
                by=self.request_user,
                changes=values,
                expected_version=self.cleaned_data.get("expected_version"),
                tag=ADMIN_TAG,
                reason_code=self.cleaned_data.get("reason_code"),
                reason_text=self.cleaned_data.get("reason_text") or "",
            )
            return current
        return opportunity_create(by=self.request_user, tag=ADMIN_TAG, **values)

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        try:
            with transaction.atomic():
                self.run_service()
                raise _DryRun
        except _DryRun:
            pass
        except StaleVersionError as error:
            self.add_error(None, str(error))
            # What was typed stays; saving again applies it over the version now shown.
            self.data = self.data.copy()
            self.data["expected_version"] = str(error.opportunity.version)
        except PermissionError as error:
            self.add_error(None, str(error))
        except ValidationError as error:
            add_service_errors(self, error)
        return cleaned


class OpportunityHistoryInline(admin.TabularInline):
    model = OpportunityHistory
    fk_name = "opportunity"
    extra = 0
    can_delete = False
    ordering = ("-version",)
    fields = (
        "version",
        "changed_at",
        "changed_by",
        "stage",
        "amount",
        "probability",
        "close_date",
        "forecast_category",
        "owner",
        "partner",
        "changed_fields",
        "reason_code",
        "reason_text",
        "tag",
    )
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("changed_by", "owner", "partner__account", "reason_code")
        )


@admin.register(Opportunity)
class OpportunityAdmin(admin.ModelAdmin):
    form = OpportunityAdminForm
    list_display = (
        "name",
        "account",
        "stage",
        "amount",
        "probability",
        "close_date",
        "forecast_category",
        "owner",
        "partner",
    )
    # The close date filters by period (no query) where a date hierarchy would first read
    # every distinct year of every deal; the partner's choices come in one query; the
    # list counts the deals it filters, not every deal a second time.
    list_filter = (
        "stage",
        "forecast_category",
        "type",
        ("close_date", admin.DateFieldListFilter),
        ("partner", RelatedListFilter),
        "owner",
    )
    search_fields = ("name", "account__name", "next_step")
    autocomplete_fields = ("account", "primary_contact", "owner", "partner", "lead")
    list_select_related = ("account", "owner", "partner__account")
    show_full_result_count = False
    # Each row of the change list costs the admin about half a millisecond to render.
    list_per_page = 50
    readonly_fields = (
        "currency",
        "version",
        "created_at",
        "updated_at",
        "stage_changed_at",
        "closed_at",
    )
    inlines = [OpportunityHistoryInline]

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        return type(form.__name__, (form,), {"request_user": request.user})

    def save_model(self, request, obj, form, change):
        saved = form.run_service()
        obj.pk = saved.pk
        obj._state.adding = False
        obj.refresh_from_db()


@admin.register(OpportunityHistory)
class OpportunityHistoryAdmin(admin.ModelAdmin):
    list_display = (
        "opportunity",
        "version",
        "changed_at",
        "changed_by",
        "stage",
        "amount",
        "probability",
        "close_date",
        "forecast_category",
        "tag",
    )
    list_filter = ("stage", "forecast_category", "is_creation")
    search_fields = ("opportunity__name", "tag")
    date_hierarchy = "changed_at"
    list_select_related = ("opportunity", "changed_by")
    autocomplete_fields = ()

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in OpportunityHistory._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        # Viewable, never editable: the history is append-only.
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(StageSetting)
class StageSettingAdmin(admin.ModelAdmin):
    list_display = ("stage", "default_probability", "default_forecast_category", "rotting_days")
    list_editable = ("default_probability", "default_forecast_category", "rotting_days")
    ordering = ("id",)

    def has_delete_permission(self, request, obj=None):
        # Every stage keeps a default; change it instead.
        return False


@admin.register(ReasonCode)
class ReasonCodeAdmin(admin.ModelAdmin):
    list_display = ("code", "label_fr", "label_en", "is_active", "position")
    list_editable = ("is_active", "position")
    list_filter = ("is_active",)
    search_fields = ("code", "label_fr", "label_en")

    def has_delete_permission(self, request, obj=None):
        # History rows name the codes they used: retire a code (not active) instead.
        return False


@admin.register(LossReason)
class LossReasonAdmin(admin.ModelAdmin):
    list_display = ("code", "label_fr", "label_en", "is_active", "position")
    list_editable = ("is_active", "position")
    list_filter = ("is_active",)
    search_fields = ("code", "label_fr", "label_en")


OpportunityAdmin.short_description = _("opportunities")
