"""The phone pages of visits: the visitor's home (what is due, late, coming),
the visit form with its "will it count" check, one visit record, and the
village board of the liaison (DOMAIN.md "Visits", issue 5 "Phone pages")."""

import logging
import math
from datetime import date
from typing import Any

from django import forms as django_forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_GET, require_POST

from tanfang import pages
from tanfang.accounts import access
from tanfang.accounts.models import User
from tanfang.accounts.permissions import Perm
from tanfang.care import queries as care_queries
from tanfang.care.models import HazardStatus
from tanfang.policy.problems import ConfigError
from tanfang.regions.models import Level, Region
from tanfang.registry import change_reports, reveal
from tanfang.registry.models import ChangeReport, Elder, Status
from tanfang.visits import actions, checklist, closing, counting, page_queries, queries, route
from tanfang.visits.forms import DATETIME_LOCAL, VisitForm
from tanfang.visits.models import ExcuseReason, Visit, VisitMode, Visitor, VisitTask

# On the elder's file.
RECENT_VISITS = 5

logger = logging.getLogger(__name__)


@access.requires(Perm.VISITS_RECORD)
def home(request: HttpRequest) -> HttpResponse:
    user = access.signed_in_user(request)
    visitor = page_queries.visitor_of(user)
    if visitor is None:
        # A liaison or an officer who is on no roster follows the village's
        # visits on the board; a visitor account not yet on a roster is told so.
        if user.can(Perm.REPORTS_VIEW):
            return redirect("visits:board")
        return render(request, "visits/home.html", {"visitor": None})
    today = timezone.localdate()
    query = request.GET.get("q", "").strip()[:50]
    start = _position_in(request)
    tasks = page_queries.home(user, visitor, today, start=start, query=query)
    _add_findings(user, tasks.cards, today)
    saved = _saved_visit(request, user)
    context = {
        "visitor": visitor,
        "home": tasks,
        "today": today,
        "saved": saved,
        "saved_tasks": sorted(saved.completed_tasks.all(), key=counting.urgency) if saved else [],
        "next_row": tasks.next_due(saved.elder_id) if saved else None,
        "position": start,
    }
    response = render(request, "visits/home.html", context)
    patch_cache_control(response, private=True)
    return response


def _position_in(request: HttpRequest) -> route.Position | None:
    """The visitor's position sent by the page (?lat=&lng=, the phone's
    geolocation); None when missing or not a place on Earth."""
    try:
        latitude = float(request.GET.get("lat", ""))
        longitude = float(request.GET.get("lng", ""))
    except ValueError:
        return None
    if not (math.isfinite(latitude) and math.isfinite(longitude)):
        return None
    return (latitude, longitude) if route.is_position(latitude, longitude) else None


def _add_findings(user: User, cards: list[page_queries.Card], today: date) -> None:
    """What is still open about each elder on the cards, in words: open
    emergencies, hazards and needs (care's queries, three queries in all)."""
    ids = [card.elder.pk for card in cards]
    if not ids:
        return
    found: dict[int, list[str]] = {pk: [] for pk in ids}
    for emergency in care_queries.emergencies_in(user, today=today, state="open").filter(
        elder_id__in=ids
    ):
        found[emergency.elder_id].append(f"应急事件（{emergency.get_kind_display()}）处置中")
    hazards = care_queries.hazards_in(user, today=today, status=HazardStatus.OPEN)
    for hazard in hazards.filter(elder_id__in=ids):
        found[hazard.elder_id].append(f"{hazard.get_item_display()}隐患未消除（{hazard.finding}）")
    needs = care_queries.needs_in(user, today=today, status=care_queries.OPEN_ALL)
    for need in needs.filter(elder_id__in=ids):
        found[need.elder_id].append(
            f"{need.get_need_type_display()}需求{need.get_status_display()}"
        )
    for card in cards:
        card.findings = found[card.elder.pk]


def _saved_visit(request: HttpRequest, user: User) -> Visit | None:
    """The visit just saved (`?saved=<id>` after the form), if the user may see it."""
    raw = request.GET.get("saved", "")
    if not raw.isdigit():
        return None
    try:
        return access.get_or_404(Visit.objects.visible_to(user), pk=int(raw))
    except Http404:
        return None


