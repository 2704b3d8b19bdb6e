"""The home page, the global search and the command palette, named without a namespace
(``dashboard``, ``search``, ``command-palette``) as every page's header links them."""

from django.urls import path

from dashboard import views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("search/", views.search, name="search"),
    path("palette/", views.command_palette, name="command-palette"),
]
