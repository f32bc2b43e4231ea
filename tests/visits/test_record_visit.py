"""Recording a visit: the record, the sequence number, the tasks it completes,
what it finds, idempotency by UUID, and every kind of bad input refused with
the field named and nothing stored.

The clock stands on 2026-11-04, before October locks; the visits tested are of October 2026, in
tasks made here, so that the tasks the registry makes for November and
December stay out of the way.
"""

import uuid
from datetime import date

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from tanfang.audit.models import Action, AuditEvent
from tanfang.care.models import Hazard, Need
from tanfang.registry.models import Elder, Status
from tanfang.visits.actions import VisitConflict, record_visit
from tanfang.visits.models import TaskKind, Visit, VisitTask
from tests.conftest import VILLAGE_B, aware
from tests.visits.factories import (
    GOOD,
    PNG,
    assign,
    follow_shishi,
    make_elder,
    make_task,
    make_visitor,
)


@pytest.fixture(autouse=True)
def frozen(time_machine):
    # Before October's figures lock on 5 November (issue 16 "Closed months").
    time_machine.move_to(aware(2026, 11, 4, 10, 0), tick=False)


@pytest.fixture
def setting(users, regions):
    follow_shishi(users)
    elder = make_elder(users, regions, ability="severe")  # 重点对象: 中度以上失能
    visitor = make_visitor(users, regions)
    assign(users, elder, visitor)
    first_half = make_task(elder, date(2026, 10, 1), date(2026, 10, 15), key="regular:1")
    second_half = make_task(elder, date(2026, 10, 16), date(2026, 10, 31), key="regular:1")
    return {"elder": elder, "visitor": visitor, "first": first_half, "second": second_half}


def visit(users, setting, **overrides):
    values = {
        "acting_user": users["visitor_a"],
        "uuid": uuid.UUID(int=1),
        "elder": setting["elder"],
        "mode": "home",
        "visited_at": aware(2026, 10, 9, 10, 30),
        "visitors": [setting["visitor"]],
        "answers": GOOD,
        "visitor_signature": PNG,
        "elder_signature": PNG,
    }
    values.update(overrides)
    return record_visit(**values)


def test_it_stores_a_home_visit_and_completes_the_half_month_task(users, setting):
    recorded = visit(users, setting)

    assert recorded.created
    stored = Visit.objects.get()
    assert stored.sequence == 1
    assert stored.village_id == setting["elder"].village_id
    assert stored.checklist == "fujian"
    assert stored.counted
    assert list(stored.visitors.all()) == [setting["visitor"]]
    # 000_4970ff49482a0570.txt 四(二): key objects at least one home visit every half month.
    first = VisitTask.objects.get(pk=setting["first"].pk)
    assert first.done_by_visit == stored
    assert first.state_on(date(2026, 11, 23)) == "done"
    assert VisitTask.objects.get(pk=setting["second"].pk).done_at is None
    event = AuditEvent.objects.get(action=Action.VISIT_RECORDED)
    assert event.actor == users["visitor_a"]
    assert event.detail["tasks_done"] == [first.pk]


def test_it_numbers_the_visits_of_an_elder(users, setting):
    visit(users, setting)
    visit(users, setting, uuid=uuid.UUID(int=2), visited_at=aware(2026, 10, 20, 9, 0))

    assert list(Visit.objects.order_by("visited_at").values_list("sequence", flat=True)) == [1, 2]
    assert VisitTask.objects.get(pk=setting["second"].pk).done_at is not None


def test_it_returns_the_first_record_when_the_same_uuid_comes_again(users, setting):
    first = visit(users, setting)
    again = visit(users, setting)

    assert not again.created
    assert again.visit.pk == first.visit.pk
    assert Visit.objects.count() == 1
    assert AuditEvent.objects.filter(action=Action.VISIT_RECORDED).count() == 1


def test_it_refuses_the_same_uuid_with_other_content(users, setting):
    visit(users, setting)

    with pytest.raises(VisitConflict):
        visit(users, setting, notes="又去了一次")

    assert Visit.objects.get().notes == ""


