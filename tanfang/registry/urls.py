from django.urls import path

from tanfang.registry import views

app_name = "registry"
urlpatterns = [
    path("", views.elder_list, name="list"),
    path("new/", views.elder_register, name="register"),
    path("<int:elder_id>/", views.elder_file, name="file"),
    path("<int:elder_id>/status/", views.elder_status, name="status"),
]
