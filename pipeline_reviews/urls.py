from django.urls import path

from pipeline_reviews.views import channel_manager, monthly, quarterly, review

app_name = "pipeline_reviews"

urlpatterns = [
    path("", review.review_list, name="list"),
    path("export.csv", review.review_export, name="export"),
    path("new/", review.review_create, name="create"),
    path("<int:pk>/", review.review_detail, name="detail"),
    path("<int:pk>/recap/", review.review_recap, name="recap"),
    path("<int:pk>/setup/", monthly.review_setup, name="setup"),
    path("<int:pk>/leads/<int:lead_pk>/", monthly.review_lead, name="lead"),
    path("<int:pk>/outcomes/<int:deal_pk>/", monthly.review_outcome, name="outcome"),
    path("<int:pk>/deals/", monthly.review_deal_panel, name="deal-panel"),
    path("<int:pk>/deals/<int:deal_pk>/", monthly.review_deal, name="deal"),
    path("<int:pk>/deals/<int:deal_pk>/todos/", monthly.review_todo, name="todo"),
    path("<int:pk>/sections/<slug:name>/", monthly.review_section, name="section"),
    path("<int:pk>/commit/", monthly.review_commit, name="commit"),
    path("<int:pk>/close/", review.review_close, name="close"),
    path(
        "<int:pk>/partners/<int:partner_pk>/notes/",
        channel_manager.review_partner_note,
        name="partner-note",
    ),
    path("<int:pk>/quarterly/", quarterly.review_quarterly, name="quarterly"),
    path("<int:pk>/marketing/", quarterly.review_marketing_add, name="marketing-add"),
    path(
        "<int:pk>/marketing/<int:action_pk>/delete/",
        quarterly.review_marketing_delete,
        name="marketing-delete",
    ),
]
