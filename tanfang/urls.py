from django.urls import include, path

from tanfang.accounts import views as account_views
from tanfang.api import urls as api_urls

urlpatterns = [
    path("", account_views.home, name="home"),
    path("accounts/", include("tanfang.accounts.urls")),
    path("regions/", include("tanfang.regions.urls")),
    path("audit/", include("tanfang.audit.urls")),
    path("elders/", include("tanfang.registry.urls")),
    path("rules/", include("tanfang.jurisdiction.urls")),
    path("exchange/", include("tanfang.exchange.urls")),
    # The service worker (/sw.js) and the outbox (/visits/outbox/) of the phone pages.
    path("", include("tanfang.visits.offline_urls")),
    path("visits/", include("tanfang.visits.urls")),
    path("reports/", include("tanfang.reports.urls")),
    path("care/", include("tanfang.care.urls")),
    path("api/v1/", api_urls),
]
