"""The navigation bar: the pages the signed-in user's role can reach."""

from typing import Any

from django.http import HttpRequest
from django.urls import reverse

from tanfang.accounts.permissions import Perm, Role

# (label, url name, permission or None for every signed-in user); the order is the bar's.
# A role instead of a permission: that role only (我的探访 is the visitor's page;
# liaisons and officers, who may record visits too, follow them on the board).
NAVIGATION: list[tuple[str, str, Perm | Role | None]] = [
    ("首页", "home", None),
    ("我的探访", "visits:home", Role.VISITOR),
    ("探访看板", "visits:board", Perm.REPORTS_VIEW),
    ("待办事项", "care:board", Perm.REPORTS_VIEW),
    ("统计报表", "reports:index", Perm.REPORTS_VIEW),
    ("老年人档案", "registry:list", Perm.PEOPLE_VIEW),
    ("探访规则", "jurisdiction:rules", Perm.PEOPLE_VIEW),
    ("包干安排", "visits:assignments", Perm.ASSIGNMENTS_MANAGE),
    ("探访人员", "visits:visitor_list", Perm.VISITORS_MANAGE),
    ("行政区划", "regions:root", Perm.REGIONS_VIEW),
    ("区划导入", "regions:import", Perm.REGIONS_MANAGE),
    ("账号管理", "accounts:user_list", Perm.ACCOUNTS_MANAGE),
    ("审计日志", "audit:list", Perm.AUDIT_VIEW),
    ("我的账号", "accounts:me", None),
]


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav": []}
    current = request.resolver_match.view_name if request.resolver_match else ""
    items = [
        {"label": label, "url": reverse(name), "active": name == current}
        for label, name, perm in NAVIGATION
        if perm is None or (user.role == perm if isinstance(perm, Role) else user.can(perm))
    ]
    return {"nav": items}
