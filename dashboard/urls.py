"""The home page and the global search, named without a namespace (``dashboard``,
``search``) as every page's header links them."""

from django.urls import path

from dashboard import views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("search/", views.search, name="search"),
]
