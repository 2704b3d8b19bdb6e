from django.contrib import admin

from partners.models import (
    ConflictDecision,
    ConflictDecisionEntry,
    DealRegistration,
    RegistrationEvent,
)


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


class ConflictDecisionEntryInline(admin.TabularInline):
    model = ConflictDecisionEntry
    extra = 0
    can_delete = False
    readonly_fields = ("registration", "outcome", "notice", "protected_until")

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(ConflictDecision)
class ConflictDecisionAdmin(admin.ModelAdmin):
    """Read-only: a decision is a record; it is taken in the conflict queue."""

    list_display = ("decided_at", "key_kind", "key_value", "winner", "decided_by")
    list_filter = ("key_kind",)
    search_fields = ("key_value", "reason")
    list_select_related = ("winner__partner__account", "decided_by")
    readonly_fields = tuple(f.name for f in ConflictDecision._meta.fields)
    inlines = [ConflictDecisionEntryInline]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
