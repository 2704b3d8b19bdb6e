from django.contrib import admin

from partners.models import DealRegistration, RegistrationEvent


class RegistrationEventInline(admin.TabularInline):
    model = RegistrationEvent
    extra = 0
    can_delete = False
    readonly_fields = ("from_status", "to_status", "at", "by", "note")

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(DealRegistration)
class DealRegistrationAdmin(admin.ModelAdmin):
    """Read-mostly: decisions go through the registration queue so emails and deals follow."""

    list_display = (
        "company_name",
        "partner",
        "status",
        "estimated_amount",
        "expected_close_date",
        "submitted_at",
        "protected_until",
    )
    list_filter = ("status", "partner")
    search_fields = ("company_name", "contact_last_name", "contact_email")
    list_select_related = ("partner__account",)
    # Only the protection date is edited here (an exception agreed with the partner).
    readonly_fields = tuple(
        f.name for f in DealRegistration._meta.fields if f.name not in ("id", "protected_until")
    )
    inlines = [RegistrationEventInline]

    def has_add_permission(self, request):
        return False
