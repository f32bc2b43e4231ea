"""The visitor roster (探访人员 / 服务力量) and who is responsible for whom (包干):
one function per use case, atomic, audited.

The township keeps the roster by kind of visitor and decides where each serves
(001_35a01bee4c628ebd.txt 二(三)1: 乡镇（街道）政府要分类建立探访人员清单，安排部署
探访人员服务内容和半径); the village committee organises the visitors
(ibid.: 村（居）民委员会……组织动员探访关爱服务人员履行职责) and names a responsible
visitor for each elder (003_fe235aaa23e67560.txt 三: 就近就便、分片包干负责具体实施，
确定巡访责任人).
"""

from collections.abc import Iterable, Mapping
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from tanfang import refresh
from tanfang.accounts import access
from tanfang.accounts.models import User
from tanfang.accounts.permissions import Perm, Role
from tanfang.audit.actions import record
from tanfang.audit.models import Action
from tanfang.regions.models import Level, Region, parent_code_of
from tanfang.registry import crypto, identity
from tanfang.registry.models import Elder, Status
from tanfang.visits import queries
from tanfang.visits.models import Assignment, Visitor, VisitorKind

NAME_MAX = Visitor._meta.get_field("name").max_length or 50
ORGANISATION_MAX = Visitor._meta.get_field("organisation").max_length or 100
SCHOOL_MAX = Visitor._meta.get_field("school").max_length or 100
REASON_MAX = 200

# What `update_visitor` changes; the township is not among them: a visitor who
# moves to another township is a new entry of that township's roster.
EDITABLE_FIELDS = frozenset(
    {"name", "kind", "organisation", "phone", "is_student", "school", "villages", "user"}
)

Errors = dict[str, list[str]]


def _fail(errors: Errors, field: str, message: str) -> None:
    errors.setdefault(field, []).append(message)


def township_of(village_code: str) -> str:
    """The 12-digit code of the township a village lies in."""
    return parent_code_of(village_code) or ""


# --- The roster ------------------------------------------------------------------


def _check_township(acting_user: User, township: Region, errors: Errors) -> None:
    if township.level != Level.TOWNSHIP:
        _fail(errors, "township", "请选择乡镇(街道)一级的区划。")
    elif not access.in_scope(acting_user, township.code):
        _fail(errors, "township", "该乡镇(街道)不在您的管辖范围内。")


def _check_in_roster_scope(acting_user: User, visitor: Visitor) -> None:
    access.check(acting_user, Perm.VISITORS_MANAGE)
    if not access.in_scope(acting_user, visitor.township_id):
        raise PermissionDenied


def _clean_values(
    township: Region,
    values: Mapping[str, Any],
    errors: Errors,
    visitor: Visitor | None = None,
) -> dict[str, Any]:
    """Check the given fields of a roster entry; returns them cleaned (the phone
    normalised, still in clear)."""
    cleaned: dict[str, Any] = {}
    if "name" in values:
        name = str(values["name"] or "").strip()
        if not name:
            _fail(errors, "name", "请填写姓名。")
        elif len(name) > NAME_MAX:
            _fail(errors, "name", f"姓名不能超过 {NAME_MAX} 个字。")
        cleaned["name"] = name
    if "kind" in values:
        kind = str(values["kind"] or "")
        if kind not in VisitorKind.values:
            _fail(errors, "kind", "请选择探访人员类别。")
        cleaned["kind"] = kind
    if "organisation" in values:
        organisation = str(values["organisation"] or "").strip()
        if len(organisation) > ORGANISATION_MAX:
            _fail(errors, "organisation", f"所在单位不能超过 {ORGANISATION_MAX} 个字。")
        cleaned["organisation"] = organisation
    if "phone" in values:
        phone = str(values["phone"] or "").strip()
        if phone:
            try:
                phone = identity.normalise_phone(phone)
            except ValidationError as error:
                _fail(errors, "phone", error.messages[0])
        cleaned["phone"] = phone
    if "is_student" in values:
        cleaned["is_student"] = bool(values["is_student"])
    if "school" in values:
        cleaned["school"] = str(values["school"] or "").strip()
    if "villages" in values:
        villages = list(dict.fromkeys(values["villages"] or ()))
        outside = [
            v.name
            for v in villages
            if v.level != Level.VILLAGE or township_of(v.code) != township.code
        ]
        if outside:
            _fail(
                errors,
                "villages",
                f"服务村(社区)须为{township.name}的村(社区)：{'、'.join(outside)}不是。",
            )
        cleaned["villages"] = villages
    if "user" in values:
        account = values["user"]
        cleaned["user"] = account
        # The account linked now is not checked again (it may have been disabled since).
        if visitor is None or getattr(account, "pk", None) != visitor.user_id:
            _check_account(account, township, errors, visitor)
    return cleaned


