from django.urls import path

from tanfang.visits import views

app_name = "visits"
urlpatterns = [
    path("", views.home, name="home"),
]
