from django.urls import path

from forecasting import views

app_name = "forecasting"

urlpatterns: list = [
    path("", views.forecast, name="forecast"),
    path("deals/", views.forecast_drilldown, name="forecast-deals"),
    path("export.csv", views.forecast_export, name="forecast-export"),
    path("targets/", views.targets, name="targets"),
    path("metrics/", views.metrics, name="metrics"),
    path("changes/", views.changes, name="changes"),
    path("changes/deals/", views.changes_drilldown, name="changes-deals"),
    path("accuracy/", views.accuracy, name="accuracy"),
    path("accuracy/deals/", views.accuracy_drilldown, name="accuracy-deals"),
    path("reliability/", views.reliability, name="reliability"),
]
