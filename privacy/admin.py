from django.contrib import admin

from climcrm.models import AuditEntry


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """Read only: the log is evidence, nobody edits or deletes it from the admin."""

    list_display = ("at", "user", "action", "detail", "ip_address")
    list_filter = ("action",)
    search_fields = ("user__username", "detail")
    date_hierarchy = "at"
    list_select_related = ("user",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
