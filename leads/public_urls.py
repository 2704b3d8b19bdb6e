"""The public web-to-lead form, at the site root and without namespace so that a
website can link to ``/contact/``."""

from django.urls import path

from leads import views

urlpatterns = [
    path("contact/", views.web_to_lead, name="web-to-lead"),
    path("contact/thanks/", views.web_to_lead_thanks, name="web-to-lead-thanks"),
]
