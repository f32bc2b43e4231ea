from django.urls import path

from tanfang.reports import views

app_name = "reports"
urlpatterns = [
    path("", views.report, name="index"),
    # Before <code>/: "dashboard" is not a region code.
    path("dashboard/", views.dashboard, name="dashboard"),
    path("dashboard/panel/", views.dashboard_panel, name="dashboard_panel"),
    path("<str:code>/", views.report, name="region"),
    path("<str:code>/quarter/", views.quarter, name="quarter"),
    path("<str:code>/late/", views.late, name="late"),
    path("<str:code>/unassigned/", views.unassigned, name="unassigned"),
]
