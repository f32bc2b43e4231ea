"""Every change to an account: one function per use case, atomic, audited."""

import secrets

from axes.utils import reset as axes_reset
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from tanfang.accounts.models import PasswordHistory, User
from tanfang.accounts.permissions import ADMINISTRATORS, Perm, Role, policy_of
from tanfang.audit.actions import record
from tanfang.audit.models import Action
from tanfang.regions.models import Level, Region


def check_role_fits_region(role: str, region: Region) -> None:
    if region.level not in policy_of(role).levels:
        allowed = "、".join(Level(level).label for level in sorted(policy_of(role).levels))
        raise ValidationError({"region": f"{Role(role).label}只能设在以下层级：{allowed}。"})


def _check_may_manage(acting_user: User, region: Region, *roles: str) -> None:
    """Security administrators manage accounts of their own subtree only, and the
    accounts of the three administrators only strictly below their own node."""
    if not acting_user.can(Perm.ACCOUNTS_MANAGE) or not acting_user.region.contains(region.code):
        raise PermissionDenied
    if ADMINISTRATORS.intersection(roles) and region.level <= acting_user.region.level:
        raise ValidationError("系统管理员、安全管理员、审计员的账号须由上级安全管理员管理。")


def _store_password(user: User, raw_password: str, *, temporary: bool) -> None:
    user.set_password(raw_password)
    user.password_changed_at = None if temporary else timezone.now()
    user.save(update_fields=["password", "password_changed_at"])
    PasswordHistory.objects.create(user=user, password=user.password)


@transaction.atomic
def create_account(
    *,
    acting_user: User | None,
    username: str,
    full_name: str,
    role: str,
    region: Region,
    request: HttpRequest | None = None,
    known_password: str | None = None,
) -> tuple[User, str]:
    """A new account with a one-time password that must be changed at first login.

    `acting_user` is None only for a command run by an operator on the server:
    `manage.py create_account` (the first administrators of a deployment,
    where no higher level exists to make them) and `manage.py seed_demo`,
    whose accounts have the `known_password` the demo prints (kept as a
    changed password, not a one-time one).
    """
    if acting_user is not None:
        _check_may_manage(acting_user, region, role)
        if known_password is not None:
            raise ValueError("only a command on the server sets a known password")
    check_role_fits_region(role, region)
    user = User(username=username, full_name=full_name, role=role, region=region)
    user.full_clean(exclude=["password"])
    user.save()
    password = known_password or generate_temporary_password()
    _store_password(user, password, temporary=known_password is None)
    detail = {"username": username, "role": role, "region": region.code}
    if acting_user is None:
        detail["via"] = "command"
    record(
        Action.ACCOUNT_CREATED,
        actor=acting_user,
        request=request,
        region_code=region.code,
        target=user,
        detail=detail,
    )
    return user, password


@transaction.atomic
def change_account(
    *,
    acting_user: User,
    user: User,
    full_name: str,
    role: str,
    region: Region,
    is_active: bool,
    request: HttpRequest | None = None,
) -> User:
    if user.pk == acting_user.pk and (role != user.role or region != user.region or not is_active):
        # 三员分立: no administrator grants a role to, or disables, themselves.
        raise ValidationError("不能修改自己的角色、所属区划或启用状态。")
    _check_may_manage(acting_user, user.region, user.role)
    _check_may_manage(acting_user, region, role)
    check_role_fits_region(role, region)
    before = {
        "full_name": user.full_name,
        "role": user.role,
        "region": user.region_id,
        "is_active": user.is_active,
    }
    user.full_name = full_name
    user.role = role
    user.region = region
    user.is_active = is_active
    user.full_clean(exclude=["password"])
    user.save(update_fields=["full_name", "role", "region", "is_active"])
    after = {"full_name": full_name, "role": role, "region": region.code, "is_active": is_active}
    changes = {key: [before[key], after[key]] for key in after if before[key] != after[key]}
    record(
        Action.ACCOUNT_CHANGED,
        actor=acting_user,
        request=request,
        region_code=region.code,
        target=user,
        detail={"changes": changes},
    )
    return user


@transaction.atomic
def change_password(
    *, acting_user: User, new_password: str, request: HttpRequest | None = None
) -> None:
    """The user sets their own password (validated by the caller's form)."""
    _store_password(acting_user, new_password, temporary=False)
    record(Action.PASSWORD_CHANGED, actor=acting_user, request=request, target=acting_user)


@transaction.atomic
def reset_password(*, acting_user: User, user: User, request: HttpRequest | None = None) -> str:
    """A one-time password from the security administrator; the user must change it."""
    if user.pk == acting_user.pk:
        raise ValidationError("不能重置自己的密码，请在“我的账号”中修改。")
    _check_may_manage(acting_user, user.region, user.role)
    temporary = generate_temporary_password()
    _store_password(user, temporary, temporary=True)
    record(
        Action.PASSWORD_RESET,
        actor=acting_user,
        request=request,
        region_code=user.region_id,
        target=user,
    )
    return temporary


@transaction.atomic
def unlock_account(*, acting_user: User, user: User, request: HttpRequest | None = None) -> int:
    """Lift a lockout before its 30 minutes are over."""
    _check_may_manage(acting_user, user.region, user.role)
    cleared = int(axes_reset(username=user.username))
    record(
        Action.ACCOUNT_UNLOCKED,
        actor=acting_user,
        request=request,
        region_code=user.region_id,
        target=user,
        detail={"attempts_cleared": cleared},
    )
    return cleared


@transaction.atomic
def start_totp_setup(*, acting_user: User) -> TOTPDevice:
    """An unconfirmed device whose key the user scans; confirmed by a first code."""
    TOTPDevice.objects.filter(user=acting_user, confirmed=False).delete()
    return TOTPDevice.objects.create(user=acting_user, name="手机动态口令", confirmed=False)


@transaction.atomic
def confirm_totp_device(
    *, acting_user: User, device: TOTPDevice, token: str, request: HttpRequest | None = None
) -> bool:
    if device.user_id != acting_user.pk or device.confirmed:
        raise PermissionDenied
    if not device.verify_token(token):
        record(Action.OTP_FAILED, actor=acting_user, request=request, detail={"setup": True})
        return False
    TOTPDevice.objects.filter(user=acting_user, confirmed=True).delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    record(Action.OTP_DEVICE_ADDED, actor=acting_user, request=request, target=acting_user)
    return True


@transaction.atomic
def remove_totp_devices(
    *, acting_user: User, user: User, request: HttpRequest | None = None
) -> int:
    """For a lost phone: the security administrator clears the device; the user
    binds a new one at the next login."""
    _check_may_manage(acting_user, user.region, user.role)
    removed: int = TOTPDevice.objects.filter(user=user).delete()[0]
    record(
        Action.OTP_DEVICE_REMOVED,
        actor=acting_user,
        request=request,
        region_code=user.region_id,
        target=user,
        detail={"devices": removed},
    )
    return removed


def generate_temporary_password() -> str:
    """Twelve characters with all four classes, without look-alikes (0/O, 1/l/I)."""
    lower = "abcdefghjkmnpqrstuvwxyz"
    upper = "ABCDEFGHJKLMNPQRSTUVWXYZ"
    digits = "23456789"
    symbols = "@#%+=?"
    alphabet = lower + upper + digits + symbols
    chars = [secrets.choice(pool) for pool in (lower, upper, digits, symbols)]
    chars += [secrets.choice(alphabet) for _ in range(8)]
    secrets.SystemRandom().shuffle(chars)
    return "".join(chars)
