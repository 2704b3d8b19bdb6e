from django.urls import path

from opportunities import inline, kanban_urls, views

app_name = "opportunities"

urlpatterns: list = [
    path("", views.opportunity_list, name="list"),
    path("export.csv", views.opportunity_export, name="export"),
    path("new/", views.opportunity_create_view, name="create"),
    path("<int:pk>/", views.opportunity_detail, name="detail"),
    path("<int:pk>/edit/", views.opportunity_edit, name="edit"),
    path("<int:pk>/inline/<slug:name>/", inline.inline_field, name="inline"),
]
# The pipeline board's routes live beside the board.
urlpatterns += kanban_urls.urlpatterns
