from django.contrib import admin

from forecasting.models import (
    Benchmark,
    ForecastAdjustment,
    ForecastGroupAdjustment,
    ForecastSnapshot,
    ForecastSubmission,
    ForecastSubmissionLine,
    Target,
)


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


class ForecastSubmissionLineInline(admin.TabularInline):
    model = ForecastSubmissionLine
    extra = 0
    can_delete = False
    fields = ("deal_id", "name", "amount", "forecast_category", "stage", "close_date")
    readonly_fields = fields


class ForecastAdjustmentInline(admin.TabularInline):
    model = ForecastAdjustment
    extra = 0
    can_delete = False
    fields = ("figure", "from_amount", "to_amount", "note", "adjusted_by", "adjusted_at")
    readonly_fields = fields


@admin.register(ForecastSubmission)
class ForecastSubmissionAdmin(admin.ModelAdmin):
    list_display = (
        "period_kind",
        "period_start",
        "scope_key",
        "commit",
        "best_case",
        "submitted_at",
    )
    list_filter = ("period_kind",)
    raw_id_fields = ("user", "partner", "submitted_by")
    inlines = (ForecastSubmissionLineInline, ForecastAdjustmentInline)

    def has_change_permission(self, request, obj=None):
        # A submission is frozen: what was submitted then.
        return False


@admin.register(ForecastGroupAdjustment)
class ForecastGroupAdjustmentAdmin(admin.ModelAdmin):
    list_display = (
        "period_kind",
        "period_start",
        "group_key",
        "figure",
        "to_amount",
        "adjusted_at",
    )
    list_filter = ("period_kind", "figure")
    raw_id_fields = ("adjusted_by",)

    def has_change_permission(self, request, obj=None):
        # Judgment is history: a new adjustment is made, the old one stays.
        return False
