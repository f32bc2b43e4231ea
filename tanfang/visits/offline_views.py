"""The phone pages as an installable web app that works without a network
(issue 16, "Offline-first phone pages"): the service worker, the outbox page
and the session check the outbox sends with.

- `/sw.js` is the service worker (tanfang/templates/visits/sw.js), at the
  root so that its scope is the whole site. It imports Workbox from the static
  files (the Makefile copies it from npm, package.json pins it: no CDN), keeps
  the static files, and keeps for offline use the pages a visitor or a liaison
  works from: the task list, the visit form of each elder on it, the outbox.
- `/visits/outbox/` lists the visits kept on the phone (IndexedDB), waiting,
  sent, or refused by the server with the reason; the page itself holds no
  record: tanfang/static/js/outbox.js draws it from the phone's store.
- `/visits/outbox/session/` tells the outbox whether the session is still
  signed in, and as whom, with a fresh CSRF token for `POST /api/v1/visits`:
  the token of a page kept offline may be older than the last sign-in.

The records themselves go through the JSON API (tanfang/visits/api.py), whose
UUID idempotency makes every resend safe.
"""

import json
from functools import cache
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.middleware.csrf import get_token
from django.shortcuts import render, resolve_url
from django.templatetags.static import static
from django.urls import reverse
from django.views.decorators.http import require_GET

from tanfang.accounts import access
from tanfang.accounts.permissions import Perm

# The Workbox modules the worker imports, in their order of dependence.
WORKBOX_MODULES = ("core", "routing", "strategies", "expiration")
# The static files every phone page loads: kept when the worker installs, so
# that a page kept offline has its style and scripts.
ASSETS = (
    "css/app.css",
    "css/offline.css",
    "vendor/htmx-2.0.11.min.js",
    "js/outbox.js",
    "js/visit_form.js",
    "manifest.webmanifest",
    "icons/icon-192.png",
)
# The pages kept for offline use (regular expressions on the path; the query
# string is not part of what is kept): home, the visitor's task list, the
# liaison's village board, each elder's visit form, the outbox.
OFFLINE_PAGES = (
    r"^/$",
    r"^/visits/$",
    r"^/visits/board/(?:[0-9]+/)?$",
    r"^/visits/new/[0-9]+/$",
    r"^/visits/outbox/$",
)
# Visit forms kept at most when the task list is opened (a village's board can
# list many more elders than a visitor covers).
MAX_KEPT_FORMS = 60


@cache
def workbox_version() -> str:
    """The Workbox version package.json pins (one place for the Makefile, which
    copies it to static/vendor/workbox-<version>/, and for the worker)."""
    package = json.loads((settings.BASE_DIR / "package.json").read_text(encoding="utf-8"))
    return str(package["dependencies"]["workbox-core"])


def worker_config() -> dict[str, Any]:
    version = workbox_version()
    return {
        "workbox": [
            static(f"vendor/workbox-{version}/workbox-{m}.prod.js") for m in WORKBOX_MODULES
        ],
        "assets": [static(name) for name in ASSETS],
        "css": static("css/app.css"),
        "pages": list(OFFLINE_PAGES),
        "maxForms": MAX_KEPT_FORMS,
        "login": resolve_url(settings.LOGIN_URL),
        "outbox": reverse("offline:outbox"),
        "home": reverse("visits:home"),
    }


@access.requires(Perm.VISITS_RECORD)
@require_GET
def service_worker(request: HttpRequest) -> HttpResponse:
    """The service worker, for the roles that record visits (base.html registers
    it for them only). Served from the root: its scope is the whole site."""
    context = {"config": json.dumps(worker_config(), ensure_ascii=False)}
    response = render(
        request, "visits/sw.js", context, content_type="text/javascript; charset=utf-8"
    )
    response["Service-Worker-Allowed"] = "/"
    return response


@access.requires(Perm.VISITS_RECORD)
@require_GET
def outbox(request: HttpRequest) -> HttpResponse:
    """The visits kept on this phone: drawn by outbox.js from the phone's store;
    the server knows nothing of them until they are sent."""
    return render(request, "visits/outbox.html")


@access.json_api(Perm.VISITS_RECORD)
@require_GET
def session(request: HttpRequest) -> JsonResponse:
    """Who is signed in, and a CSRF token for the API. An expired session never
    reaches here: the middleware answers 401 in JSON (access.json_api)."""
    user = access.signed_in_user(request)
    return JsonResponse({"user": str(user.pk), "csrf": get_token(request)})
