"""补录审核: the late entries (visits entered after their month locked) a
township or county officer approves or refuses, one at a time with a note
(issue 16 "Closed months"; the actions are tanfang.visits.late)."""

import re
from datetime import date
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_GET

from tanfang import pages
from tanfang.accounts import access
from tanfang.accounts.permissions import Perm
from tanfang.regions.models import Region
from tanfang.visits import closing, counting, late, late_queries
from tanfang.visits.models import LateState, Visit

PAGE_SIZE = 20
_MONTH = re.compile(r"(\d{4})-(\d{1,2})")


class ListParams(forms.Form):
    state = forms.ChoiceField(
        required=False,
        choices=[(key, label) for key, (label, _) in late_queries.STATES.items()],
        error_messages={"invalid_choice": "状态应为“待审核”或“已审核”。"},
    )
    month = forms.CharField(required=False, max_length=20)
    code = forms.CharField(required=False, max_length=12)

    def clean_month(self) -> date | None:
        raw = self.cleaned_data["month"].strip()
        if not raw:
            return None
        found = _MONTH.fullmatch(raw)
        if found is None or not 1 <= int(found[2]) <= 12:
            raise ValidationError("月份应写作 2026-11。")
        return date(int(found[1]), int(found[2]), 1)


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(
        choices=[("approve", "同意计入"), ("refuse", "不予计入")],
        error_messages={
            "required": "请选择同意或不同意。",
            "invalid_choice": "请选择同意或不同意。",
        },
    )
    note = forms.CharField(
        label="审核意见",
        max_length=late.NOTE_MAX,
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": "如：已电话核实，确于当日上门探访"}),
        error_messages={"required": "请填写审核意见。", "max_length": "审核意见不能超过500字。"},
    )


@access.requires(Perm.VISITS_APPROVE_LATE)
@require_GET
def review(request: HttpRequest) -> HttpResponse:
    """The late entries under the officer (or under `code`), waiting first."""
    user = access.signed_in_user(request)
    params = ListParams(request.GET)
    if not params.is_valid():
        problems = [str(e) for errors in params.errors.values() for e in errors]
        refused = {"problems": problems, "back": reverse("visits:late_list")}
        return render(request, "visits/late_bad_request.html", refused, status=400)
    state = params.cleaned_data["state"] or "pending"
    month: date | None = params.cleaned_data["month"]
    code = params.cleaned_data["code"].strip()
    region: Region | None = access.get_region_for(user, code) if code else None
    entries = late_queries.late_entries(user, state=state, region=region, month=month)
    page = Paginator(entries, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    tabs = []
    for key, (label, _) in late_queries.STATES.items():
        tab = query.copy()
        tab["state"] = key
        tabs.append((label, f"?{tab.urlencode()}", key == state))
    context: dict[str, Any] = {
        "page": page,
        "rows": [(visit, DecisionForm(prefix=f"v{visit.pk}")) for visit in page],
        "query": query.urlencode(),
        "state": state,
        "state_label": late_queries.STATES[state][0],
        "tabs": tabs,
        "region": region or user.region,
        "month": month,
    }
    response = render(request, "visits/late_list.html", context)
    patch_cache_control(response, private=True, no_store=True)
    return response


@access.requires(Perm.VISITS_APPROVE_LATE)
def decide(request: HttpRequest, visit_id: int) -> HttpResponse:
    """One late entry: what it is, what approving it would complete, and the
    decision with a note. The list posts here too (its fields prefixed)."""
    user = access.signed_in_user(request)
    visit = access.get_or_404(Visit.objects.visible_to(user), pk=visit_id)
    prefix = request.POST.get("prefix", "") if request.method == "POST" else ""
    form = DecisionForm(request.POST or None, prefix=prefix or None)
    if request.method == "POST" and form.is_valid():
        decide_with = (
            late.approve_late if form.cleaned_data["decision"] == "approve" else late.refuse_late
        )
        try:
            decide_with(
                acting_user=user, visit=visit, note=form.cleaned_data["note"], request=request
            )
        except ValidationError as error:
            pages.put_back(form, error)
        else:
            done = "已同意计入" if form.cleaned_data["decision"] == "approve" else "已决定不予计入"
            day = timezone.localdate(visit.visited_at)
            messages.success(
                request, f"{done}：{visit.elder.name} {day.month}月{day.day}日的补录探访。"
            )
            return redirect(_back(request))
    day = timezone.localdate(visit.visited_at)
    waiting = visit.late_state == LateState.PENDING
    # What approving would complete now (counting.decide, as approval does).
    outcome = (
        counting.explain(visit.elder, mode=visit.mode, day=day, refused=visit.refused)
        if waiting
        else None
    )
    context = {
        "visit": visit,
        "form": form,
        "waiting": waiting,
        "locked_at": closing.month_locks_at(visit.village_id, day),
        "outcome": outcome,
        "completes": [task.label for task in outcome.completes] if outcome else [],
        "visitors": list(visit.visitors.all()),
        "back": _back(request),
    }
    response = render(request, "visits/late_decide.html", context)
    patch_cache_control(response, private=True, no_store=True)
    return response


def _back(request: HttpRequest) -> str:
    """The review list with the query it was posted from, read and written
    again: never another path than the list's own."""
    raw = request.POST.get("query", "") if request.method == "POST" else ""
    query = QueryDict(raw).urlencode()
    base = reverse("visits:late_list")
    return f"{base}?{query}" if query else base
