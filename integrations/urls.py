from django.urls import path

from integrations import views

app_name = "integrations"

urlpatterns = [
    path("calendar/<str:token>.ics", views.calendar_feed, name="calendar-feed"),
    path("calendar/address/", views.calendar_feed_manage, name="calendar-feed-manage"),
]
