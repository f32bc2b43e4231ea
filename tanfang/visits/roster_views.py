"""Pages of the visitor roster (探访人员) and of the assignments (包干): phone
first, every object fetched through tanfang.accounts.access (404 outside the
user's subtree), every change made by one action of tanfang/visits/roster.py."""

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from tanfang import pages
from tanfang.accounts import access
from tanfang.accounts.models import User
from tanfang.accounts.permissions import Perm
from tanfang.regions.models import Level, Region
from tanfang.registry import crypto
from tanfang.registry.models import Elder, Status
from tanfang.visits import queries, roster
from tanfang.visits.models import Visitor
from tanfang.visits.roster_forms import (
    AssignForm,
    BulkAssignForm,
    DeactivateForm,
    EndAssignmentForm,
    VisitorFilterForm,
    VisitorForm,
)

PAGE_SIZE = 50


def _masked_phone(visitor: Visitor) -> str:
    return crypto.mask_phone(crypto.decrypt(visitor.phone_token)) if visitor.phone_token else ""


def _posted(request: HttpRequest) -> Any:
    """The form data of a POST, even an empty one (an unticked form is still a
    submission to answer with errors), or None to show the form."""
    return request.POST if request.method == "POST" else None


# --- The roster ------------------------------------------------------------------


@access.requires(Perm.PEOPLE_VIEW)
def visitor_list(request: HttpRequest) -> HttpResponse:
    user = access.signed_in_user(request)
    form = VisitorFilterForm(request.GET, user=user)
    visitors = Visitor.objects.visible_to(user)
    if form.is_valid():
        data = form.cleaned_data
        visitors = queries.search_visitors(
            visitors,
            text=data["q"],
            kind=data["kind"],
            village=data["village"],
            active=data["active"],
        )
    else:
        # A filter that could not be read must not look like one that matched everything.
        visitors = visitors.none()
    visitors = queries.with_roster_details(visitors.order_by("township_id", "name", "pk"))
    page = Paginator(visitors, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "form": form,
        "page": page,
        "rows": [(v, _masked_phone(v)) for v in page],
        "query": query.urlencode(),
        "can_manage": user.can(Perm.VISITORS_MANAGE),
    }
    return render(request, "visits/visitor_list.html", context)


def _township_for_new(user: User, code: str) -> Region | None:
    """The township whose roster gets the new entry: the officer's own, or for
    a county officer the one chosen (None until chosen)."""
    if user.region.level == Level.TOWNSHIP:
        return user.region
    if not code:
        return None
    township = access.get_region_for(user, code)
    if township.level != Level.TOWNSHIP:
        raise Http404
    return township


@access.requires(Perm.VISITORS_MANAGE)
def visitor_new(request: HttpRequest) -> HttpResponse:
    user = access.signed_in_user(request)
    township = _township_for_new(user, request.GET.get("township", ""))
    if township is None:
        townships = access.regions_visible_to(user).filter(level=Level.TOWNSHIP).order_by("code")
        return render(request, "visits/visitor_township.html", {"townships": townships})
    form = VisitorForm(_posted(request), acting_user=user, township=township)
    if request.method == "POST" and form.is_valid():
        try:
            visitor = roster.create_visitor(
                acting_user=user, township=township, request=request, **form.values()
            )
        except ValidationError as error:
            pages.put_back(form, error)
        else:
            messages.success(request, f"已将 {visitor.name} 加入{township.name}探访人员名单。")
            return redirect("visits:visitor_detail", visitor_id=visitor.pk)
    context = {"form": form, "township": township, "visitor": None}
    return render(request, "visits/visitor_form.html", context)


@access.requires(Perm.PEOPLE_VIEW)
def visitor_detail(request: HttpRequest, visitor_id: int) -> HttpResponse:
    user = access.signed_in_user(request)
    visitor = access.get_or_404(Visitor.objects.visible_to(user), pk=visitor_id)
    elders = queries.elders_of_visitor(visitor, Elder.objects.visible_to(user))
    context = {
        "visitor": visitor,
        "phone": _masked_phone(visitor),
        "villages": visitor.villages.order_by("code"),
        "elders": elders,
        "can_manage": user.can(Perm.VISITORS_MANAGE) and visitor.active,
    }
    return render(request, "visits/visitor_detail.html", context)


