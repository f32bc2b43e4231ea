"""The demo elders: about 2,000 realistic files in 石狮市, registered through the
same action as any other, deterministic and idempotent."""

from datetime import date
from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import F

from tanfang.audit.models import Action, AuditEvent
from tanfang.care.models import Hazard, Need
from tanfang.registry import crypto, identity
from tanfang.registry.models import (
    Elder,
    ElderCategory,
    EmergencyContact,
    HouseholdMember,
    Review,
)
from tanfang.registry.queries import review_overdue
from tanfang.visits.models import Assignment, Visit, VisitTask

TODAY = date(2026, 11, 23)


@pytest.fixture(autouse=True)
def frozen(time_machine):
    time_machine.move_to("2026-11-23 09:00 +0800", tick=False)


def seed(*args: str) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def test_it_gives_each_elder_a_valid_id_number_of_the_county_and_birth_date(db):
    seed()

    for elder in Elder.objects.all():
        number = identity.parse_id_number(crypto.decrypt(elder.id_number_token))
        assert number.region6 == "350581"
        assert number.birth_date == elder.birth_date
        assert number.sex == elder.sex
        assert identity.normalise_phone(crypto.decrypt(elder.phone_token))


def test_it_adds_no_elder_on_a_second_run(db):
    seed()
    before = list(Elder.objects.order_by("pk").values_list("pk", "id_number_hash"))

    output = seed()

    assert "老年人档案：新增 0 份。" in output
    assert list(Elder.objects.order_by("pk").values_list("pk", "id_number_hash")) == before


def test_it_draws_the_same_elders_on_every_run(db):
    seed("--seed", "7")
    lost = Elder.objects.order_by("pk").last()
    facts = (lost.name, lost.birth_date, lost.village_id, lost.id_number_hash)
    # A half-finished first run: the last file never made it.
    for part in (
        VisitTask,
        Need,
        Hazard,
        Visit,
        Assignment,
        ElderCategory,
        HouseholdMember,
        EmergencyContact,
        Review,
    ):
        part.objects.filter(elder=lost).delete()
    lost.delete()

    output = seed("--seed", "7")

    assert "老年人档案：新增 1 份。" in output
    again = Elder.objects.order_by("pk").last()
    assert (again.name, again.birth_date, again.village_id, again.id_number_hash) == facts


def test_it_registers_them_as_the_county_officer_with_an_audit_entry_each(db):
    seed()

    events = AuditEvent.objects.filter(action=Action.ELDER_REGISTERED)
    assert events.count() == Elder.objects.count() == 40
    assert set(events.values_list("username", flat=True)) == {"county"}


def test_it_leaves_a_few_files_overdue_for_their_half_year_review(db):
    """Most files were reviewed in the last half year, a few are overdue, as in
    a county that keeps them (000_4970ff49482a0570.txt 三(四) 每半年动态更新一次)."""
    seed()

    elders = Elder.objects.all()
    overdue = review_overdue(elders, TODAY).count()
    assert 0 < overdue < elders.count() * 0.25
    assert not elders.filter(last_reviewed_on__gt=TODAY).exists()
    assert not elders.filter(last_reviewed_on__lt=F("registered_on")).exists()


def test_it_registers_the_elders_asked_for_in_the_countys_villages(db):
    output = seed()

    # 40 in the tests (tests/demo/conftest.py); the full 2,000: bench/bench_demo.py.
    assert "老年人档案：新增 40 份。" in output
    assert Elder.objects.count() == 40
    assert not Elder.objects.exclude(village__code__startswith="350581").exists()