def _check_student(kind: str, is_student: bool, school: str, errors: Errors) -> None:
    """Students volunteering earn credits (004_1657df0ed1e05604.txt 二(二)7:
    开展在校生志愿服务计学分活动; 000_4970ff49482a0570.txt 四(一) 九是鼓励在校学生):
    a student is a volunteer and the school is named."""
    if not is_student:
        return
    if kind != VisitorKind.VOLUNTEER:
        _fail(errors, "is_student", "只有“志愿者”类别可以标记为学生志愿者。")
    if not school:
        _fail(errors, "school", "学生志愿者请填写学校。")
    elif len(school) > SCHOOL_MAX:
        _fail(errors, "school", f"学校名称不能超过 {SCHOOL_MAX} 个字。")


def _check_account(account: Any, township: Region, errors: Errors, visitor: Visitor | None) -> None:
    """A login for the visitor: an account of role 探访人员 bound inside the
    township (and so inside the acting officer's scope), not already another
    visitor's."""
    if account is None:
        return
    if not isinstance(account, User):
        _fail(errors, "user", "请选择登录账号。")
        return
    if account.role != Role.VISITOR:
        _fail(errors, "user", "登录账号须为“探访人员”角色的账号。")
    elif not township.contains(account.region_id):
        _fail(errors, "user", f"登录账号须属于{township.name}或其下的村(社区)。")
    elif not account.is_active:
        _fail(errors, "user", "该登录账号已停用。")
    else:
        other = Visitor.objects.filter(user=account)
        if visitor is not None:
            other = other.exclude(pk=visitor.pk)
        linked = other.first()
        if linked is not None:
            _fail(errors, "user", f"该登录账号已关联探访人员“{linked.name}”。")


def _phone_fields(phone: str) -> dict[str, str]:
    return {
        "phone_token": crypto.encrypt(phone) if phone else "",
        "phone_hash": crypto.lookup_hash(phone, kind="phone") if phone else "",
    }


@transaction.atomic
def create_visitor(
    *,
    acting_user: User,
    township: Region,
    name: str,
    kind: str,
    organisation: str = "",
    phone: str = "",
    is_student: bool = False,
    school: str = "",
    villages: Iterable[Region] = (),
    user: User | None = None,
    request: HttpRequest | None = None,
) -> Visitor:
    """A new entry in the township's roster. Every error at once, keyed by field;
    nothing is stored when there is one. The phone is stored encrypted."""
    access.check(acting_user, Perm.VISITORS_MANAGE)
    errors: Errors = {}
    _check_township(acting_user, township, errors)
    values = _clean_values(
        township,
        {
            "name": name,
            "kind": kind,
            "organisation": organisation,
            "phone": phone,
            "is_student": is_student,
            "school": school,
            "villages": villages,
            "user": user,
        },
        errors,
    )
    _check_student(values["kind"], values["is_student"], values["school"], errors)
    if errors:
        raise ValidationError(errors)
    visitor = Visitor.objects.create(
        township=township,
        name=values["name"],
        kind=values["kind"],
        organisation=values["organisation"],
        is_student=values["is_student"],
        # A school is kept for students only.
        school=values["school"] if values["is_student"] else "",
        user=values["user"],
        created_by=acting_user,
        **_phone_fields(values["phone"]),
    )
    visitor.villages.set(values["villages"])
    record(
        Action.VISITOR_CREATED,
        actor=acting_user,
        request=request,
        region_code=township.code,
        target=visitor,
        detail={
            "kind": visitor.kind,
            "villages": [v.code for v in values["villages"]],
            "user": visitor.user_id,
            "student": visitor.is_student,
            "phone": bool(values["phone"]),
        },
    )
    return visitor


