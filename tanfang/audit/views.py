from datetime import datetime, time, timedelta

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from tanfang.accounts import access
from tanfang.accounts.permissions import Perm
from tanfang.audit.actions import record
from tanfang.audit.forms import EventFilterForm
from tanfang.audit.models import Action

PAGE_SIZE = 50


@access.requires(Perm.AUDIT_VIEW)
def event_list(request: HttpRequest) -> HttpResponse:
    user = access.signed_in_user(request)
    events = access.audit_events_visible_to(user).select_related("actor")
    form = EventFilterForm(request.GET or None)
    if form.is_valid():
        data = form.cleaned_data
        if data["username"]:
            events = events.filter(username=data["username"].strip())
        if data["action"]:
            events = events.filter(action=data["action"])
        zone = timezone.get_current_timezone()
        if data["since"]:
            events = events.filter(at__gte=datetime.combine(data["since"], time.min, zone))
        if data["until"]:
            end = datetime.combine(data["until"] + timedelta(days=1), time.min, zone)
            events = events.filter(at__lt=end)
    elif form.is_bound:
        # A filter that could not be read must not look like one that matched everything.
        events = events.none()
    page = Paginator(events, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    response = render(
        request, "audit/list.html", {"form": form, "page": page, "query": query.urlencode()}
    )
    # Reading the log is itself logged (NONFUNCTIONAL.md "Audit trail": who read
    # what), after the page is drawn so that it does not list its own reading.
    record(Action.AUDIT_VIEWED, actor=user, request=request, detail={"query": request.GET.dict()})
    return response
