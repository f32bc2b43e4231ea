from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from tanfang.accounts import access
from tanfang.accounts.permissions import Perm
from tanfang.regions import actions
from tanfang.regions.forms import ImportForm, RenameForm
from tanfang.regions.queries import children_with_counts


@access.requires(Perm.REGIONS_VIEW)
def tree_root(request: HttpRequest) -> HttpResponse:
    return redirect("regions:detail", code=access.signed_in_user(request).region_id)


@access.requires(Perm.REGIONS_VIEW)
def detail(request: HttpRequest, code: str) -> HttpResponse:
    user = access.signed_in_user(request)
    region = access.get_region_for(user, code)
    # The path from the user's own node down to this one.
    path = list(
        access.regions_visible_to(user).filter(code__in=region.ancestor_codes()).order_by("level")
    )
    context = {
        "region": region,
        "path": path,
        "children": children_with_counts(region),
        "rename_form": RenameForm(initial={"name": region.name}),
        "can_manage": user.can(Perm.REGIONS_MANAGE),
        "can_add_account": user.can(Perm.ACCOUNTS_MANAGE),
    }
    return render(request, "regions/detail.html", context)


@access.requires(Perm.REGIONS_MANAGE)
@require_POST
def rename(request: HttpRequest, code: str) -> HttpResponse:
    user = access.signed_in_user(request)
    region = access.get_region_for(user, code)
    form = RenameForm(request.POST)
    if form.is_valid():
        try:
            actions.rename_region(
                acting_user=user, region=region, name=form.cleaned_data["name"], request=request
            )
        except ValidationError as error:
            messages.error(request, "；".join(error.messages))
        else:
            messages.success(request, "名称已更新。")
    else:
        messages.error(request, "名称不能为空，且不超过 100 个字。")
    return redirect("regions:detail", code=region.code)


@access.requires(Perm.REGIONS_MANAGE)
def import_page(request: HttpRequest) -> HttpResponse:
    user = access.signed_in_user(request)
    form = ImportForm(request.POST or None, request.FILES or None)
    context: dict[str, object] = {"form": form}
    if request.method == "POST" and form.is_valid():
        try:
            # A system administrator loads only nodes of their own subtree.
            context["summary"] = actions.import_regions(
                acting_user=user,
                text=form.cleaned_data["file"],
                apply_renames=form.cleaned_data["apply_renames"],
                source=str(getattr(request.FILES.get("file"), "name", "")),
                request=request,
                within=user.region,
            )
        except actions.ImportRejected as rejected:
            context["errors"] = rejected.errors
    return render(request, "regions/import.html", context)