@transaction.atomic
def update_visitor(
    *,
    acting_user: User,
    visitor: Visitor,
    changes: Mapping[str, Any],
    request: HttpRequest | None = None,
) -> list[str]:
    """Change fields of a roster entry; returns the names of those that changed.

    The same checks as at creation. A village cannot be taken off the visitor's
    list while they are still responsible for an elder living there: end those
    assignments first. A phone given as "" is removed.
    """
    _check_in_roster_scope(acting_user, visitor)
    errors: Errors = {}
    unknown = set(changes) - EDITABLE_FIELDS
    for field in sorted(unknown):
        _fail(errors, field, "该字段不能修改。")
    if not visitor.active:
        _fail(errors, "visitor", "该探访人员已停用，不能修改。")
    if errors:
        raise ValidationError(errors)
    township = visitor.township
    values = _clean_values(township, changes, errors, visitor)
    kind = values.get("kind", visitor.kind)
    is_student = values.get("is_student", visitor.is_student)
    school = values.get("school", visitor.school)
    _check_student(kind, is_student, school, errors)
    if "villages" in values:
        _check_villages_still_served(visitor, values["villages"], errors)
    if errors:
        raise ValidationError(errors)

    changed: list[str] = []
    for field in ("name", "kind", "organisation", "is_student"):
        if field in values and getattr(visitor, field) != values[field]:
            setattr(visitor, field, values[field])
            changed.append(field)
    new_school = school if is_student else ""
    if visitor.school != new_school:
        visitor.school = new_school
        changed.append("school")
    if "phone" in values:
        current = crypto.decrypt(visitor.phone_token) if visitor.phone_token else ""
        if current != values["phone"]:
            for attribute, value in _phone_fields(values["phone"]).items():
                setattr(visitor, attribute, value)
            changed.append("phone")
    if "user" in values and visitor.user_id != (values["user"].pk if values["user"] else None):
        visitor.user = values["user"]
        changed.append("user")
    if "villages" in values and _served(visitor) != {v.code for v in values["villages"]}:
        visitor.villages.set(values["villages"])
        changed.append("villages")
    if not changed:
        return []
    visitor.save()
    detail: dict[str, Any] = {"fields": changed}
    if "villages" in changed:
        detail["villages"] = [v.code for v in values["villages"]]
    if "user" in changed:
        detail["user"] = visitor.user_id
    record(
        Action.VISITOR_CHANGED,
        actor=acting_user,
        request=request,
        region_code=visitor.township_id,
        target=visitor,
        detail=detail,
    )
    return changed


def _check_villages_still_served(visitor: Visitor, villages: list[Region], errors: Errors) -> None:
    """Serving every village of the township (no list) covers every elder; a
    list must still cover the elders the visitor is responsible for."""
    if not villages:
        return
    codes = {v.code for v in villages}
    stranded = (
        Elder.objects.filter(assignments__visitor=visitor, assignments__ended_at__isnull=True)
        .exclude(village_id__in=codes)
        .select_related("village")
        .order_by("village_id", "name")
    )
    found = list(stranded[:6])
    names = [f"{e.name}（{e.village.name}）" for e in found[:5]]
    if names:
        more = "等" if len(found) > 5 else ""
        _fail(
            errors,
            "villages",
            f"该探访人员仍包干{'、'.join(names)}{more}，请先结束这些包干再取消相应的服务村(社区)。",
        )


def _check_reason(reason: str, errors: Errors, label: str) -> str:
    text = reason.strip()
    if not text:
        _fail(errors, "reason", f"请填写{label}。")
    elif len(text) > REASON_MAX:
        _fail(errors, "reason", f"{label}不能超过 {REASON_MAX} 个字。")
    return text


