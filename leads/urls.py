from django.urls import path

from leads import views

app_name = "leads"

urlpatterns = [
    path("", views.lead_list, name="list"),
    path("new/", views.lead_create, name="create"),
    path("export.csv", views.lead_export, name="export"),
    path("bulk/", views.lead_bulk, name="bulk"),
    path("<int:pk>/", views.lead_detail, name="detail"),
    path("<int:pk>/edit/", views.lead_edit, name="edit"),
    path("<int:pk>/status/", views.lead_change_status, name="status"),
    path("<int:pk>/qualification/", views.lead_toggle, name="toggle"),
    path("<int:pk>/convert/", views.lead_convert, name="convert"),
    path("import/", views.lead_import, name="import"),
    path("import/template.csv", views.lead_import_template, name="import-template"),
    path("import/<int:pk>/", views.lead_import_preview, name="import-preview"),
    path("import/<int:pk>/confirm/", views.lead_import_confirm, name="import-confirm"),
    path("import/<int:pk>/result/", views.lead_import_result, name="import-result"),
    path("import/<int:pk>/rejected.csv", views.lead_import_rejected, name="import-rejected"),
    path("web/", views.web_to_lead, name="web-to-lead"),
    path("web/thanks/", views.web_to_lead_thanks, name="web-to-lead-thanks"),
]
