"""What a visit found, entered into the closed loop: an unsafe answer on a safety
item is a hazard, a need not met is a need (FORMS.md "What follows for the
design"), each linked to the visit that found it.

Care owns the hazards and needs, so care makes them, also for a visit: visits
says what the visit found (tanfang.visits.checklist.findings, in the kinds of
tanfang.visits.findings) and calls `record_findings` inside the transaction
that stores the visit (tanfang.visits.actions.record_visit). The needs and
hazards raised one at a time from a page are tanfang.care.needs and
tanfang.care.hazards.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.http import Http404

from tanfang.accounts import access
from tanfang.accounts.models import User
from tanfang.accounts.permissions import Perm
from tanfang.care import follow_up
from tanfang.care.checks import check_active, collector, raise_if
from tanfang.care.models import Hazard, Need, NeedSource
from tanfang.visits.checklist import Findings
from tanfang.visits.findings import HazardItem, NeedType
from tanfang.visits.models import Visit


@dataclass(frozen=True)
class Recorded:
    hazards: list[Hazard]
    needs: list[Need]


def record_findings(
    visit: Visit,
    *,
    acting_user: User,
    found: Findings,
    named_needs: Sequence[Mapping[str, Any]] = (),
) -> Recorded:
    """The hazards and needs `visit` found, made in a few statements: a hazard
    for every hazard the form's answers `found`, a need for every need item
    answered "needed, not met", and one for every need the visitor named
    (`named_needs`, the visit's cleaned `needs_found`) as not met whose type
    the form did not find already: one need per type and visit.

    The same checks as a need or a hazard raised from a page (permission,
    scope, an elder still visited, known kinds); no audit entry of their own,
    as before: they are part of the visit, whose VISIT_RECORDED entry is
    written in the same transaction. Called once per visit, when it is stored:
    a visit sent again with the same UUID is answered from the stored one by
    `record_visit` and never comes here, so nothing is made twice.
    """
    access.check(acting_user, Perm.CARE_RAISE)
    if not access.in_scope(acting_user, visit.village_id):
        raise Http404
    errors, add = collector()
    check_active(visit.elder, add)
    for hazard in found.hazards:
        if hazard.hazard not in HazardItem.values:
            add("hazard", f"隐患类别“{hazard.hazard}”不是可选项。")
    kinds = [n.need_type for n in found.needs] + [n["type"] for n in named_needs]
    for kind in kinds:
        if kind not in NeedType.values:
            add("needs_found", f"需求类型“{kind}”不是可选项。")
    raise_if(errors)
    hazards = Hazard.objects.bulk_create(
        Hazard(
            elder_id=visit.elder_id,
            visit=visit,
            item=hazard.hazard,
            finding=hazard.finding[:100],
            created_by=acting_user,
        )
        for hazard in found.hazards
    )
    named = [
        Need(
            elder_id=visit.elder_id,
            visit=visit,
            source=NeedSource.VISIT,
            need_type=need.need_type,
            description=need.label,
            created_by=acting_user,
        )
        for need in found.needs
    ]
    seen = {n.need_type for n in named}
    for need in named_needs:
        if not need["met"] and need["type"] not in seen:
            seen.add(need["type"])
            named.append(
                Need(
                    elder_id=visit.elder_id,
                    visit=visit,
                    source=NeedSource.VISIT,
                    need_type=need["type"],
                    description=need["note"],
                    created_by=acting_user,
                )
            )
    needs = Need.objects.bulk_create(named)
    follow_up.record_creation(needs)
    return Recorded(hazards=hazards, needs=needs)