# --- Calling the elder ------------------------------------------------------------------


@access.requires(Perm.PEOPLE_VIEW, Perm.VISITS_RECORD)
@require_GET
def call(request: HttpRequest, elder_id: int) -> HttpResponse:
    """The call button: an audited reveal of the elder's phone, answered with a
    redirect to `tel:` so that the phone dials.

    Why a link to this view and not the number in the page: a masked number
    cannot be dialled, and the whole number in every row of the home page
    would be a reveal nobody logged (NONFUNCTIONAL.md "Masking": whole values
    only "by an action that is logged"). So the page shows the mask, and one tap
    here logs the reveal (ELDER_REVEALED, purpose "call") and dials.

    Why GET, unlike the file's POST-only reveal buttons: a `tel:` link must be a
    plain link a phone follows with one tap, and a form posting to a redirect to
    `tel:` is blocked by the CSP's form-action 'self'. The request changes no
    record; it only writes the audit entry, and the response is never cached.

    Who: a role that may reveal (liaison, township, county: reveal.may_reveal),
    or a visitor responsible for this elder (open 包干), who must be able to
    phone them (电话探访) without holding the reveal permission for everyone.
    """
    user = access.signed_in_user(request)
    elder = access.get_or_404(Elder.objects.visible_to(user), pk=elder_id)
    if not (
        reveal.may_reveal(user, elder)
        or page_queries.is_assigned(page_queries.visitor_of(user), elder)
    ):
        raise PermissionDenied
    if not elder.phone_token:
        messages.info(request, f"{elder.name}的档案未登记联系电话。")
        return redirect("visits:home")
    number = reveal.reveal_phone_to_dial(
        acting_user=user, elder=elder, request=request, purpose="call"
    )
    return pages.dial(number)


@access.requires(Perm.PEOPLE_VIEW, Perm.VISITS_RECORD)
@require_POST
def address(request: HttpRequest, elder_id: int) -> HttpResponse:
    """显示地址 on a task card: the elder's whole residence address, an audited
    reveal (ELDER_REVEALED, purpose "address"). Who, as for the call button
    (`call`): among visitors only the one assigned to the elder (open 包干),
    who must find the house without holding the reveal permission for
    everyone; and a role that may reveal the file's address anyway. POST, like
    the file's reveal buttons: htmx swaps the masked address for the whole one,
    a plain form gets a small page; never cached."""
    user = access.signed_in_user(request)
    elder = access.get_or_404(Elder.objects.visible_to(user), pk=elder_id)
    if not (
        reveal.may_reveal(user, elder)
        or page_queries.is_assigned(page_queries.visitor_of(user), elder)
    ):
        raise PermissionDenied
    value, message = "", ""
    try:
        value = reveal.reveal_address_to_visit(acting_user=user, elder=elder, request=request)
    except ValidationError as error:
        message = " ".join(error.messages)
    template = "visits/_address.html" if getattr(request, "htmx", False) else "visits/address.html"
    response = render(request, template, {"elder": elder, "value": value, "message": message})
    patch_cache_control(response, no_store=True)
    return response


# --- The visit form ---------------------------------------------------------------------


