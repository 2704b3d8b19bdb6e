from django.urls import path

from partners import views

app_name = "partners"

urlpatterns = [
    path("", views.partner_list, name="list"),
    path("export.csv", views.partner_export, name="export"),
    path("<int:pk>/", views.partner_detail, name="detail"),
    path("<int:pk>/business-plan/", views.partner_targets, name="targets"),
    path("portal/", views.portal, name="portal"),
    path("registrations/", views.registration_list, name="registration-queue"),
    path("registrations/export.csv", views.registration_export, name="registration-export"),
    path("registrations/new/", views.registration_create, name="registration-create"),
    path("registrations/<int:pk>/", views.registration_detail, name="registration-detail"),
    path("registrations/<int:pk>/edit/", views.registration_edit, name="registration-edit"),
    path("registrations/<int:pk>/accept/", views.registration_accept, name="registration-accept"),
    path("registrations/<int:pk>/reject/", views.registration_reject, name="registration-reject"),
    path("registrations/<int:pk>/return/", views.registration_return, name="registration-return"),
    path("registrations/<int:pk>/renew/", views.registration_renew, name="registration-renew"),
    path("registrations/<int:pk>/appeal/", views.registration_appeal, name="registration-appeal"),
    path("registrations/conflicts/", views.conflict_queue, name="conflict-queue"),
    path(
        "registrations/<int:pk>/conflict/<slug:kind>/",
        views.conflict_detail,
        name="conflict-detail",
    ),
    path(
        "registrations/<int:pk>/conflict/<slug:kind>/decide/",
        views.conflict_decide,
        name="conflict-decide",
    ),
    path("assign/", views.assign, name="assign"),
    path("assign/<int:pk>/", views.assign_one, name="assign-one"),
]
