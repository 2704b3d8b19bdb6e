from django.urls import path

from imports import views

app_name = "imports"

urlpatterns = [
    path("", views.import_start_view, name="start"),
    path("<int:pk>/columns/", views.import_mapping, name="mapping"),
    path("<int:pk>/", views.import_dry_run, name="dry-run"),
    path("<int:pk>/confirm/", views.import_confirm, name="confirm"),
    path("<int:pk>/result/", views.import_result, name="result"),
    path("<int:pk>/refused.csv", views.import_refused, name="refused"),
]
