from collections.abc import Callable
from datetime import date
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from tanfang import pages
from tanfang.accounts import access
from tanfang.accounts.models import User
from tanfang.accounts.permissions import Perm
from tanfang.care import queries as care_queries
from tanfang.jurisdiction import tiers
from tanfang.policy import documents, engine
from tanfang.regions.models import Level
from tanfang.registry import (
    actions,
    change_reports,
    crypto,
    history,
    life_events,
    quality,
    queries,
    registration,
)
from tanfang.registry.actions import ITEM_KINDS, override_tier
from tanfang.registry.forms import (
    SECTIONS,
    CategoriesForm,
    ElderFilterForm,
    ElderSectionForm,
    ItemForm,
    LifeEventForm,
    RegisterElderForm,
    ReviewForm,
    StatusChangeForm,
    TierOverrideForm,
    WithdrawLifeEventForm,
)
from tanfang.registry.models import ChangeReport, Elder, Status
from tanfang.visits import queries as visit_queries
from tanfang.visits.models import Visitor

PAGE_SIZE = 50


@access.requires(Perm.PEOPLE_VIEW)
def elder_list(request: HttpRequest) -> HttpResponse:
    user = access.signed_in_user(request)
    form = ElderFilterForm(request.GET, user=user)
    elders = Elder.objects.visible_to(user)
    if form.is_valid():
        elders = queries.search(elders, form.cleaned_data["q"])
        if region := form.cleaned_data["subtree"]:
            elders = queries.in_region(elders, region)
        if category := form.cleaned_data["category"]:
            elders = queries.with_category(elders, category)
        if (status := form.cleaned_data["status"]) != queries.ALL_STATUSES:
            elders = elders.filter(status=status)
        if form.cleaned_data["review"]:
            elders = queries.review_overdue(elders, timezone.localdate())
        if form.cleaned_data["warnings"]:
            elders = queries.with_warnings(elders)
    else:
        # A filter that could not be read must not look like one that matched everything.
        elders = elders.none()
    elders = queries.with_confirmed_categories(elders.order_by("village_id", "name", "id"))
    page = Paginator(elders, PAGE_SIZE).get_page(request.GET.get("page"))
    # The page links keep the search and the filters.
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "form": form,
        "page": page,
        "rows": queries.rows(list(page), timezone.localdate()),
        "query": query.urlencode(),
        "can_register": user.can(Perm.ELDERS_REGISTER),
        # 导入/导出台账: importers, and those who may export (reports).
        "can_exchange": user.can(Perm.ELDERS_IMPORT) or user.can(Perm.REPORTS_VIEW),
        # A visitor's list is the elders assigned to them; the others of the
        # village are reached through 其他老人 (names only).
        "assigned_only": access.assigned_only(user),
        "pending_reports": (
            change_reports.pending(ChangeReport.objects.visible_to(user)).count()
            if user.can(Perm.PEOPLE_CHANGE)
            else 0
        ),
    }
    return render(request, "registry/list.html", context)


# 其他老人: at most this many names a page.
OTHERS_PAGE_SIZE = 30


@access.requires(Perm.VISITS_RECORD)
def elder_others(request: HttpRequest) -> HttpResponse:
    """其他老人: the elders of a visitor's village (their subtree) not assigned
    to them, by masked name only, each with the button to record a visit, for
    which the visitor then says why (tanfang.visits.actions.check_visit). A
    search by name narrows it. Anyone who sees the whole subtree has the list
    of files instead."""
    user = access.signed_in_user(request)
    if not access.assigned_only(user):
        return redirect("registry:list")
    q = (request.GET.get("q") or "").strip()[:20]
    others = (
        Elder.objects.visible_to(user, visiting=True)
        .filter(status=Status.ACTIVE)
        .exclude(pk__in=Elder.objects.visible_to(user).values("pk"))
        .order_by("village_id", "name", "pk")
    )
    if q:
        others = others.filter(name__contains=q)
    page = Paginator(others, OTHERS_PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "rows": [(elder, crypto.mask_name(elder.name)) for elder in page],
        "q": q,
        "query": urlencode({"q": q}) if q else "",
    }
    return render(request, "registry/others.html", context)