@access.requires(Perm.VISITS_RECORD)
def visit_new(request: HttpRequest, elder_id: int) -> HttpResponse:
    user = access.signed_in_user(request)
    # A visitor may visit another elder of their village, saying why (outside_reason).
    elder = access.get_or_404(Elder.objects.visible_to(user, visiting=True), pk=elder_id)
    today = timezone.localdate()
    own = page_queries.visitor_of(user)
    try:
        definition = actions.checklist_for(elder)
    except ConfigError as error:
        return _form_unavailable(request, elder, own, error)
    open_tasks = page_queries.open_tasks_now(elder, today)
    form = VisitForm(
        request.POST if request.method == "POST" else None,
        request.FILES if request.method == "POST" else None,
        definition=definition,
        elder=elder,
        visitors=page_queries.visitors_for_form(user, elder),
        own=own,
        initial_mode=_initial_mode(definition, elder, open_tasks),
    )
    conflict: Visit | None = None
    if request.method == "POST" and elder.status == Status.ACTIVE:
        if form.is_valid():
            try:
                recorded = actions.record_visit(
                    acting_user=user, elder=elder, request=request, **form.action_kwargs()
                )
            except ValidationError as error:
                form.add_action_errors(error)
                form.prepare_again(new_record=False)
            except actions.VisitConflict as error:
                conflict = error.visit
                form.prepare_again(new_record=True)
            else:
                return _after_saving(request, recorded, own)
        else:
            form.check_answers()
            form.prepare_again(new_record=False)
    label, reasons = page_queries.tier_words(elder)
    context = {
        "elder": elder,
        "form": form,
        "definition": definition,
        "phone": page_queries.masked_phone(elder),
        "may_call": reveal.may_reveal(user, elder) or page_queries.is_assigned(own, elder),
        "tier_label": label,
        "tier_reasons": reasons,
        "open_tasks": open_tasks,
        "today": today,
        "inactive": elder.status != Status.ACTIVE,
        "conflict": conflict,
        "own": own,
        "outside": access.assigned_only(user) and not page_queries.is_assigned(own, elder),
        **_check_context(
            elder, form["mode"].value(), form["visited_at"].value(), bool(form["refused"].value())
        ),
    }
    status = 200 if request.method == "GET" or conflict is None else 409
    return render(request, "visits/form.html", context, status=status)


def _form_unavailable(
    request: HttpRequest, elder: Elder, own: Visitor | None, error: ConfigError
) -> HttpResponse:
    """The county's form cannot be read: only its elders are affected, and the
    visitor is told why instead of a server error (503: nothing is wrong with the
    request, and the page works again once the file is mended)."""
    logger.error("visit form for elder %s cannot be loaded: %s", elder.pk, error)
    context = {"elder": elder, "own": own, "message": checklist.unavailable_words(error)}
    return render(request, "visits/form_unavailable.html", context, status=503)


def _initial_mode(
    definition: checklist.Checklist, elder: Elder, open_tasks: list[VisitTask]
) -> str:
    """The mode the elder's first open task asks for, among those the form offers;
    never a home visit the elder did not agree to (004_1657df0ed1e05604.txt 二(四))."""
    offered = [value for value, _ in definition.modes]
    allowed = [
        m for m in offered if m != VisitMode.HOME or elder.consents_to_home_visits
    ] or offered
    for task in open_tasks:
        for mode in task.modes:
            if mode in allowed:
                return str(mode)
    return allowed[0]


def _after_saving(
    request: HttpRequest, recorded: actions.Recorded, own: Visitor | None
) -> HttpResponse:
    """A visitor goes home, where the saved visit and the next elder due are at
    the top; someone recording on a visitor's behalf goes to the record."""
    visit = recorded.visit
    if not recorded.created:
        # The same page sent again (a double tap, a retry): nothing new was stored.
        messages.info(
            request,
            f"这份探访记录已经保存过（{visit.elder.name}第{visit.sequence}次探访），未重复保存。",
        )
    if own is not None:
        return redirect(f"{reverse('visits:home')}?saved={visit.pk}")
    if recorded.created:
        messages.success(request, f"已保存{visit.elder.name}的第{visit.sequence}次探访记录。")
    return redirect(f"{reverse('visits:visit', kwargs={'visit_id': visit.pk})}?saved=1")


@access.requires(Perm.VISITS_RECORD)
@require_GET
def visit_check(request: HttpRequest, elder_id: int) -> HttpResponse:
    """The htmx fragment under the mode: whether the visit will count, and if
    not why (counting.explain), before anything is saved."""
    user = access.signed_in_user(request)
    elder = access.get_or_404(Elder.objects.visible_to(user, visiting=True), pk=elder_id)
    context = _check_context(
        elder,
        request.GET.get("mode", ""),
        request.GET.get("visited_at", ""),
        request.GET.get("refused", "") not in ("", "false", "0"),
    )
    response = render(request, "visits/_check.html", context)
    patch_cache_control(response, no_store=True)
    return response


