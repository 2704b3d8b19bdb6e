from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from api import pages, views

app_name = "api"

urlpatterns = [
    path("tokens/new/", pages.token_create, name="token-create"),
    path("tokens/<int:pk>/revoke/", pages.token_revoke, name="token-revoke"),
    path("v1/leads/", views.LeadList.as_view(), name="lead-list"),
    path("v1/leads/<int:pk>/", views.LeadDetail.as_view(), name="lead-detail"),
    path("v1/leads/<int:pk>/history/", views.LeadHistoryList.as_view(), name="lead-history"),
    path("v1/accounts/", views.AccountList.as_view(), name="account-list"),
    path("v1/accounts/<int:pk>/", views.AccountDetail.as_view(), name="account-detail"),
    path("v1/contacts/", views.ContactList.as_view(), name="contact-list"),
    path("v1/contacts/<int:pk>/", views.ContactDetail.as_view(), name="contact-detail"),
    path("v1/opportunities/", views.OpportunityList.as_view(), name="opportunity-list"),
    path(
        "v1/opportunities/<int:pk>/", views.OpportunityDetail.as_view(), name="opportunity-detail"
    ),
    path(
        "v1/opportunities/<int:pk>/history/",
        views.OpportunityHistoryList.as_view(),
        name="opportunity-history",
    ),
    path("v1/activities/", views.ActivityList.as_view(), name="activity-list"),
    path("v1/activities/<int:pk>/", views.ActivityDetail.as_view(), name="activity-detail"),
    path("v1/registrations/", views.RegistrationList.as_view(), name="registration-list"),
    path(
        "v1/registrations/<int:pk>/",
        views.RegistrationDetail.as_view(),
        name="registration-detail",
    ),
    path("v1/forecast/", views.Forecast.as_view(), name="forecast"),
    path("v1/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("v1/docs/", SpectacularSwaggerSplitView.as_view(url_name="api:schema"), name="docs"),
]