@access.requires(Perm.PEOPLE_VIEW)
def elder_file(request: HttpRequest, elder_id: int) -> HttpResponse:
    user = access.signed_in_user(request)
    elder = access.get_or_404(Elder.objects.visible_to(user), pk=elder_id)
    today = timezone.localdate()
    masked = _masked_values(elder)
    can_assign = user.can(Perm.ASSIGNMENTS_MANAGE) and elder.status == Status.ACTIVE
    context = {
        "elder": elder,
        "age": elder.age_on(today),
        "id_number": masked["id_number"],
        "phone": masked["phone"],
        "residence_address": masked["residence_address"],
        "registration_address": masked["registration_address"],
        "disability_certificate": masked["disability_certificate"],
        "categories": queries.categories_of(elder),
        "proposals": quality.proposals(elder, today),
        "inactive": elder.status != Status.ACTIVE,
        "status_changes": elder.status_changes.select_related("changed_by"),
        "can_change": user.can(Perm.PEOPLE_CHANGE) and elder.status == Status.ACTIVE,
        "can_change_status": user.can(Perm.PEOPLE_CHANGE),
        "can_override_tier": user.can(Perm.TIERS_OVERRIDE) and elder.status == Status.ACTIVE,
        "household": [
            (m, _masked(m.phone_token, crypto.mask_phone))
            for m in elder.household.filter(active=True)
        ],
        "contacts": [
            (c, _masked(c.phone_token, crypto.mask_phone))
            for c in elder.emergency_contacts.filter(active=True)
        ],
        "assistance": elder.assistance.filter(active=True),
        "help_received": elder.help_received.filter(active=True),
        "review_due_on": queries.review_due_on(elder),
        "review_overdue": elder.status == Status.ACTIVE and queries.review_due_on(elder) < today,
        "reviews": elder.reviews.select_related("reviewed_by")[:5],
        "policy": _policy_of(elder, today),
        # 包干探访人员 (tanfang/visits): who is responsible, and whom an officer may add.
        "visitors": visit_queries.file_panel(
            elder,
            visit_queries.eligible_visitors(Visitor.objects.visible_to(user), elder.village_id)
            if can_assign
            else None,
        ),
        "can_assign": can_assign,
        # 待办事项 at the top (tanfang/care): open needs, hazards, emergencies.
        **care_queries.file_context(user, elder, today),
        **_life_events_context(user, elder),
        **_change_reports_context(user, elder),
    }
    return render(request, "registry/file.html", context)


def _change_reports_context(user: User, elder: Elder) -> dict[str, Any]:
    """A death or a move reported and waiting on the file: the liaison confirms
    or rejects it, the visitor who may report sees that it waits."""
    waiting = change_reports.pending(ChangeReport.objects.visible_to(user).filter(elder=elder))
    report = waiting.first()
    return {
        "change_report": report,
        "can_decide_report": report is not None and user.can(Perm.PEOPLE_CHANGE),
        "can_report_change": (
            report is None
            and elder.status == Status.ACTIVE
            and change_reports.may_report(user)
            and not user.can(Perm.PEOPLE_CHANGE)
        ),
    }


def _life_events_context(user: User, elder: Elder) -> dict[str, Any]:
    """The file's "重大变故" section: every entry, withdrawn ones too (one query
    whatever their number), and the form to record one."""
    may_record = life_events.may_record_life_event(user) and elder.status == Status.ACTIVE
    return {
        "life_events": list(
            elder.life_events.select_related("recorded_by", "withdrawn_by").order_by(
                "-occurred_at", "-id"
            )
        ),
        "can_record_life_event": may_record,
        "can_withdraw_life_event": user.can(Perm.PEOPLE_CHANGE),
        "life_event_form": _new_life_event_form(None) if may_record else None,
    }


def _new_life_event_form(data: Any) -> LifeEventForm:
    now = timezone.localtime().replace(second=0, microsecond=0)
    # Ids of their own: the file page carries other forms.
    return LifeEventForm(data, initial={"occurred_at": now}, auto_id="life-event-%s")


def _policy_of(elder: Elder, today: date) -> dict[str, Any]:
    """The rules the elder's county follows, and what they ask for this elder."""
    name, overrides = tiers.choice_for(elder.village_id)
    categories = elder.categories.filter(withdrawn_at__isnull=True).values_list(
        "category", flat=True
    )
    try:
        profile = engine.load(name)
        evaluation = tiers.compute(elder, today, categories, name, overrides)
    except ValueError as error:
        # Only the counties that chose this profile see it; the file still opens.
        return {
            "problem": engine.problem_of(name, error),
            "maintainer": engine.maintainer_of(name),
        }
    labels = dict(profile.tier_keys())
    own = profile.versions[-1].own_documents
    return {
        "profile": profile,
        "evaluation": evaluation,
        "override_label": labels.get(elder.tier_override, ""),
        "override_citation": (
            documents.label(elder.tier_override_citation, own)
            if elder.tier_override_citation
            else ""
        ),
    }