@access.requires(Perm.VISITORS_MANAGE)
def visitor_edit(request: HttpRequest, visitor_id: int) -> HttpResponse:
    user = access.signed_in_user(request)
    visitor = access.get_or_404(Visitor.objects.visible_to(user), pk=visitor_id)
    form = VisitorForm(
        _posted(request),
        acting_user=user,
        township=visitor.township,
        visitor=visitor,
        masked_phone=_masked_phone(visitor),
    )
    if request.method == "POST" and visitor.active and form.is_valid():
        try:
            changed = roster.update_visitor(
                acting_user=user, visitor=visitor, changes=form.changes(), request=request
            )
        except ValidationError as error:
            pages.put_back(form, error)
        else:
            if changed:
                messages.success(request, f"已保存 {visitor.name} 的信息。")
            else:
                messages.info(request, "没有修改任何内容。")
            return redirect("visits:visitor_detail", visitor_id=visitor.pk)
    context = {"form": form, "township": visitor.township, "visitor": visitor}
    return render(request, "visits/visitor_form.html", context)


@access.requires(Perm.VISITORS_MANAGE)
def visitor_deactivate(request: HttpRequest, visitor_id: int) -> HttpResponse:
    user = access.signed_in_user(request)
    visitor = access.get_or_404(Visitor.objects.visible_to(user), pk=visitor_id)
    form = DeactivateForm(_posted(request))
    if request.method == "POST" and visitor.active and form.is_valid():
        try:
            uncovered = roster.deactivate_visitor(
                acting_user=user, visitor=visitor, request=request, **form.cleaned_data
            )
        except ValidationError as error:
            pages.put_back(form, error)
        else:
            messages.success(request, f"已停用 {visitor.name}，其包干已全部结束。")
            if uncovered:
                names = "、".join(e.name for e in uncovered)
                messages.warning(
                    request, f"以下老人现在没有包干探访人员，请尽快重新指定：{names}。"
                )
            return redirect("visits:visitor_detail", visitor_id=visitor.pk)
    elders = list(
        queries.elders_of_visitor(visitor, Elder.objects.visible_to(user)).annotate(
            others=queries.has_other_visitor(visitor)
        )
    )
    context = {"form": form, "visitor": visitor, "elders": elders}
    return render(request, "visits/visitor_deactivate.html", context)


# --- Assignments (包干) ----------------------------------------------------------


@access.requires(Perm.ASSIGNMENTS_MANAGE)
def assignments(request: HttpRequest) -> HttpResponse:
    """Every village under the user: active elders, and those without a visitor."""
    user = access.signed_in_user(request)
    return _overview(request, user, user.region)


@access.requires(Perm.ASSIGNMENTS_MANAGE)
def assign_region(request: HttpRequest, code: str) -> HttpResponse:
    """A village: bulk assignment; a larger node: the overview of its villages."""
    user = access.signed_in_user(request)
    region = access.get_region_for(user, code)
    if region.level != Level.VILLAGE:
        return _overview(request, user, region)
    return _village(request, user, region)


def _overview(request: HttpRequest, user: User, region: Region) -> HttpResponse:
    counts = queries.counts_by_village(region, Elder.objects.visible_to(user))
    context: dict[str, Any] = {
        "region": region,
        "counts": counts,
        "active_total": sum(c.active for c in counts),
        "without_total": sum(c.without_visitor for c in counts),
        "ancestors": _ancestors(user, region),
        # Villages of several townships: say which township each is in.
        "show_township": region.level < Level.TOWNSHIP,
    }
    return render(request, "visits/assignments.html", context)


def _ancestors(user: User, region: Region) -> list[Region]:
    """The nodes above `region` the user may open, for the crumbs."""
    if region.code == user.region_id:
        return []
    return list(
        access.regions_visible_to(user).filter(code__in=region.ancestor_codes()).order_by("level")
    )


