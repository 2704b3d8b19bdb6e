from django.contrib import admin

from imports.models import PipelineImport, SavedMapping


@admin.register(PipelineImport)
class PipelineImportAdmin(admin.ModelAdmin):
    list_display = (
        "filename",
        "kind",
        "status",
        "created_by",
        "created_at",
        "created_rows",
        "existing_rows",
        "rejected_rows",
    )
    list_filter = ("kind", "status")
    exclude = ("content", "rejected_content")
    readonly_fields = [
        f.name
        for f in PipelineImport._meta.fields
        if f.name not in ("id", "content", "rejected_content")
    ]


@admin.register(SavedMapping)
class SavedMappingAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "created_by", "updated_at")
    list_filter = ("kind",)
