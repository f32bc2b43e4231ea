from django.urls import path

from tanfang.exchange import views

app_name = "exchange"
urlpatterns = [
    path("elders/", views.elders, name="elders"),
    path("elders/template/", views.template_download, name="template"),
    path("elders/imports/", views.import_upload, name="import_upload"),
    path("elders/imports/<int:job_id>/", views.import_detail, name="import"),
    path("elders/imports/<int:job_id>/progress/", views.import_progress, name="import_progress"),
    path("elders/imports/<int:job_id>/report/", views.import_report, name="import_report"),
    path("elders/export/", views.export, name="export"),
]