@access.requires(Perm.TIERS_OVERRIDE)
def elder_tier(request: HttpRequest, elder_id: int) -> HttpResponse:
    """An officer's tier, with the reason and the document and section it rests
    on: township and county only (Perm.TIERS_OVERRIDE)."""
    user = access.signed_in_user(request)
    elder = _active_file(user, elder_id)
    name, _ = tiers.choice_for(elder.village_id)
    try:
        tier_keys = engine.load(name).tier_keys()
        citable = actions.override_documents(elder)
    except engine.ConfigError as error:
        messages.error(request, engine.problem_of(name, error) + "。请告知系统管理员。")
        return redirect(f"{reverse('registry:file', args=[elder.pk])}#tier")
    document, _, section = elder.tier_override_citation.partition(" ")
    form = TierOverrideForm(
        request.POST or None,
        tiers=tier_keys,
        documents=[(d.key, d.label()) for d in citable],
        initial={
            "tier": elder.tier_override,
            "reason": elder.tier_override_reason,
            "document": document or (citable[0].key if citable else ""),
            "section": section,
        },
    )
    if request.method == "POST" and form.is_valid():
        try:
            override_tier(acting_user=user, elder=elder, request=request, **form.cleaned_data)
        except ValidationError as error:
            pages.put_back(form, error)
        else:
            messages.success(request, "已保存分级调整。")
            return redirect(f"{reverse('registry:file', args=[elder.pk])}#tier")
    return render(request, "registry/tier.html", {"form": form, "elder": elder})


def _masked_values(elder: Elder) -> dict[str, str]:
    return {
        "id_number": crypto.mask_id(crypto.decrypt(elder.id_number_token)),
        "phone": _masked(elder.phone_token, crypto.mask_phone),
        "residence_address": _masked(elder.residence_address_token, crypto.mask_address),
        "registration_address": _masked(elder.registration_address_token, crypto.mask_address),
        "disability_certificate": _masked(elder.disability_certificate_token, crypto.mask_id),
    }


def _active_file(user: User, elder_id: int) -> Elder:
    """A file to change: in the user's scope and still in the registry."""
    elder = access.get_or_404(Elder.objects.visible_to(user), pk=elder_id)
    if elder.status != Status.ACTIVE:
        raise PermissionDenied("档案不在册，不能修改；如需修改请先恢复在册状态。")
    return elder


@access.requires(Perm.PEOPLE_CHANGE)
def elder_edit(request: HttpRequest, elder_id: int, section: str) -> HttpResponse:
    user = access.signed_in_user(request)
    elder = _active_file(user, elder_id)
    if section not in SECTIONS:
        raise Http404
    form = ElderSectionForm(
        request.POST or None, section=section, elder=elder, user=user, masked=_masked_values(elder)
    )
    if request.method == "POST" and form.is_valid():
        try:
            changed = actions.update_elder(
                acting_user=user, elder=elder, changes=form.changes(), request=request
            )
        except ValidationError as error:
            pages.put_back(form, error)
        else:
            if changed:
                messages.success(request, f"已保存{form.title}。")
            else:
                messages.info(request, "没有修改任何内容。")
            return redirect(f"{reverse('registry:file', args=[elder.pk])}#{section}")
    return render(request, "registry/edit.html", {"form": form, "elder": elder})


def _item_for(elder: Elder, kind: str, item_id: int | None) -> Any:
    if kind not in ITEM_KINDS:
        raise Http404
    if item_id is None:
        return None
    model = ITEM_KINDS[kind].model
    return get_object_or_404(model, pk=item_id, elder=elder, active=True)


@access.requires(Perm.PEOPLE_CHANGE)
def item_edit(
    request: HttpRequest, elder_id: int, kind: str, item_id: int | None = None
) -> HttpResponse:
    user = access.signed_in_user(request)
    elder = _active_file(user, elder_id)
    item = _item_for(elder, kind, item_id)
    masked = {}
    if item is not None:
        for name, (token, _) in ITEM_KINDS[kind].encrypted.items():
            mask = crypto.mask_id if name == "id_number" else crypto.mask_phone
            masked[name] = _masked(getattr(item, token), mask)
    form = ItemForm(request.POST or None, kind=kind, item=item, masked=masked)
    if request.method == "POST" and form.is_valid():
        try:
            actions.save_item(
                acting_user=user,
                elder=elder,
                kind=kind,
                item=item,
                values=form.values(editing=item is not None),
                request=request,
            )
        except ValidationError as error:
            pages.put_back(form, error)
        else:
            messages.success(request, f"已保存{ITEM_KINDS[kind].label}。")
            return redirect(f"{reverse('registry:file', args=[elder.pk])}#{kind}")
    context = {"form": form, "elder": elder, "label": ITEM_KINDS[kind].label, "item": item}
    return render(request, "registry/item.html", context)