def _check_context(elder: Elder, mode: Any, visited_at: Any, refused: bool) -> dict[str, Any]:
    warnings: list[str] = []
    today = timezone.localdate()
    day = _day_of(visited_at) or today
    if _day_of(visited_at) is None and visited_at:
        warnings.append("探访时间格式不正确，按今天检查。")
    if day > today:
        warnings.append("探访时间不能晚于现在。")
    # 补录: the day's month is locked; the form then asks why (closing.py).
    late = closing.lateness(elder.village_id, day, timezone.now()) if day <= today else None
    late_words = (
        f"{late.words()}，本次为补录：请在下面填写补录原因，仍可保存；"
        f"经乡镇(街道)或县级民政审核同意后才计入{late.month.month}月。"
        if late
        else ""
    )
    if mode not in VisitMode.values:
        return {"check": {"mode_missing": True, "warnings": warnings, "late": late_words}}
    if mode == VisitMode.HOME and not elder.consents_to_home_visits and not refused:
        # 004_1657df0ed1e05604.txt 二(四): 入户探访须征得老年人或赡养人同意.
        warnings.append("该老人未同意入户探访：请记录为电话等其他方式，或勾选“老人拒绝探访”。")
    outcome = counting.explain(elder, mode=mode, day=day, refused=refused)
    return {
        "check": {
            "mode_missing": False,
            "warnings": warnings,
            "counts": outcome.counts,
            "completes": [t.label for t in outcome.completes],
            "reasons": list(outcome.reasons),
            "day": day,
            "late": late_words,
        }
    }


def _day_of(value: Any) -> date | None:
    if not value:
        return None
    field = django_forms.DateTimeField(input_formats=[DATETIME_LOCAL, "%Y-%m-%d %H:%M"])
    try:
        moment = field.clean(value)
    except ValidationError:
        return None
    return timezone.localdate(moment) if moment is not None else None


# --- One visit --------------------------------------------------------------------------


@access.requires(Perm.PEOPLE_VIEW)
def visit_detail(request: HttpRequest, visit_id: int) -> HttpResponse:
    user = access.signed_in_user(request)
    visit = access.get_or_404(Visit.objects.visible_to(user), pk=visit_id)
    context = {
        "visit": visit,
        "answers": page_queries.answers_in_words(visit.checklist, visit.answers),
        "needs": page_queries.needs_in_words(visit.needs_found),
        "visitors": list(visit.visitors.all()),
        "tasks": list(visit.completed_tasks.all()),
        "hazards": list(visit.hazards.all()),
        "need_records": list(visit.needs.all()),
        "texts": _texts_of(visit),
        "satisfaction": _satisfaction_of(visit),
        "may_record": user.can(Perm.VISITS_RECORD) and visit.elder.status == Status.ACTIVE,
        "may_see_board": user.can(Perm.REPORTS_VIEW),
    }
    response = render(request, "visits/visit.html", context)
    patch_cache_control(response, private=True, no_store=True)
    return response


def _texts_of(visit: Visit) -> list[tuple[str, str]]:
    """The free-text answers under the labels of the visit's form."""
    definition = _definition(visit.checklist)
    labels = dict(definition.text_fields) if definition else {}
    fallback = {
        "services_given": "关爱服务情况",
        "suggestions": "实施关爱服务建议",
        "notes": "其他需说明的问题",
    }
    return [
        (labels.get(name, fallback[name]), getattr(visit, name))
        for name in fallback
        if getattr(visit, name)
    ]


def _satisfaction_of(visit: Visit) -> str:
    if not visit.satisfaction:
        return ""
    definition = _definition(visit.checklist)
    options = {o.value: o.label for o in definition.satisfaction} if definition else {}
    return options.get(visit.satisfaction, visit.satisfaction)


def _definition(name: str) -> checklist.Checklist | None:
    """The form a stored visit was recorded on; None if it cannot be read now (the
    record is then shown under the fields' own names)."""
    try:
        return checklist.load(name)
    except ConfigError as error:
        logger.error("visit form %s cannot be loaded: %s", name, error)
        return None