def test_it_stores_a_phone_visit_to_a_key_elder_but_does_not_count_it(users, setting):
    recorded = visit(users, setting, mode="phone")

    assert not recorded.visit.counted
    assert "电话探访不计入" in recorded.visit.not_counted_reason
    assert "重点对象" in recorded.visit.not_counted_reason
    assert VisitTask.objects.filter(done_at__isnull=False).count() == 0


def test_it_completes_an_overdue_task_late_inside_its_period(users, setting, time_machine):
    time_machine.move_to(aware(2026, 10, 1, 9, 0), tick=False)  # September not yet locked
    # Linzi: visits by the 20th (003_fe235aaa23e67560.txt 五(二)); later in the
    # month is overdue, not missed.
    elder = setting["elder"]
    task = make_task(elder, date(2026, 9, 1), date(2026, 9, 20), date(2026, 9, 30), key="regular:9")
    assert task.state_on(date(2026, 9, 25)) == "overdue"

    visit(users, setting, visited_at=aware(2026, 9, 25, 15, 0))

    assert VisitTask.objects.get(pk=task.pk).done_at is not None


def test_it_does_not_complete_a_task_whose_period_is_over(users, setting, time_machine):
    time_machine.move_to(aware(2026, 10, 1, 9, 0), tick=False)  # September not yet locked
    task = make_task(setting["elder"], date(2026, 9, 1), date(2026, 9, 15), key="regular:9")

    visit(users, setting, visited_at=aware(2026, 9, 16, 9, 0))

    assert VisitTask.objects.get(pk=task.pk).done_at is None
    assert task.state_on(date(2026, 11, 23)) == "missed"


def test_a_visit_in_a_festival_window_covers_the_festival_and_its_regular_task(users, setting):
    # 000_4970ff49482a0570.txt 四(二): festivals call for more visits ("适当增加探访
    # 频次"), measured as the festival's coverage: the home visit made inside the
    # window is that festival's visit and the half-month's regular one.
    festival = make_task(
        setting["elder"],
        date(2026, 10, 11),
        date(2026, 10, 21),
        kind=TaskKind.FESTIVAL,
        key="festival:重阳",
        modes=("home", "phone", "video", "street"),
        label="重阳节探访",
        extra=True,
        month=date(2026, 10, 1),
    )
    second = make_task(
        setting["elder"],
        date(2026, 10, 11),
        date(2026, 10, 21),
        kind=TaskKind.FESTIVAL,
        key="festival:重阳:2",
        modes=("home", "phone", "video", "street"),
        label="重阳节探访（第2次）",
        extra=True,
        month=date(2026, 10, 1),
    )

    recorded = visit(users, setting, visited_at=aware(2026, 10, 12, 9, 0))

    assert VisitTask.objects.get(pk=festival.pk).done_by_visit == recorded.visit
    assert VisitTask.objects.get(pk=setting["first"].pk).done_by_visit == recorded.visit
    # One visit is one visit of the festival: a second one is asked for by the second task.
    assert VisitTask.objects.get(pk=second.pk).done_at is None
    phone = visit(
        users, setting, uuid=uuid.UUID(int=2), mode="phone", visited_at=aware(2026, 10, 13, 9)
    )
    assert VisitTask.objects.get(pk=second.pk).done_by_visit == phone.visit


def test_a_phone_call_in_a_festival_window_covers_it_but_not_the_home_visit(users, setting):
    # The surge is any mode; the key elder's half-month visit is a home visit
    # (000_4970ff49482a0570.txt 四(二)), and the visitor is told why.
    festival = make_task(
        setting["elder"],
        date(2026, 10, 11),
        date(2026, 10, 21),
        kind=TaskKind.FESTIVAL,
        key="festival:重阳",
        modes=("home", "phone", "video", "street"),
        label="重阳节探访",
        extra=True,
        month=date(2026, 10, 1),
    )

    recorded = visit(users, setting, mode="phone", visited_at=aware(2026, 10, 12, 9, 0))

    assert VisitTask.objects.get(pk=festival.pk).done_by_visit == recorded.visit
    assert VisitTask.objects.get(pk=setting["first"].pk).done_at is None
    assert "电话探访不计入" in recorded.visit.not_counted_reason


