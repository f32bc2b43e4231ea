"""The installable phone app (tanfang/visits/offline_views.py): the service
worker at the root of the site, so that it may serve every page, and the
outbox beside the visitor's pages."""

from django.urls import path

from tanfang.visits import offline_views

app_name = "offline"
urlpatterns = [
    path("sw.js", offline_views.service_worker, name="service_worker"),
    path("visits/outbox/", offline_views.outbox, name="outbox"),
    path("visits/outbox/session/", offline_views.session, name="session"),
]
