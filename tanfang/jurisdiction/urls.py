from django.urls import path

from tanfang.jurisdiction import views

app_name = "jurisdiction"
urlpatterns = [
    path("", views.rules, name="rules"),
    path("events/", views.events, name="events"),
    path("events/<int:event_id>/end/", views.end_event, name="end_event"),
]
