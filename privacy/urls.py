from django.urls import path

from privacy import views

app_name = "privacy"

urlpatterns = [
    path("audit/", views.audit_log, name="audit-log"),
    path("audit/export.csv", views.audit_export, name="audit-export"),
    path("contacts/<int:pk>/anonymise/", views.anonymise_contact, name="anonymise-contact"),
    path("leads/<int:pk>/anonymise/", views.anonymise_lead, name="anonymise-lead"),
]
