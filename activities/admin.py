from django.contrib import admin

from activities.models import Activity


@admin.register(Activity)
class ActivityAdmin(admin.ModelAdmin):
    list_display = (
        "subject",
        "kind",
        "due_date",
        "done",
        "assignee",
        "opportunity",
        "lead",
        "account",
    )
    list_filter = ("kind", "done")
    search_fields = ("subject", "description")
    date_hierarchy = "due_date"
    raw_id_fields = ("assignee", "created_by", "opportunity", "lead", "account", "review")
    list_select_related = ("assignee", "opportunity", "lead", "account")
