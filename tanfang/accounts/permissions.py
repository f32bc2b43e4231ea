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
    # Elders, visits and everything else about people: read (a visitor only the
    # elders assigned to them, RolePolicy.assigned_only)…
    PEOPLE_VIEW = "people.view"
    # …and change the file: its sections and parts, categories, status, the
    # half-year review, withdrawing a life event, confirming a visitor's report
    # of a death or a move (村 liaison and up: 000_4970ff49482a0570.txt 三(四),
    # the village fills in the file under the township's guidance).
    PEOPLE_CHANGE = "people.change"
    # Open a new file, one at a time or by importing a ledger (村 liaison and up,
    # 000_4970ff49482a0570.txt 三(四); 004_1657df0ed1e05604.txt 二(二)1: 村(居)
    # 协助做好摸底排查和信息采集). Visitors report what they find; they do not register.
    ELDERS_REGISTER = "elders.register"
    ELDERS_IMPORT = "elders.import"
    # Set another tier than the rules give, with a reason and a citation: the
    # classification is the county's, adjusted as things change
    # (004_1657df0ed1e05604.txt 二(一): 以县级行政区域为单位……适时进行动态调整);
    # township and county officers (issue 16, user guide 十).
    TIERS_OVERRIDE = "tiers.override"
    # Declare or end a special period (extreme weather, epidemic) that owes extra
    # visits to a subtree: township and county officers (issue 16).
    EVENTS_DECLARE = "events.declare"
    # See an elder's whole ID number, phone and address, one audited reveal at a
    # time (NONFUNCTIONAL.md: masked unless the role needs the whole value).
    PEOPLE_REVEAL = "people.reveal"
    # Rates and ledgers of a subtree.
    REPORTS_VIEW = "reports.view"
    # Record a visit (探访记录) for an elder in scope.
    VISITS_RECORD = "visits.record"
    # Decide a late entry (补录): count it in its locked month or not (township
    # and county officers, issue 16 "Closed months").
    VISITS_APPROVE_LATE = "visits.approve_late"
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
    # Sees only the elders assigned to them (open 包干, 000_4970ff49482a0570.txt
    # 三(二): 落实包干责任人) and what concerns them, not the whole subtree; may
    # still record a visit to another elder of the subtree, saying why
    # (`Elder.objects.visible_to(user, visiting=True)`).
    assigned_only: bool = False


_OFFICER_IDLE = timedelta(minutes=30)
_ADMIN_IDLE = timedelta(minutes=15)
_ADMIN_LEVELS = frozenset({Level.PROVINCE, Level.CITY, Level.COUNTY})

ROLES: dict[Role, RolePolicy] = {
    # Visitors record visits and raise needs, hazards and emergencies for the
    # elders assigned to them; a death or a move they report, and the liaison
    # confirms it (issue 16 "Permissions as the documents assign them").
    Role.VISITOR: RolePolicy(
        perms=frozenset({Perm.PEOPLE_VIEW, Perm.VISITS_RECORD, Perm.CARE_RAISE}),
        levels=frozenset({Level.TOWNSHIP, Level.VILLAGE}),
        second_factor=False,
        idle_timeout=_OFFICER_IDLE,
        password_expires=False,
        assigned_only=True,
    ),
    Role.LIAISON: RolePolicy(
        perms=frozenset(
            {
                Perm.REGIONS_VIEW,
                Perm.PEOPLE_VIEW,
                Perm.PEOPLE_CHANGE,
                Perm.PEOPLE_REVEAL,
                Perm.ELDERS_REGISTER,
                Perm.ELDERS_IMPORT,
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
                Perm.ELDERS_REGISTER,
                Perm.ELDERS_IMPORT,
                Perm.TIERS_OVERRIDE,
                Perm.EVENTS_DECLARE,
                Perm.REPORTS_VIEW,
                Perm.VISITS_RECORD,
                Perm.VISITS_APPROVE_LATE,
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
                Perm.ELDERS_REGISTER,
                Perm.ELDERS_IMPORT,
                Perm.TIERS_OVERRIDE,
                Perm.EVENTS_DECLARE,
                Perm.REPORTS_VIEW,
                Perm.VISITS_RECORD,
                Perm.VISITS_APPROVE_LATE,
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
