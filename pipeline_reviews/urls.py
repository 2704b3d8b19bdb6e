from django.urls import path  # noqa: F401

app_name = "pipeline_reviews"

urlpatterns: list = []