@transaction.atomic
def deactivate_visitor(
    *,
    acting_user: User,
    visitor: Visitor,
    reason: str,
    request: HttpRequest | None = None,
) -> list[Elder]:
    """Take a visitor off duty with the reason: the entry stays, with who and
    when, and every assignment they still hold ends with the same reason.
    Returns the active elders who are left with no responsible visitor, for the
    officer to assign someone else."""
    _check_in_roster_scope(acting_user, visitor)
    errors: Errors = {}
    text = _check_reason(reason, errors, "停用原因")
    if not visitor.active:
        _fail(errors, "visitor", "该探访人员已停用。")
    if errors:
        raise ValidationError(errors)
    now = timezone.now()
    visitor.active = False
    visitor.deactivated_at = now
    visitor.deactivated_by = acting_user
    visitor.deactivation_reason = text
    visitor.save(
        update_fields=["active", "deactivated_at", "deactivated_by", "deactivation_reason"]
    )
    ended = list(
        visitor.assignments.filter(ended_at__isnull=True)
        .select_related("elder__village")
        .select_for_update(of=("self",))
    )
    for assignment in ended:
        _end(acting_user, assignment, text, now, request)
    elders = {a.elder_id: a.elder for a in ended}
    still_covered = set(
        Assignment.objects.filter(elder_id__in=elders, ended_at__isnull=True).values_list(
            "elder_id", flat=True
        )
    )
    uncovered = sorted(
        (
            elder
            for pk, elder in elders.items()
            if pk not in still_covered and elder.status == Status.ACTIVE
        ),
        key=lambda e: (e.village_id, e.name, e.pk),
    )
    record(
        Action.VISITOR_DEACTIVATED,
        actor=acting_user,
        request=request,
        region_code=visitor.township_id,
        target=visitor,
        detail={
            "reason": text,
            "assignments_ended": len(ended),
            "elders_without_visitor": [e.pk for e in uncovered],
        },
    )
    refresh.after_assignments_changed(list(elders.values()))
    return uncovered


# --- Assignments (包干) ---------------------------------------------------------


def _check_elder_in_scope(acting_user: User, elder: Elder) -> None:
    if not access.in_scope(acting_user, elder.village_id):
        raise PermissionDenied


def _assignment_problem(
    elder: Elder, visitor: Visitor, served: set[str], already: bool
) -> tuple[str, str] | None:
    """Why `visitor` (serving the villages `served`, or all of the township when
    empty) cannot be made responsible for `elder`, as (field, message)."""
    if elder.status != Status.ACTIVE:
        return (
            "elder",
            f"{elder.name}的档案为“{elder.get_status_display()}”，不在册，不能指定包干。",
        )
    if township_of(elder.village_id) != visitor.township_id:
        return (
            "visitor",
            f"{visitor.name}属于{visitor.township.name}，不能包干{elder.village.name}的老人。",
        )
    if served and elder.village_id not in served:
        return "visitor", f"{visitor.name}的服务村(社区)不包括{elder.village.name}。"
    if already:
        return "visitor", f"{visitor.name}已是{elder.name}的包干探访人员。"
    return None


def _served(visitor: Visitor) -> set[str]:
    return set(visitor.villages.values_list("code", flat=True))


def _already_assigned(elders: list[Elder], visitor: Visitor) -> set[int]:
    return set(
        Assignment.objects.filter(
            elder__in=elders, visitor=visitor, ended_at__isnull=True
        ).values_list("elder_id", flat=True)
    )


def _check_visitor(acting_user: User, visitor: Visitor, errors: Errors) -> None:
    if not visitor.active:
        _fail(errors, "visitor", f"{visitor.name}已停用，不能指定包干。")
    elif not Visitor.objects.visible_to(acting_user).filter(pk=visitor.pk).exists():
        _fail(errors, "visitor", "该探访人员不在您的管辖范围内。")


def _lock(elders: Iterable[Elder]) -> None:
    """Serialise changes of one elder's assignments (two officers at once)."""
    list(Elder.objects.select_for_update().filter(pk__in=[e.pk for e in elders]).values("pk"))


def _create(
    acting_user: User, elder: Elder, visitor: Visitor, request: HttpRequest | None, bulk: bool
) -> Assignment:
    assignment = Assignment.objects.create(elder=elder, visitor=visitor, started_by=acting_user)
    detail: dict[str, Any] = {"visitor": visitor.pk, "assignment": assignment.pk}
    if bulk:
        detail["bulk"] = True
    record(
        Action.ELDER_ASSIGNED,
        actor=acting_user,
        request=request,
        region_code=elder.village_id,
        target=elder,
        detail=detail,
    )
    return assignment


