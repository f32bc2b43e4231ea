from django.urls import path

from tanfang.regions import views

app_name = "regions"
urlpatterns = [
    path("", views.tree_root, name="root"),
    path("import/", views.import_page, name="import"),
    path("<str:code>/", views.detail, name="detail"),
    path("<str:code>/rename/", views.rename, name="rename"),
]