@access.requires(Perm.PEOPLE_CHANGE)
@require_POST
def item_remove(request: HttpRequest, elder_id: int, kind: str, item_id: int) -> HttpResponse:
    user = access.signed_in_user(request)
    elder = _active_file(user, elder_id)
    item = _item_for(elder, kind, item_id)
    actions.remove_item(acting_user=user, elder=elder, item=item, request=request)
    messages.success(request, f"已移除{ITEM_KINDS[kind].label}：{item}（记录保留在档案历史中）。")
    return redirect(f"{reverse('registry:file', args=[elder.pk])}#{kind}")


@access.requires(Perm.PEOPLE_CHANGE)
def elder_categories(request: HttpRequest, elder_id: int) -> HttpResponse:
    user = access.signed_in_user(request)
    elder = _active_file(user, elder_id)
    proposals = quality.proposals(elder, timezone.localdate())
    confirmed = list(
        elder.categories.filter(withdrawn_at__isnull=True).values_list("category", flat=True)
    )
    # Nothing confirmed yet: the proposal is ticked, for the officer to check.
    initial = confirmed or [p.category.value for p in proposals]
    form = CategoriesForm(request.POST or None, initial={"categories": initial})
    if request.method == "POST" and form.is_valid():
        try:
            actions.confirm_categories(
                acting_user=user,
                elder=elder,
                categories=form.cleaned_data["categories"],
                request=request,
            )
        except ValidationError as error:
            pages.put_back(form, error)
        else:
            messages.success(request, "已确认对象类型。")
            return redirect(f"{reverse('registry:file', args=[elder.pk])}#categories")
    reasons = {p.category.value: p.reasons for p in proposals}
    choices = [(choice, reasons.get(choice.data["value"], ())) for choice in form["categories"]]
    context = {"form": form, "elder": elder, "choices": choices, "proposals": proposals}
    return render(request, "registry/categories.html", context)


@access.requires(Perm.PEOPLE_CHANGE)
def elder_review(request: HttpRequest, elder_id: int) -> HttpResponse:
    user = access.signed_in_user(request)
    elder = _active_file(user, elder_id)
    today = timezone.localdate()
    form = ReviewForm(request.POST or None, initial={"reviewed_on": today})
    if request.method == "POST" and form.is_valid():
        try:
            actions.review_elder(
                acting_user=user, elder=elder, request=request, **form.cleaned_data
            )
        except ValidationError as error:
            pages.put_back(form, error)
        else:
            messages.success(request, f"已记录 {elder.name} 的档案核查。")
            return redirect(f"{reverse('registry:file', args=[elder.pk])}#file")
    since = elder.last_reviewed_on or elder.registered_on
    context = {
        "form": form,
        "elder": elder,
        "since": since,
        "changed": history.changed_fields_since(elder, since),
        "warnings": elder.quality_warnings,
    }
    return render(request, "registry/review.html", context)


