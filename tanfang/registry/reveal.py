"""Showing an encrypted value whole, one audited action at a time.

NONFUNCTIONAL.md "Masking": ID numbers, phone numbers and addresses are shown
masked "unless the role needs the whole value and reveals it by an action that
is logged". Each reveal here checks the permission (Perm.PEOPLE_REVEAL: village
liaisons, township and county officers) and the scope, writes one audit event
naming the field and the elder, never the value, and returns the plaintext.
An empty field reveals nothing and is not audited.
"""

from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpRequest

from tanfang.accounts import access
from tanfang.accounts.models import User
from tanfang.accounts.permissions import Perm
from tanfang.audit.actions import record
from tanfang.audit.models import Action
from tanfang.registry import crypto
from tanfang.registry.models import Elder, EmergencyContact, HelpReceived, HouseholdMember

EMPTY_MESSAGE = "未填写，没有可显示的内容。"
# The audit event of "打印完整信息" on the printable registration form.
PRINT_FORM = "print_form"


@dataclass(frozen=True)
class Revealable:
    token_field: str
    label: str


# The encrypted fields of the file that a user with PEOPLE_REVEAL may see whole.
ELDER_FIELDS: dict[str, Revealable] = {
    "id_number": Revealable("id_number_token", "身份证号码"),
    "phone": Revealable("phone_token", "联系电话"),
    "residence_address": Revealable("residence_address_token", "居住地址"),
    "registration_address": Revealable("registration_address_token", "户籍地址"),
    "disability_certificate": Revealable("disability_certificate_token", "残疾证号"),
}
MEMBER_FIELDS: dict[str, Revealable] = {
    "id_number": Revealable("id_number_token", "身份证号码"),
    "phone": Revealable("phone_token", "联系电话"),
}


def may_reveal(user: User, elder: Elder) -> bool:
    return access.can(user, Perm.PEOPLE_REVEAL) and access.in_scope(user, elder.village_id)


def _check(acting_user: User, elder: Elder) -> None:
    access.check(acting_user, Perm.PEOPLE_REVEAL)
    if not access.in_scope(acting_user, elder.village_id):
        raise PermissionDenied


def _audit(
    acting_user: User, elder: Elder, request: HttpRequest | None, **detail: str | int
) -> None:
    record(
        Action.ELDER_REVEALED,
        actor=acting_user,
        request=request,
        region_code=elder.village_id,
        target=elder,
        detail=detail,
    )


@transaction.atomic
def reveal(
    *, acting_user: User, elder: Elder, field: str, request: HttpRequest | None = None
) -> str:
    """The whole value of one encrypted field of the file (a key of ELDER_FIELDS)."""
    if field not in ELDER_FIELDS:
        raise ValueError(f"{field!r} is not a field that can be revealed")
    _check(acting_user, elder)
    token = getattr(elder, ELDER_FIELDS[field].token_field)
    if not token:
        raise ValidationError({field: EMPTY_MESSAGE})
    value = crypto.decrypt(token)
    _audit(acting_user, elder, request, field=field)
    return value


@transaction.atomic
def reveal_contact_phone(
    *,
    acting_user: User,
    contact: EmergencyContact | HouseholdMember | HelpReceived,
    request: HttpRequest | None = None,
) -> str:
    """The whole phone number of an emergency contact, a household member or a
    helping contact (帮扶联系人) of the elder's file."""
    elder = contact.elder
    _check(acting_user, elder)
    if isinstance(contact, HelpReceived):
        token, field = contact.contact_phone_token, "help_received.phone"
    elif isinstance(contact, HouseholdMember):
        token, field = contact.phone_token, "household_member.phone"
    else:
        token, field = contact.phone_token, "emergency_contact.phone"
    if not token:
        raise ValidationError({"phone": EMPTY_MESSAGE})
    value = crypto.decrypt(token)
    _audit(acting_user, elder, request, field=field, row_id=contact.pk)
    return value


@transaction.atomic
def reveal_phone_to_dial(
    *,
    acting_user: User,
    elder: Elder,
    contact: EmergencyContact | None = None,
    request: HttpRequest | None = None,
    **purpose: str | int,
) -> str:
    """The whole phone number behind a call button, for a `tel:` link: the
    elder's own, or one of the elder's emergency contacts'; one audit event
    naming the field and why it was revealed (`purpose`, e.g. purpose="call").

    Who may dial is the calling view's check, not PEOPLE_REVEAL: a visitor
    responsible for the elder must be able to phone them (电话探访), and anyone
    acting on an emergency must be able to call the family (001_35a01bee4c628ebd.txt
    二(五)1), neither holding the reveal permission for everyone.
    """
    detail: dict[str, str | int]
    if contact is None:
        token, detail = elder.phone_token, {"field": "phone"}
    else:
        token = contact.phone_token
        detail = {"field": "emergency_contact_phone", "contact": contact.pk}
    value = crypto.decrypt(token)
    _audit(acting_user, elder, request, **detail, **purpose)
    return value


@transaction.atomic
def reveal_address_to_visit(
    *, acting_user: User, elder: Elder, request: HttpRequest | None = None
) -> str:
    """The elder's whole residence address behind 显示地址 on a visitor's task
    card; who may see it is the calling view's check (the visitor assigned to
    the elder), as for `reveal_phone_to_dial`. One audit event, purpose "address"."""
    if not elder.residence_address_token:
        raise ValidationError({"residence_address": EMPTY_MESSAGE})
    value = crypto.decrypt(elder.residence_address_token)
    _audit(acting_user, elder, request, field="residence_address", purpose="address")
    return value


@transaction.atomic
def reveal_member_id_number(
    *, acting_user: User, member: HouseholdMember, request: HttpRequest | None = None
) -> str:
    """The whole ID number of a household member (家庭成员 of 000_… 附件3)."""
    elder = member.elder
    _check(acting_user, elder)
    if not member.id_number_token:
        raise ValidationError({"id_number": EMPTY_MESSAGE})
    value = crypto.decrypt(member.id_number_token)
    _audit(acting_user, elder, request, field="household_member.id_number", row_id=member.pk)
    return value


@transaction.atomic
def reveal_form(*, acting_user: User, elder: Elder, request: HttpRequest | None = None) -> None:
    """Allow one printout of the registration form with every value whole
    ("打印完整信息"): one audit event for the whole form."""
    _check(acting_user, elder)
    _audit(acting_user, elder, request, field=PRINT_FORM)
