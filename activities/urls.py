from django.urls import path

from activities import views

app_name = "activities"

urlpatterns: list = [
    path("", views.panel, name="panel"),
    path("new/", views.create, name="create"),
    path("mine/", views.my_tasks, name="my-tasks"),
    path("<int:pk>/done/", views.toggle_done, name="toggle"),
    path("<int:pk>/edit/", views.edit, name="edit"),
    path("<int:pk>/delete/", views.delete, name="delete"),
]