@access.requires(Perm.PEOPLE_VIEW)
def life_event_new(request: HttpRequest, elder_id: int) -> HttpResponse:
    """Record a major life change (重大变故). Visitors may, as officers may
    (`life_events.may_record_life_event`); the file page carries the same form."""
    user = access.signed_in_user(request)
    if not life_events.may_record_life_event(user):
        raise PermissionDenied
    elder = _active_file(user, elder_id)
    form = _new_life_event_form(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            event = life_events.record_life_event(
                acting_user=user, elder=elder, request=request, **form.cleaned_data
            )
        except ValidationError as error:
            pages.put_back(form, error)
        else:
            when = timezone.localtime(event.occurred_at)
            if event.replayed:
                messages.info(request, f"该变故已登记过（{when:%Y-%m-%d %H:%M}），未重复登记。")
            else:
                messages.success(
                    request,
                    f"已登记重大变故：{event.get_change_display()}（{when:%Y-%m-%d %H:%M}）。",
                )
            return redirect(f"{reverse('registry:file', args=[elder.pk])}#life-events")
    return render(request, "registry/life_event.html", {"form": form, "elder": elder})


@access.requires(Perm.PEOPLE_CHANGE)
def life_event_withdraw(request: HttpRequest, elder_id: int, life_event_id: int) -> HttpResponse:
    """Withdraw an entry made by mistake, with the reason; it stays on the file."""
    user = access.signed_in_user(request)
    elder = access.get_or_404(Elder.objects.visible_to(user), pk=elder_id)
    event = get_object_or_404(
        elder.life_events.select_related("recorded_by", "withdrawn_by"), pk=life_event_id
    )
    form = WithdrawLifeEventForm(request.POST or None)
    if request.method == "POST" and event.withdrawn_at is None and form.is_valid():
        try:
            life_events.withdraw_life_event(
                acting_user=user, event=event, request=request, **form.cleaned_data
            )
        except ValidationError as error:
            pages.put_back(form, error)
        else:
            messages.success(request, f"已撤销重大变故：{event.get_change_display()}。")
            return redirect(f"{reverse('registry:file', args=[elder.pk])}#life-events")
    context = {"form": form, "elder": elder, "event": event}
    return render(request, "registry/life_event_withdraw.html", context)


@access.requires(Perm.PEOPLE_VIEW)
def elder_history(request: HttpRequest, elder_id: int) -> HttpResponse:
    user = access.signed_in_user(request)
    elder = access.get_or_404(Elder.objects.visible_to(user), pk=elder_id)
    context = {"elder": elder, "entries": history.entries_for(elder)}
    return render(request, "registry/history.html", context)


@access.requires(Perm.PEOPLE_VIEW)
def review_overview(request: HttpRequest) -> HttpResponse:
    """Overdue half-year reviews counted per child node, down to the village."""
    user = access.signed_in_user(request)
    code = request.GET.get("region") or user.region_id
    region = access.get_region_for(user, code)
    today = timezone.localdate()
    elders = Elder.objects.visible_to(user)
    context: dict[str, Any] = {"region": region, "today": today}
    if region.level == Level.VILLAGE:
        overdue = queries.review_overdue(queries.in_region(elders, region), today)
        context["elders"] = overdue.order_by("last_reviewed_on", "registered_on", "name")[:500]
        context["overdue_total"] = overdue.count()
    else:
        counts = queries.overdue_by_child(region, elders, today)
        context["counts"] = counts
        context["overdue_total"] = sum(c.overdue for c in counts)
        context["active_total"] = sum(c.active for c in counts)
    context["ancestors"] = (
        access.regions_visible_to(user).filter(code__in=region.ancestor_codes()).order_by("level")
    )
    return render(request, "registry/reviews.html", context)


@access.requires(Perm.PEOPLE_CHANGE)
def elder_status(request: HttpRequest, elder_id: int) -> HttpResponse:
    user = access.signed_in_user(request)
    elder = access.get_or_404(Elder.objects.visible_to(user), pk=elder_id)
    form = StatusChangeForm(request.POST or None, initial={"effective_on": timezone.localdate()})
    if request.method == "POST" and form.is_valid():
        try:
            change = actions.change_status(
                acting_user=user, elder=elder, request=request, **form.cleaned_data
            )
        except ValidationError as error:
            pages.put_back(form, error)
        else:
            messages.success(
                request, f"{elder.name} 的档案已变更为“{change.get_to_status_display()}”。"
            )
            return redirect("registry:file", elder_id=elder.pk)
    return render(request, "registry/status.html", {"form": form, "elder": elder})


@access.requires(Perm.ELDERS_REGISTER)
def elder_register(request: HttpRequest) -> HttpResponse:
    user = access.signed_in_user(request)
    form = RegisterElderForm(request.POST or None, user=user)
    if request.method == "POST" and form.is_valid():
        data: dict[str, Any] = dict(form.cleaned_data)
        try:
            elder = registration.register_elder(
                acting_user=user,
                request=request,
                sex=data.pop("sex") or None,
                **data,
            )
        except ValidationError as error:
            pages.put_back(form, error)
        else:
            if data.get("categories"):
                messages.success(request, f"已为 {elder.name} 建档。")
                return redirect("registry:file", elder_id=elder.pk)
            messages.success(request, f"已为 {elder.name} 建档。请核实系统建议的对象类型并确认。")
            return redirect("registry:categories", elder_id=elder.pk)
    return render(request, "registry/register.html", {"form": form})


def _masked(token: str, mask: Callable[[str], str]) -> str:
    return mask(crypto.decrypt(token)) if token else ""