def test_a_mandatory_festival_visit_is_completed_by_the_regular_visit_in_its_window(users, setting):
    # 001_35a01bee4c628ebd.txt 二(五): 传统节日必须开展探访.
    festival = make_task(
        setting["elder"],
        date(2026, 10, 11),
        date(2026, 10, 21),
        kind=TaskKind.FESTIVAL,
        key="festival:重阳",
        label="重阳节探访",
    )

    visit(users, setting, visited_at=aware(2026, 10, 12, 9, 0))

    assert VisitTask.objects.filter(done_at__isnull=False).count() == 2
    assert VisitTask.objects.get(pk=festival.pk).done_at is not None


def test_in_an_epidemic_remote_visits_count_as_home_visits(users, setting):
    # 002_8b4fd75972db9bc5.txt 二(五): 疫情期间电话、视频探访.
    make_task(
        setting["elder"],
        date(2026, 10, 1),
        date(2026, 10, 10),
        kind=TaskKind.EVENT,
        key="event:1",
        modes=("home", "phone", "video"),
        label="公共卫生事件探访",
        remote_counts_as_home=True,
    )

    recorded = visit(users, setting, mode="phone")

    assert recorded.visit.counted
    assert VisitTask.objects.get(pk=setting["first"].pk).done_at is not None


def test_a_refused_visit_is_recorded_and_never_counted(users, setting):
    recorded = visit(
        users, setting, refused=True, answers={}, visitor_signature="", elder_signature=""
    )

    assert recorded.visit.refused
    assert not recorded.visit.counted
    assert VisitTask.objects.filter(done_at__isnull=False).count() == 0


def test_an_unsafe_answer_makes_a_hazard_and_an_unmet_need_a_need(users, setting):
    answers = {**GOOD, "gas_safety": "unsafe"}

    recorded = visit(
        users,
        setting,
        answers=answers,
        needs_found=[
            {"type": "meals", "met": False, "note": "腿脚不便，做饭困难"},
            {"type": "medical", "met": True},
        ],
    )

    hazard = Hazard.objects.get()
    assert (hazard.visit, hazard.item, hazard.status) == (recorded.visit, "gas", "open")
    assert "不安全" in hazard.finding
    need = Need.objects.get()
    assert (need.visit, need.need_type, need.source) == (recorded.visit, "meals", "visit")
    assert need.description == "腿脚不便，做饭困难"


# Bad input: a Chinese message naming the field, and nothing stored --------------


def refused(users, setting, field, **overrides):
    with pytest.raises(ValidationError) as caught:
        visit(users, setting, **overrides)
    assert field in caught.value.message_dict, caught.value.message_dict
    assert Visit.objects.count() == 0
    assert VisitTask.objects.filter(done_at__isnull=False).count() == 0
    assert Hazard.objects.count() == Need.objects.count() == 0
    assert not AuditEvent.objects.filter(action=Action.VISIT_RECORDED).exists()
    return caught.value.message_dict[field]


def test_it_refuses_a_visit_in_the_future(users, setting):
    messages = refused(users, setting, "visited_at", visited_at=aware(2026, 11, 23, 12, 0))
    assert "不能晚于现在" in messages[0]


def test_it_refuses_a_visit_before_the_file_existed(users, setting):
    messages = refused(users, setting, "visited_at", visited_at=aware(2025, 12, 30, 9, 0))
    assert "建档日期" in messages[0]


@pytest.mark.parametrize("status", [Status.DECEASED, Status.MOVED_AWAY])
def test_it_refuses_a_visit_to_an_elder_no_longer_active(users, setting, status):
    Elder.objects.filter(pk=setting["elder"].pk).update(status=status)
    setting["elder"].refresh_from_db()

    messages = refused(users, setting, "elder")
    assert "不能录入探访记录" in messages[0]


