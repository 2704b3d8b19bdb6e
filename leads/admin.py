from django.contrib import admin

from climcrm.admin import RelatedListFilter
from leads import services
from leads.models import ImportJob, Lead, LeadStatusChange, PublicFormSubmission
from leads.services import LEAD_FIELDS


class LeadStatusChangeInline(admin.TabularInline):
    model = LeadStatusChange
    extra = 0
    can_delete = False
    readonly_fields = ("from_status", "to_status", "changed_at", "changed_by")

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Lead)
class LeadAdmin(admin.ModelAdmin):
    """Read-mostly: status changes and conversions go through the lead pages (services)."""

    list_display = (
        "__str__",
        "email",
        "status",
        "source",
        "origin",
        "partner",
        "owner",
        "created_at",
    )
    # Created-at filters by period (no query) where a date hierarchy would first read every
    # distinct year of every lead; the partner's choices come in one query; the list counts
    # the leads it filters, not every lead a second time.
    list_filter = (
        "status",
        "source",
        "origin",
        ("created_at", admin.DateFieldListFilter),
        ("partner", RelatedListFilter),
    )
    search_fields = ("first_name", "last_name", "email", "company")
    list_select_related = ("partner__account", "owner")
    raw_id_fields = ("owner", "converted_account", "converted_contact", "converted_opportunity")
    readonly_fields = (
        "status",
        "status_changed_at",
        "disqualification_reason",
        "converted_account",
        "converted_contact",
        "converted_opportunity",
        "converted_at",
        "created_at",
        "updated_at",
    )
    inlines = [LeadStatusChangeInline]
    show_full_result_count = False
    # Each row of the change list costs the admin about half a millisecond to render.
    list_per_page = 50

    def has_change_permission(self, request, obj=None):
        # Converted and disqualified leads are read-only, here as everywhere.
        if obj is not None and obj.is_read_only:
            return False
        return super().has_change_permission(request, obj)

    def save_model(self, request, obj, form, change):
        values = {
            name: form.cleaned_data[name] for name in LEAD_FIELDS if name in form.cleaned_data
        }
        if change:
            services.lead_update(lead=obj, by=request.user, changes=values)
        else:
            created = services.lead_create(by=request.user, **values)
            obj.pk = created.pk
            obj.refresh_from_db()


@admin.register(ImportJob)
class ImportJobAdmin(admin.ModelAdmin):
    list_display = (
        "filename",
        "created_by",
        "created_at",
        "status",
        "total_rows",
        "imported_rows",
        "rejected_rows",
    )
    list_filter = ("status",)
    exclude = ("content", "rejected_content")
    readonly_fields = (
        "created_by",
        "filename",
        "encoding",
        "delimiter",
        "mapping",
        "status",
        "total_rows",
        "valid_rows",
        "processed_rows",
        "imported_rows",
        "rejected_rows",
        "finished_at",
    )


@admin.register(PublicFormSubmission)
class PublicFormSubmissionAdmin(admin.ModelAdmin):
    list_display = ("ip_address", "submitted_at")
    readonly_fields = ("ip_address", "submitted_at")
