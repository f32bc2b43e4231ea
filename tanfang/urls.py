from django.urls import include, path

from tanfang.accounts import views as account_views

urlpatterns = [
    path("", account_views.home, name="home"),
    path("accounts/", include("tanfang.accounts.urls")),
    path("regions/", include("tanfang.regions.urls")),
    path("audit/", include("tanfang.audit.urls")),
    path("elders/", include("tanfang.registry.urls")),
]
