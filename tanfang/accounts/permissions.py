"""Who may do what: the one table of roles and their permissions.

Every view declares the permission it requires (`access.requires`); whether a
user holds it is read from `ROLES` below and nowhere else. The three
administrator roles are separate (三员分立, NONFUNCTIONAL.md "Separation of
duties"): the system administrator runs regions and settings, the security
administrator runs accounts and roles, the auditor only reads the audit log;
none of them reads elders' data.
"""

from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from django.db import models

from tanfang.regions.models import Level


class Role(models.TextChoices):
    VISITOR = "visitor", "探访人员"
    LIAISON = "liaison", "村(居)联络员"
    TOWNSHIP = "township", "乡镇(街道)指导员"
    COUNTY = "county", "县级民政"
    SUPERVISOR = "supervisor", "督导员"
    SYSADMIN = "sysadmin", "系统管理员"
    SECADMIN = "secadmin", "安全管理员"
    AUDITOR = "auditor", "审计员"


class Perm(StrEnum):
    # The administrative tree.
    REGIONS_VIEW = "regions.view"
    REGIONS_MANAGE = "regions.manage"
    # Accounts and roles.
    ACCOUNTS_MANAGE = "accounts.manage"
    # The audit log.
    AUDIT_VIEW = "audit.view"
    # Elders, visits and everything else about people, read and write.
    PEOPLE_VIEW = "people.view"
    PEOPLE_CHANGE = "people.change"
    # See an elder's whole ID number, phone and address, one audited reveal at a
    # time (NONFUNCTIONAL.md: masked unless the role needs the whole value).
    PEOPLE_REVEAL = "people.reveal"
    # Rates and ledgers of a subtree.
    REPORTS_VIEW = "reports.view"
    # Record a visit (探访记录) for an elder in scope.
    VISITS_RECORD = "visits.record"
    # Keep the township's roster of visitors (乡镇 manages 服务力量, DOMAIN.md).
    VISITORS_MANAGE = "visitors.manage"
    # Make and end assignments (包干) and excuse visit tasks (村 liaison and up).
    ASSIGNMENTS_MANAGE = "assignments.manage"
    # The closed loop (tanfang.care): enter needs, hazards and emergencies, record
    # an emergency's steps, remind of a hazard and confirm its removal (visitors up)…
    CARE_RAISE = "care.raise"
    # …and decide: a need's measure and states, reopen a hazard, close an
    # emergency (村 liaison and up).
    CARE_MANAGE = "care.manage"


@dataclass(frozen=True)
class RolePolicy:
    perms: frozenset[Perm]
    # Levels of the tree an account of this role may be bound to.
    levels: frozenset[Level]
    # Must present a TOTP code after the password when TANFANG_REQUIRE_2FA is on.
    second_factor: bool
    # Idle time after which the session ends (NONFUNCTIONAL.md "Sessions").
    idle_timeout: timedelta
    # Officers' passwords expire after 90 days (NONFUNCTIONAL.md "Passwords");
    # volunteers visiting on their own phones are not officers.
    password_expires: bool


_OFFICER_IDLE = timedelta(minutes=30)
_ADMIN_IDLE = timedelta(minutes=15)
_ADMIN_LEVELS = frozenset({Level.PROVINCE, Level.CITY, Level.COUNTY})

ROLES: dict[Role, RolePolicy] = {
    Role.VISITOR: RolePolicy(
        perms=frozenset(
            {Perm.PEOPLE_VIEW, Perm.PEOPLE_CHANGE, Perm.VISITS_RECORD, Perm.CARE_RAISE}
        ),
        levels=frozenset({Level.TOWNSHIP, Level.VILLAGE}),
        second_factor=False,
        idle_timeout=_OFFICER_IDLE,
        password_expires=False,
    ),
    Role.LIAISON: RolePolicy(
        perms=frozenset(
            {
                Perm.REGIONS_VIEW,
                Perm.PEOPLE_VIEW,
                Perm.PEOPLE_CHANGE,
                Perm.PEOPLE_REVEAL,
                Perm.REPORTS_VIEW,
                Perm.VISITS_RECORD,
                Perm.ASSIGNMENTS_MANAGE,
                Perm.CARE_RAISE,
                Perm.CARE_MANAGE,
            }
        ),
        levels=frozenset({Level.VILLAGE}),
        second_factor=False,
        idle_timeout=_OFFICER_IDLE,
        password_expires=True,
    ),
    Role.TOWNSHIP: RolePolicy(
        perms=frozenset(
            {
                Perm.REGIONS_VIEW,
                Perm.PEOPLE_VIEW,
                Perm.PEOPLE_CHANGE,
                Perm.PEOPLE_REVEAL,
                Perm.REPORTS_VIEW,
                Perm.VISITS_RECORD,
                Perm.VISITORS_MANAGE,
                Perm.ASSIGNMENTS_MANAGE,
                Perm.CARE_RAISE,
                Perm.CARE_MANAGE,
            }
        ),
        levels=frozenset({Level.TOWNSHIP}),
        second_factor=False,
        idle_timeout=_OFFICER_IDLE,
        password_expires=True,
    ),
    Role.COUNTY: RolePolicy(
        perms=frozenset(
            {
                Perm.REGIONS_VIEW,
                Perm.PEOPLE_VIEW,
                Perm.PEOPLE_CHANGE,
                Perm.PEOPLE_REVEAL,
                Perm.REPORTS_VIEW,
                Perm.VISITS_RECORD,
                Perm.VISITORS_MANAGE,
                Perm.ASSIGNMENTS_MANAGE,
                Perm.CARE_RAISE,
                Perm.CARE_MANAGE,
            }
        ),
        levels=frozenset({Level.COUNTY}),
        second_factor=True,
        idle_timeout=_OFFICER_IDLE,
        password_expires=True,
    ),
    Role.SUPERVISOR: RolePolicy(
        perms=frozenset({Perm.REGIONS_VIEW, Perm.PEOPLE_VIEW, Perm.REPORTS_VIEW}),
        levels=frozenset({Level.PROVINCE, Level.CITY, Level.COUNTY, Level.TOWNSHIP}),
        second_factor=True,
        idle_timeout=_OFFICER_IDLE,
        password_expires=True,
    ),
    Role.SYSADMIN: RolePolicy(
        perms=frozenset({Perm.REGIONS_VIEW, Perm.REGIONS_MANAGE}),
        levels=_ADMIN_LEVELS,
        second_factor=True,
        idle_timeout=_ADMIN_IDLE,
        password_expires=True,
    ),
    Role.SECADMIN: RolePolicy(
        perms=frozenset({Perm.REGIONS_VIEW, Perm.ACCOUNTS_MANAGE}),
        levels=_ADMIN_LEVELS,
        second_factor=True,
        idle_timeout=_ADMIN_IDLE,
        password_expires=True,
    ),
    Role.AUDITOR: RolePolicy(
        perms=frozenset({Perm.AUDIT_VIEW}),
        levels=_ADMIN_LEVELS,
        second_factor=True,
        idle_timeout=_ADMIN_IDLE,
        password_expires=True,
    ),
}


# 三员: their accounts are managed only from a higher level (or from the server's
# command line at the top), so that no security administrator can take over the
# auditor's or a fellow administrator's account at their own level.
ADMINISTRATORS = frozenset({Role.SYSADMIN, Role.SECADMIN, Role.AUDITOR})


def policy_of(role: str) -> RolePolicy:
    return ROLES[Role(role)]
