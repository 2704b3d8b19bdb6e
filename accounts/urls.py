from django.urls import path

from accounts import views

app_name = "accounts"

urlpatterns = [
    path("", views.account_list, name="list"),
    path("export.csv", views.account_export, name="export"),
    path("new/", views.account_create_view, name="create"),
    path("<int:pk>/", views.account_detail, name="detail"),
    path("<int:pk>/edit/", views.account_edit, name="edit"),
    path("lookup/", views.account_lookup, name="lookup"),
    path("contacts/lookup/", views.contact_lookup, name="contact-lookup"),
    path("contacts/", views.contact_list, name="contact-list"),
    path("contacts/export.csv", views.contact_export, name="contact-export"),
    path("contacts/new/", views.contact_create_view, name="contact-create"),
    path("contacts/<int:pk>/", views.contact_detail, name="contact-detail"),
    path("contacts/<int:pk>/edit/", views.contact_edit, name="contact-edit"),
]