@transaction.atomic
def assign_visitor(
    *,
    acting_user: User,
    elder: Elder,
    visitor: Visitor,
    request: HttpRequest | None = None,
) -> Assignment:
    """Make `visitor` responsible for `elder` (包干责任人). An elder may have
    several; the visitor must be on duty, of the elder's township and, if they
    serve a list of villages, serve the elder's."""
    access.check(acting_user, Perm.ASSIGNMENTS_MANAGE)
    _check_elder_in_scope(acting_user, elder)
    _lock([elder])
    errors: Errors = {}
    _check_visitor(acting_user, visitor, errors)
    if not errors:
        already = elder.pk in _already_assigned([elder], visitor)
        if problem := _assignment_problem(elder, visitor, _served(visitor), already):
            _fail(errors, *problem)
    if errors:
        raise ValidationError(errors)
    assignment = _create(acting_user, elder, visitor, request, bulk=False)
    refresh.after_assignments_changed([elder])
    return assignment


@transaction.atomic
def assign_many(
    *,
    acting_user: User,
    elders: Iterable[Elder],
    visitor: Visitor,
    request: HttpRequest | None = None,
) -> list[Assignment]:
    """The same visitor for several elders at once: all or nothing. The errors
    name each elder that cannot be assigned, under "elders"."""
    access.check(acting_user, Perm.ASSIGNMENTS_MANAGE)
    chosen = list({e.pk: e for e in elders}.values())
    for elder in chosen:
        _check_elder_in_scope(acting_user, elder)
    errors: Errors = {}
    if not chosen:
        _fail(errors, "elders", "请选择要包干的老人。")
    _check_visitor(acting_user, visitor, errors)
    if errors:
        raise ValidationError(errors)
    _lock(chosen)
    served = _served(visitor)
    already = _already_assigned(chosen, visitor)
    for elder in chosen:
        if problem := _assignment_problem(elder, visitor, served, elder.pk in already):
            _, message = problem
            _fail(errors, "elders", f"{elder.name}：{message}")
    if errors:
        raise ValidationError(errors)
    made = [_create(acting_user, elder, visitor, request, bulk=True) for elder in chosen]
    refresh.after_assignments_changed(chosen)
    return made


def _end(
    acting_user: User,
    assignment: Assignment,
    reason: str,
    now: Any,
    request: HttpRequest | None,
) -> None:
    assignment.ended_at = now
    assignment.ended_by = acting_user
    assignment.end_reason = reason
    assignment.save(update_fields=["ended_at", "ended_by", "end_reason"])
    record(
        Action.ASSIGNMENT_ENDED,
        actor=acting_user,
        request=request,
        region_code=assignment.elder.village_id,
        target=assignment.elder,
        detail={"visitor": assignment.visitor_id, "assignment": assignment.pk, "reason": reason},
    )


@transaction.atomic
def end_assignment(
    *,
    acting_user: User,
    assignment: Assignment,
    reason: str,
    request: HttpRequest | None = None,
) -> bool:
    """End a visitor's responsibility for an elder with the reason; the row
    stays as history. Returns True when the elder, still in the registry, is
    left with no responsible visitor."""
    access.check(acting_user, Perm.ASSIGNMENTS_MANAGE)
    elder = assignment.elder
    _check_elder_in_scope(acting_user, elder)
    _lock([elder])
    errors: Errors = {}
    text = _check_reason(reason, errors, "结束原因")
    # Read again under the lock: another officer may have ended it meanwhile.
    if Assignment.objects.filter(pk=assignment.pk, ended_at__isnull=False).exists():
        _fail(errors, "assignment", "该包干已经结束。")
    if errors:
        raise ValidationError(errors)
    _end(acting_user, assignment, text, timezone.now(), request)
    refresh.after_assignments_changed([elder])
    return elder.status == Status.ACTIVE and not queries.has_visitor(elder)
