"""The month report says when the month's figures locked, when they were last
re-frozen by an approved late entry (补录), and how many late entries wait
under the node, with a link to 补录审核 for those who decide them (issue 16
"Closed months"; docs/统计口径.md §13). Its query count is pinned in
tests/reports/test_report_pages.py (LOCK)."""

import uuid
from datetime import date

import pytest

from tanfang.jurisdiction.models import PolicyChoice
from tanfang.visits.actions import record_visit
from tanfang.visits.late import approve_late
from tanfang.visits.models import VisitTask
from tests.conftest import COUNTY, TOWNSHIP_A, VILLAGE_A, VILLAGE_B, aware
from tests.visits.factories import (
    GOOD,
    PNG,
    TOWNSHIP_B,
    assign,
    follow_shishi,
    make_elder,
    make_task,
    make_visitor,
)

NOTE = "已电话核实"


@pytest.fixture
def setting(users, regions, time_machine):
    time_machine.move_to(aware(2026, 11, 1, 8, 0), tick=False)
    follow_shishi(users)
    visitor = make_visitor(users, regions)
    visitor_b = make_visitor(
        users, regions, "陈国强", township=TOWNSHIP_B, villages=(VILLAGE_B,), user=None
    )
    elder = make_elder(users, regions, 1, ability="severe")
    elder_b = make_elder(users, regions, 2, village=VILLAGE_B)
    VisitTask.objects.filter(elder__in=[elder, elder_b]).delete()
    assign(users, elder, visitor)
    assign(users, elder_b, visitor_b)
    make_task(elder, date(2026, 11, 1), date(2026, 11, 15), key="regular:1")
    time_machine.move_to(aware(2026, 12, 7, 9, 0), tick=False)
    late = [
        late_visit(users, elder, visitor, 1, aware(2026, 11, 14, 10, 0), "visitor_a"),
        late_visit(users, elder_b, visitor_b, 2, aware(2026, 11, 20, 15, 0), "liaison_b"),
        late_visit(users, elder_b, visitor_b, 3, aware(2026, 10, 20, 15, 0), "liaison_b"),
    ]
    time_machine.move_to(aware(2026, 12, 8, 10, 30), tick=False)
    return {"elder": elder, "late": late}


def late_visit(users, elder, visitor, number, at, who):
    return record_visit(
        acting_user=users[who],
        uuid=uuid.UUID(int=number),
        elder=elder,
        mode="home",
        visited_at=at,
        visitors=[visitor],
        answers=GOOD,
        visitor_signature=PNG,
        elder_signature=PNG,
        late_reason="村里没有信号，回镇上才提交",
    ).visit


def lock_line(response) -> str:
    page = response.content.decode()
    start = page.index('id="month-lock">')
    return page[start + len('id="month-lock">') : page.index("</p>", start)]


def test_it_says_when_the_month_locked_and_how_many_late_entries_wait(client_for, setting):
    response = client_for("county").get("/reports/", {"month": "2026-11"})

    assert response.status_code == 200
    line = lock_line(response)
    assert "11月的数字已于 <strong>2026年12月5日 00:00</strong> 锁定。" in line
    assert "重新锁定" not in line
    assert (
        f'<a href="/visits/late/?code={COUNTY}&amp;month=2026-11">11月补录待审核 2 条</a>' in line
    )
    assert f'<a href="/visits/late/?code={COUNTY}">辖区共 3 条</a>' in line
    lock = response.context["lock"]
    assert (lock.pending, lock.pending_all, lock.refrozen_at) == (2, 3, None)


def test_it_says_when_an_approval_refroze_the_month(client_for, users, setting, time_machine):
    approve_late(acting_user=users["county"], visit=setting["late"][0], note=NOTE)
    time_machine.move_to(aware(2026, 12, 9, 16, 5), tick=False)
    approve_late(acting_user=users["township_b"], visit=setting["late"][1], note=NOTE)

    response = client_for("county").get("/reports/", {"month": "2026-11"})

    line = lock_line(response)
    assert "同意补录后于 <strong>2026年12月9日 16:05</strong> 重新锁定。" in line
    assert "11月补录待审核 0 条" in line
    # The figures moved with the approvals: both elders visited in November.
    assert response.context["counts"].visited == 2
    # A township sees its own: its entry, approved at 10:30 on the 8th.
    own = client_for("township_a").get(f"/reports/{TOWNSHIP_A}/", {"month": "2026-11"})
    assert "于 <strong>2026年12月8日 10:30</strong> 重新锁定" in lock_line(own)


def test_the_current_month_says_when_it_will_lock(client_for, setting):
    line = lock_line(client_for("county").get("/reports/"))

    assert "12月的数字将于 2027年1月5日 00:00 锁定" in line
    assert "辖区共 3 条" in line


def test_a_liaison_reads_the_count_without_the_link(client_for, setting):
    line = lock_line(client_for("liaison_b").get(f"/reports/{VILLAGE_B}/", {"month": "2026-11"}))

    assert "11月补录待审核 1 条（辖区共 2 条），由乡镇(街道)或县级民政审核" in line
    assert "/visits/late/" not in line


def test_a_county_locking_on_the_10th_says_so(client_for, setting):
    PolicyChoice.objects.filter(region_id=COUNTY).update(overrides={"close_day": 10})

    line = lock_line(client_for("county").get(f"/reports/{VILLAGE_A}/", {"month": "2026-11"}))

    assert "11月的数字将于 2026年12月10日 00:00 锁定" in line


def test_above_the_counties_it_gives_the_earliest_and_latest_locks(client_for, setting):
    PolicyChoice.objects.filter(region_id=COUNTY).update(overrides={"close_day": 10})

    response = client_for("supervisor").get("/reports/", {"month": "2026-11"})

    line = lock_line(response)
    # 晋江 follows the national rules: the 5th.
    assert (
        "11月的数字已于 <strong>2026年12月5日 00:00</strong> 至 2026年12月10日 00:00"
        "（各县锁定日不同） 锁定" in line
    )
