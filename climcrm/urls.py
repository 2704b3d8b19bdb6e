from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from climcrm import design, views

urlpatterns = [
    path("", include("dashboard.urls")),
    path("healthz", views.healthz, name="healthz"),
    path("views/", views.saved_view_menu, name="saved-views"),
    path("views/new/", views.saved_view_create, name="saved-view-create"),
    path("views/default/", views.saved_view_default, name="saved-view-default"),
    path("views/<int:pk>/", views.saved_view_open, name="saved-view-open"),
    path("views/<int:pk>/edit/", views.saved_view_edit, name="saved-view-edit"),
    path("views/<int:pk>/delete/", views.saved_view_delete, name="saved-view-delete"),
    path("language/", views.set_language, name="set_language"),
    path("theme/", design.set_theme, name="set_theme"),
    path("style/", design.style_guide, name="style-guide"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password/", views.PasswordChangeView.as_view(), name="password_change"),
    path(
        "password/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path("password/reset/", views.PasswordResetView.as_view(), name="password_reset"),
    path(
        "password/reset/sent/",
        auth_views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "password/reset/<uidb64>/<token>/",
        views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "password/reset/done/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path("accounts/", include("accounts.urls")),
    path("leads/", include("leads.urls")),
    path("", include("leads.public_urls")),
    path("opportunities/", include("opportunities.urls")),
    path("activities/", include("activities.urls")),
    path("partners/", include("partners.urls")),
    path("forecast/", include("forecasting.urls")),
    path("reviews/", include("pipeline_reviews.urls")),
    path("privacy/", include("privacy.urls")),
    path("imports/", include("imports.urls")),
    path("", include("integrations.urls")),
    path("admin/", admin.site.urls),
]

# A 503 page (Retry-After) when the database is unreachable, rendered without the database.
handler500 = "privacy.views.server_error"

admin.site.site_header = "ClimCRM"
admin.site.site_title = "ClimCRM"
