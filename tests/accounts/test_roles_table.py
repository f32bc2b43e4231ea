"""The role table as the documents assign the work (issue 16 "Permissions as the
documents assign them"): visitors record visits and raise needs, hazards and
emergencies for the elders assigned to them, and do nothing else to the file;
the village liaison registers, imports and keeps the village's files; tier
overrides and special periods belong to the township and the county.
tests/registry/test_permissions_refused.py tries the same on every route."""

import pytest

from tanfang.accounts.permissions import ROLES, Perm, Role

# What changes the file or the rules, beyond recording what a visit found.
FILE_WORK = {
    Perm.PEOPLE_CHANGE,
    Perm.ELDERS_REGISTER,
    Perm.ELDERS_IMPORT,
    Perm.TIERS_OVERRIDE,
    Perm.EVENTS_DECLARE,
}


def perms_of(role: Role) -> frozenset[Perm]:
    return ROLES[role].perms


def test_it_lets_a_visitor_view_record_and_raise_only():
    assert perms_of(Role.VISITOR) == {Perm.PEOPLE_VIEW, Perm.VISITS_RECORD, Perm.CARE_RAISE}
    assert not perms_of(Role.VISITOR) & FILE_WORK


def test_it_limits_only_the_visitor_to_the_elders_assigned_to_them():
    # 000_4970ff49482a0570.txt 三(二): 落实包干责任人.
    assert {role for role, policy in ROLES.items() if policy.assigned_only} == {Role.VISITOR}


def test_it_lets_the_village_liaison_register_import_and_keep_files():
    # 000_4970ff49482a0570.txt 三(四): the village fills in the registration form.
    assert {Perm.PEOPLE_CHANGE, Perm.ELDERS_REGISTER, Perm.ELDERS_IMPORT} <= perms_of(Role.LIAISON)


@pytest.mark.parametrize("perm", [Perm.TIERS_OVERRIDE, Perm.EVENTS_DECLARE])
def test_it_gives_tier_overrides_and_special_periods_to_township_and_county_only(perm):
    # 004_1657df0ed1e05604.txt 二(一): the county's classification, adjusted as
    # things change; special periods are declared for a subtree (issue 16).
    assert {role for role, policy in ROLES.items() if perm in policy.perms} == {
        Role.TOWNSHIP,
        Role.COUNTY,
    }


@pytest.mark.parametrize("perm", sorted(FILE_WORK))
def test_it_gives_no_file_work_to_the_supervisor_or_an_administrator(perm):
    for role in (Role.SUPERVISOR, Role.SYSADMIN, Role.SECADMIN, Role.AUDITOR):
        assert perm not in perms_of(role), role


@pytest.mark.parametrize("perm", sorted(FILE_WORK - {Perm.TIERS_OVERRIDE, Perm.EVENTS_DECLARE}))
def test_it_gives_the_officers_above_the_village_what_the_village_does(perm):
    for role in (Role.LIAISON, Role.TOWNSHIP, Role.COUNTY):
        assert perm in perms_of(role), role
