from django.contrib import admin

from climcrm.admin import OutboxAdmin
from pipeline_reviews.models import (
    MarketingAction,
    PartnerReviewNote,
    QuarterlyDetails,
    RecapEmail,
    Review,
    ReviewSnapshot,
)


class ReadOnlyMixin:
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class SnapshotInline(ReadOnlyMixin, admin.StackedInline):
    model = ReviewSnapshot
    fields = ["taken_at", "data"]
    readonly_fields = fields


class RecapInline(ReadOnlyMixin, admin.TabularInline):
    model = RecapEmail
    fields = ["email", "language", "subject", "status", "sent_at", "attempts", "last_error"]
    readonly_fields = fields


@admin.register(Review)
class ReviewAdmin(admin.ModelAdmin):
    list_display = ["__str__", "kind", "partner", "period_start", "status", "closed_at"]
    list_filter = ["kind", "status"]
    list_select_related = ["partner__account"]
    search_fields = ["partner__account__name"]
    # Reviews change through the review screen (which refuses writes once closed).
    readonly_fields = [
        "kind",
        "partner",
        "period_start",
        "status",
        "created_by",
        "closed_at",
        "closed_by",
        "commit_amount",
        "commit_note",
    ]
    filter_horizontal = ["attendees"]
    inlines = [SnapshotInline, RecapInline]

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and not (obj and obj.is_closed)


@admin.register(RecapEmail)
class RecapEmailAdmin(OutboxAdmin):
    list_display = ["review", "email", "language", "status", "sent_at", "attempts"]
    list_filter = ["status", "language"]
    list_select_related = ["review__partner__account"]


admin.site.register(PartnerReviewNote)
admin.site.register(QuarterlyDetails)
admin.site.register(MarketingAction)
