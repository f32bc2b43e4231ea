import logging
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from tanfang import pages
from tanfang.accounts import access
from tanfang.accounts.permissions import Perm
from tanfang.jurisdiction import actions, tiers
from tanfang.jurisdiction.forms import EventForm, ProfileForm
from tanfang.jurisdiction.models import DeclaredEvent, PolicyChoice
from tanfang.policy import engine, festivals
from tanfang.regions.models import Region

logger = logging.getLogger(__name__)


def _place(request: HttpRequest) -> Region:
    user = access.signed_in_user(request)
    code = request.GET.get("region") or user.region_id
    return access.get_region_for(user, code)


@access.requires(Perm.PEOPLE_VIEW)
def rules(request: HttpRequest) -> HttpResponse:
    """The rules in force for a node, in plain words, and (for a county or
    higher officer) the form to choose them."""
    user = access.signed_in_user(request)
    region = _place(request)
    today = timezone.localdate()
    name, overrides = tiers.choice_for(region.code)
    profile: engine.Profile | None = None
    version: engine.Version | None = None
    problem = ""
    try:
        profile = engine.load(name)
        version = profile.version_on(max(today, profile.versions[0].since))
        if overrides:
            version = engine.with_params(version, overrides)
    except ValueError as error:  # the file cannot be read: say so, keep the page
        problem = engine.problem_of(name, error)
        logger.error("rules page of %s: %s", region.code, error)
    own = (
        PolicyChoice.objects.filter(region=region, since__lte=today)
        .select_related("changed_by")
        .order_by("-since")
        .first()
    )
    can_choose = (
        user.can(Perm.PEOPLE_CHANGE)
        and region.level in actions.CHOOSING_LEVELS
        and user.region.level <= region.level
    )
    form = None
    if can_choose:
        wanted = request.POST.get("profile") or name
        try:
            params = list(engine.open_params(engine.load(wanted), today))
        except ValueError:
            params = []
        form = ProfileForm(
            request.POST or None,
            params=params,
            initial={"profile": name, **{f"param_{k}": v for k, v in overrides.items()}},
        )
        if request.method == "POST" and form.is_valid():
            try:
                changed = actions.choose_profile(
                    acting_user=user,
                    region=region,
                    profile=form.cleaned_data["profile"],
                    overrides=form.overrides(),
                    request=request,
                )
            except ValidationError as error:
                for message in error.messages:
                    form.add_error(None, message)
            except engine.OverridesRefused as error:
                for name, message in error.parameters():
                    field = f"param_{name}"
                    form.add_error(field if field in form.fields else None, message)
            else:
                messages.success(request, f"已设置探访规则，{changed} 位老人的分级随之更新。")
                return redirect(f"{request.path}?region={region.code}")
    elif request.method == "POST":
        raise Http404
    context: dict[str, Any] = {
        "region": region,
        "name": name,
        "profile": profile,
        "version": version,
        "problem": problem,
        "maintainer": profile.maintainer if profile else engine.maintainer_of(name),
        "own": own,
        "overrides": overrides,
        "form": form,
        "windows": (
            festivals.festival_windows(today.year, version.festival_spans) if version else []
        ),
        "event_rules": (
            [(engine.EVENT_LABELS[kind], rule) for kind, rule in version.event_rules.items()]
            if version
            else []
        ),
    }
    return render(request, "jurisdiction/rules.html", context)


@access.requires(Perm.PEOPLE_VIEW)
def events(request: HttpRequest) -> HttpResponse:
    user = access.signed_in_user(request)
    region = _place(request)
    form = EventForm(request.POST or None, initial={"region": region.code})
    if request.method == "POST":
        # Special periods are declared by township and county officers (issue 16).
        access.check(user, Perm.EVENTS_DECLARE)
        if form.is_valid():
            data = dict(form.cleaned_data)
            try:
                place = access.get_region_for(user, data.pop("region"))
            except Http404:
                form.add_error("region", "区划代码不存在或不在您的管辖范围内。")
            else:
                try:
                    actions.declare_event(acting_user=user, region=place, request=request, **data)
                except ValidationError as error:
                    pages.put_back(form, error)
                else:
                    messages.success(request, "已发布特殊时段。")
                    return redirect("jurisdiction:events")
    visible = (
        DeclaredEvent.objects.filter(region_id__in=access.regions_visible_to(user).values("code"))
        .select_related("region", "declared_by")
        .order_by("-starts_on", "-pk")[:100]
    )
    context = {
        "form": form,
        "events": visible,
        "today": timezone.localdate(),
        "can_declare": user.can(Perm.EVENTS_DECLARE),
    }
    return render(request, "jurisdiction/events.html", context)


@access.requires(Perm.EVENTS_DECLARE)
@require_POST
def end_event(request: HttpRequest, event_id: int) -> HttpResponse:
    user = access.signed_in_user(request)
    event = get_object_or_404(
        DeclaredEvent.objects.filter(region_id__in=access.regions_visible_to(user).values("code")),
        pk=event_id,
    )
    try:
        actions.end_event(acting_user=user, event=event, request=request)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"已结束：{event.title}。")
    return redirect("jurisdiction:events")