@access.requires(Perm.PEOPLE_VIEW)
@require_GET
def elder_visits(request: HttpRequest, elder_id: int) -> HttpResponse:
    """The elder's file loads its recent visits from here (htmx), with the
    button to record one: visits are scoped by the village where they were made,
    which the file's own view does not know about."""
    user = access.signed_in_user(request)
    elder = access.get_or_404(Elder.objects.visible_to(user), pk=elder_id)
    visits = Visit.objects.visible_to(user).filter(elder=elder).order_by("-visited_at", "-pk")
    context = {
        "elder": elder,
        "visits": list(visits[:RECENT_VISITS]),
        "more": visits.count() > RECENT_VISITS,
        "may_record": user.can(Perm.VISITS_RECORD) and elder.status == Status.ACTIVE,
    }
    return render(request, "visits/_recent.html", context)


@access.requires(Perm.PEOPLE_VIEW)
@require_GET
def visit_photo(request: HttpRequest, visit_id: int) -> FileResponse:
    """The photo of a visit, to those who may read the visit, never cached."""
    user = access.signed_in_user(request)
    visit = access.get_or_404(Visit.objects.visible_to(user), pk=visit_id)
    return pages.stored_photo(visit.photo)


# --- The village board ------------------------------------------------------------------


@access.requires(Perm.PEOPLE_VIEW, Perm.REPORTS_VIEW)
def board(request: HttpRequest, code: str | None = None) -> HttpResponse:
    """A village's elders with this month's visit status; above a village, the
    places below to choose from."""
    user = access.signed_in_user(request)
    region = access.get_region_for(user, code) if code else user.region
    today = timezone.localdate()
    context: dict[str, Any] = {
        "region": region,
        "today": today,
        "crumbs": _crumbs(user, region),
        "own": page_queries.visitor_of(user),
    }
    if region.level != Level.VILLAGE:
        context["places"] = page_queries.places_under(user, region, today)
        return render(request, "visits/board.html", context)
    context["board"] = page_queries.board(user, region, today)
    context["may_record"] = user.can(Perm.VISITS_RECORD)
    context["may_call"] = user.can(Perm.PEOPLE_REVEAL)
    context["may_excuse"] = user.can(Perm.ASSIGNMENTS_MANAGE)
    # Issue 16: visits outside a visitor's assignment, and deaths or moves reported.
    context["outside_visits"] = list(
        queries.outside_visits(Visit.objects.visible_to(user), region, today.replace(day=1))[:50]
    )
    context["pending_reports"] = change_reports.pending(
        ChangeReport.objects.visible_to(user).filter(elder__village=region)
    ).count()
    return render(request, "visits/board.html", context)


def _crumbs(user: User, region: Region) -> list[Region]:
    """The places from the user's own down to the parent of `region`."""
    codes = [c for c in region.ancestor_codes() if user.region.contains(c)]
    return list(Region.objects.filter(code__in=codes).order_by("code")) if codes else []


class ExcuseForm(django_forms.Form):
    reason = django_forms.ChoiceField(
        label="免除原因", choices=[("", "请选择")] + list(ExcuseReason.choices)
    )
    note = django_forms.CharField(
        label="说明",
        required=False,
        max_length=200,
        widget=django_forms.Textarea(attrs={"rows": 3}),
    )


@access.requires(Perm.ASSIGNMENTS_MANAGE)
def task_excuse(request: HttpRequest, task_id: int) -> HttpResponse:
    """Excuse one open visit task: the elder is in hospital, away or declined
    (DOMAIN.md "Visits"), with the reason and who; the board then shows it excused."""
    user = access.signed_in_user(request)
    task = access.get_or_404(VisitTask.objects.visible_to(user), pk=task_id)
    form = ExcuseForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            actions.excuse_task(
                acting_user=user,
                task=task,
                reason=form.cleaned_data["reason"],
                note=form.cleaned_data["note"],
                request=request,
            )
        except ValidationError as error:
            pages.put_back(form, error)
        else:
            messages.success(request, f"已免除 {task.elder.name} 的“{task.label}”。")
            board = reverse("visits:board_region", args=[task.elder.village_id])
            return redirect(f"{board}#elder-{task.elder_id}")
    context = {
        "task": task,
        "state": task.state_on(timezone.localdate()),
        "form": form,
    }
    return render(request, "visits/task_excuse.html", context)
