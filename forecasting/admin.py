from django.contrib import admin

from forecasting.models import Benchmark, ForecastSnapshot, Target


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


@admin.register(Benchmark)
class BenchmarkAdmin(admin.ModelAdmin):
    list_display = ("key", "low", "high", "source")
    list_editable = ("low", "high")
    fields = ("key", "low", "high", "source")

    def get_readonly_fields(self, request, obj=None):
        # The figure a row is about is fixed once created: only its range changes.
        return ("key",) if obj is not None else ()
