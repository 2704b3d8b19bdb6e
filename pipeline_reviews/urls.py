from django.urls import path

from pipeline_reviews import views

app_name = "pipeline_reviews"

urlpatterns = [
    path("", views.review_list, name="list"),
    path("export.csv", views.review_export, name="export"),
    path("new/", views.review_create, name="create"),
    path("<int:pk>/", views.review_detail, name="detail"),
    path("<int:pk>/recap/", views.review_recap, name="recap"),
    path("<int:pk>/setup/", views.review_setup, name="setup"),
    path("<int:pk>/leads/<int:lead_pk>/", views.review_lead, name="lead"),
    path("<int:pk>/outcomes/<int:deal_pk>/", views.review_outcome, name="outcome"),
    path("<int:pk>/deals/", views.review_deal_panel, name="deal-panel"),
    path("<int:pk>/deals/<int:deal_pk>/", views.review_deal, name="deal"),
    path("<int:pk>/deals/<int:deal_pk>/todos/", views.review_todo, name="todo"),
    path("<int:pk>/sections/<slug:name>/", views.review_section, name="section"),
    path("<int:pk>/commit/", views.review_commit, name="commit"),
    path("<int:pk>/close/", views.review_close, name="close"),
    path(
        "<int:pk>/partners/<int:partner_pk>/notes/", views.review_partner_note, name="partner-note"
    ),
    path("<int:pk>/quarterly/", views.review_quarterly, name="quarterly"),
    path("<int:pk>/marketing/", views.review_marketing_add, name="marketing-add"),
    path(
        "<int:pk>/marketing/<int:action_pk>/delete/",
        views.review_marketing_delete,
        name="marketing-delete",
    ),
]