def _village(request: HttpRequest, user: User, village: Region) -> HttpResponse:
    elders = Elder.objects.visible_to(user).filter(village_id=village.code)
    visitors = queries.eligible_visitors(Visitor.objects.visible_to(user), village.code)
    form = BulkAssignForm(
        _posted(request),
        elders=elders.filter(status=Status.ACTIVE),
        visitors=visitors,
    )
    if request.method == "POST" and form.is_valid():
        try:
            made = roster.assign_many(
                acting_user=user,
                elders=form.cleaned_data["elders"],
                visitor=form.cleaned_data["visitor"],
                request=request,
            )
        except ValidationError as error:
            pages.put_back(form, error)
        else:
            visitor = form.cleaned_data["visitor"]
            messages.success(request, f"已为 {len(made)} 位老人指定包干探访人员 {visitor.name}。")
            return redirect("visits:assign_region", code=village.code)
    rows = list(queries.elders_with_visitors(elders))
    checked = {str(value) for value in (form["elders"].value() or [])}
    context = {
        "village": village,
        "form": form,
        "visitors": list(visitors),
        "chosen_visitor": str(form["visitor"].value() or ""),
        "without": [e for e in rows if not e.current],  # type: ignore[attr-defined]
        "assigned": [e for e in rows if e.current],  # type: ignore[attr-defined]
        "active_count": len(rows),
        "checked": checked,
        "ancestors": _ancestors(user, village),
    }
    return render(request, "visits/assign_village.html", context)


def _file_url(elder: Elder) -> str:
    return f"{reverse('registry:file', args=[elder.pk])}#visitors"


@access.requires(Perm.ASSIGNMENTS_MANAGE)
def assign_elder(request: HttpRequest, elder_id: int) -> HttpResponse:
    """Add a responsible visitor for one elder."""
    user = access.signed_in_user(request)
    elder = access.get_or_404(Elder.objects.visible_to(user), pk=elder_id)
    eligible = queries.eligible_visitors(Visitor.objects.visible_to(user), elder.village_id)
    form = AssignForm(
        _posted(request),
        visitors=eligible.exclude(queries.assigned_to(elder)),
    )
    if request.method == "POST" and form.is_valid():
        try:
            roster.assign_visitor(
                acting_user=user,
                elder=elder,
                visitor=form.cleaned_data["visitor"],
                request=request,
            )
        except ValidationError as error:
            pages.put_back(form, error)
        else:
            visitor = form.cleaned_data["visitor"]
            messages.success(request, f"已指定 {visitor.name} 为 {elder.name} 的包干探访人员。")
            return redirect(_file_url(elder))
    context = {
        "elder": elder,
        "form": form,
        "current": queries.visitors_of_elder(elder),
        "inactive": elder.status != Status.ACTIVE,
    }
    return render(request, "visits/assign_elder.html", context)


@access.requires(Perm.PEOPLE_VIEW)
def elder_assignments(request: HttpRequest, elder_id: int) -> HttpResponse:
    """Every visitor who was ever responsible for the elder, with who and when."""
    user = access.signed_in_user(request)
    elder = access.get_or_404(Elder.objects.visible_to(user), pk=elder_id)
    return _history(request, user, elder, None, None)


def _history(
    request: HttpRequest,
    user: User,
    elder: Elder,
    form: EndAssignmentForm | None,
    failed: int | None,
) -> HttpResponse:
    context = {
        "elder": elder,
        "history": queries.history_of_elder(elder),
        "can_end": user.can(Perm.ASSIGNMENTS_MANAGE),
        "form": form,
        "failed": failed,
    }
    return render(request, "visits/assignment_history.html", context)


@access.requires(Perm.ASSIGNMENTS_MANAGE)
@require_POST
def end_assignment(request: HttpRequest, elder_id: int) -> HttpResponse:
    user = access.signed_in_user(request)
    elder = access.get_or_404(Elder.objects.visible_to(user), pk=elder_id)
    form = EndAssignmentForm(
        request.POST, assignments=elder.assignments.filter(ended_at__isnull=True)
    )
    if form.is_valid():
        assignment = form.cleaned_data["assignment"]
        try:
            left_without = roster.end_assignment(
                acting_user=user,
                assignment=assignment,
                reason=form.cleaned_data["reason"],
                request=request,
            )
        except ValidationError as error:
            pages.put_back(form, error)
        else:
            messages.success(request, f"已结束 {assignment.visitor.name} 对 {elder.name} 的包干。")
            if left_without:
                messages.warning(request, f"{elder.name} 现在没有包干探访人员，请尽快重新指定。")
            return redirect("visits:elder_assignments", elder_id=elder.pk)
    failed = form["assignment"].value()
    return _history(request, user, elder, form, int(failed) if str(failed).isdigit() else None)
