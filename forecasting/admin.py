from django.contrib import admin

from forecasting.models import ForecastSnapshot, Target


@admin.register(Target)
class TargetAdmin(admin.ModelAdmin):
    list_display = ("year", "quarter", "user", "partner", "amount", "updated_at")
    list_filter = ("year", "quarter")
    autocomplete_fields = ()
    raw_id_fields = ("user", "partner", "updated_by")


@admin.register(ForecastSnapshot)
class ForecastSnapshotAdmin(admin.ModelAdmin):
    list_display = ("period_kind", "period_start", "scope_key", "commit", "closed", "taken_at")
    list_filter = ("period_kind", "scope")
    raw_id_fields = ("user", "partner")

    def has_change_permission(self, request, obj=None):
        # A snapshot is what was known then: never edited.
        return False
