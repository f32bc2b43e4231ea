"""`{% load care_alerts %}{% open_alerts %}`: open emergencies and hazards past
their deadline at the top of a page (issue 16 "Emergencies and overdue on every
dashboard"), for the liaison's, township's and county's home pages and, with a
node (`{% open_alerts region %}`), the report of that node.

Shown to those who follow the closed loop (待办事项: PEOPLE_VIEW and
REPORTS_VIEW); for anyone else it renders nothing and reads nothing. Two
queries whatever the number of rows (tanfang.care.queries.open_alerts).
"""

from typing import Any
from urllib.parse import urlencode

from django import template
from django.urls import reverse
from django.utils import timezone

from tanfang.accounts.models import User
from tanfang.accounts.permissions import Perm
from tanfang.care import queries
from tanfang.care.models import HazardStatus
from tanfang.regions.models import Level, Region

register = template.Library()


@register.inclusion_tag("care/_alerts.html", takes_context=True)
def open_alerts(context: template.Context, place: Region | None = None) -> dict[str, Any]:
    user = context.get("user")
    if not isinstance(user, User) or not (
        user.can(Perm.PEOPLE_VIEW) and user.can(Perm.REPORTS_VIEW)
    ):
        return {"alerts": None}
    node = place if place is not None else user.region
    region = node.code if node.code != user.region_id else None
    return {
        "alerts": queries.open_alerts(user, timezone.now(), region=region),
        "place": node,
        "links": _links(user, node),
    }


def _links(user: User, node: Region) -> dict[str, str]:
    """The full lists behind the counts, narrowed to the node where the lists
    can (their place filter offers the user's own children); a village deeper
    down has its 待办事项, which lists all its open items."""
    narrowed: dict[str, str] = {}
    if node.code != user.region_id:
        if node.parent_id == user.region_id:
            narrowed = {"region": node.code}
        elif node.level == Level.VILLAGE:
            board = reverse("care:board_region", kwargs={"code": node.code})
            return {"emergencies": board, "hazards": board}
    emergencies = {"state": "open", "sort": "age", **narrowed}
    # 30 天以上: the list's nearest filter to "entered more than 30×24 hours ago".
    hazards = {"status": HazardStatus.OPEN.value, "age": str(queries.REMOVED_IN_TIME_DAYS)}
    return {
        "emergencies": f"{reverse('care:emergency_list')}?{urlencode(emergencies)}",
        "hazards": f"{reverse('care:hazard_list')}?{urlencode({**hazards, **narrowed})}",
    }