def test_it_refuses_a_visitor_neither_assigned_nor_serving_the_village(users, regions, setting):
    stranger = make_visitor(
        users, regions, "陈志强", villages=(VILLAGE_B,), user=None, kind="volunteer"
    )

    messages = refused(users, setting, "visitors", visitors=[stranger, setting["visitor"]])
    assert "陈志强" in messages[0]


def test_it_refuses_a_visit_a_visitor_records_for_someone_else(users, regions, setting):
    other = make_visitor(users, regions, "黄丽", user=None)

    messages = refused(users, setting, "visitors", visitors=[other])
    assert "您本人" in messages[0]


def test_it_refuses_an_answer_outside_the_option_set(users, setting):
    messages = refused(users, setting, "answers.gas_safety", answers={**GOOD, "gas_safety": "ok"})
    assert "燃气安全" in messages[0]


def test_it_refuses_a_photo_without_consent(users, setting):
    photo = SimpleUploadedFile("p.jpg", b"\xff\xd8\xff\xe0" + b"0" * 100)
    messages = refused(users, setting, "photo", photo=photo)
    assert "未同意拍照" in messages[0]


def test_it_takes_a_photo_where_the_elder_consented(users, setting):
    Elder.objects.filter(pk=setting["elder"].pk).update(consents_to_photos=True)
    setting["elder"].refresh_from_db()

    recorded = visit(users, setting, photo=SimpleUploadedFile("p.jpg", b"\xff\xd8\xff\xe0" + b"0"))

    assert recorded.visit.photo.name.endswith(".jpg")


def test_it_refuses_a_photo_that_is_not_an_image(users, setting):
    Elder.objects.filter(pk=setting["elder"].pk).update(consents_to_photos=True)
    setting["elder"].refresh_from_db()

    refused(users, setting, "photo", photo=SimpleUploadedFile("p.jpg", b"MZ\x90\x00"))


@pytest.mark.parametrize("field", ["visitor_signature", "elder_signature"])
def test_it_refuses_a_missing_signature_where_the_form_requires_one(users, setting, field):
    # 000_4970ff49482a0570.txt 附件4: 服务人员签字, 服务对象签字.
    messages = refused(users, setting, field, **{field: ""})
    assert "签" in messages[0]


def test_the_elder_does_not_sign_a_phone_call(users, setting):
    recorded = visit(users, setting, mode="phone", elder_signature="")

    assert recorded.created
    assert recorded.visit.elder_signature == ""


def test_it_refuses_a_signature_that_is_not_a_drawn_image(users, setting):
    refused(users, setting, "elder_signature", elder_signature="data:image/png;base64,AAAA")


def test_it_refuses_a_home_visit_to_an_elder_who_declined_home_visits(users, setting):
    # 004_1657df0ed1e05604.txt 二(四): 入户探访须征得同意.
    Elder.objects.filter(pk=setting["elder"].pk).update(consents_to_home_visits=False)
    setting["elder"].refresh_from_db()

    messages = refused(users, setting, "mode")
    assert "未同意入户探访" in messages[0]


def test_it_refuses_a_mode_the_form_does_not_offer(users, setting):
    refused(users, setting, "mode", mode="carrier_pigeon")


def test_it_refuses_an_unknown_need_type(users, setting):
    refused(users, setting, "needs_found", needs_found=[{"type": "money", "met": False}])


def test_it_refuses_an_end_before_the_start(users, setting):
    refused(
        users,
        setting,
        "ended_at",
        started_at=aware(2026, 10, 9, 10, 30),
        ended_at=aware(2026, 10, 9, 10, 0),
    )


def test_it_refuses_a_location_off_the_globe(users, setting):
    from decimal import Decimal

    refused(users, setting, "latitude", latitude=Decimal("95"), longitude=Decimal("118.6"))


def test_it_refuses_an_elder_outside_the_users_subtree(users, regions, setting):
    from django.http import Http404

    other = make_elder(users, regions, 2, village=VILLAGE_B)
    with pytest.raises(Http404):
        visit(users, setting, elder=other)
    assert Visit.objects.count() == 0
