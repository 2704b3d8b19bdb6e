from django.urls import path

from forecasting import submission_views, views

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

urlpatterns += [
    path("submissions/", submission_views.submission_call, name="submission-call"),
    path("submissions/new/", submission_views.submission_form, name="submission-form"),
    path("submissions/trend/", submission_views.submission_trend, name="submission-trend"),
    path("submissions/<int:pk>/", submission_views.submission_detail, name="submission-detail"),
    path(
        "submissions/<int:pk>/adjust/", submission_views.submission_adjust, name="submission-adjust"
    ),
    path(
        "submissions/<slug:kind>/<int:head>/adjust/",
        submission_views.submission_group_adjust,
        name="submission-group-adjust",
    ),
]
