"""The emergency's pages (tanfang/care/emergency_views.py, views.py): reporting
one, recording the steps of its handling with their times, closing it (refused
until the steps the documents require are there), the read-only archive with
its follow-up task, the village's open items (待办事项) and the subtree's list.

The clock stands on 2026-11-23 10:00 (tests/care/conftest.py).
"""

from tanfang.audit.models import Action, AuditEvent
from tanfang.care import emergencies, hazards, needs
from tanfang.care.models import Emergency, EmergencyStep
from tanfang.registry import crypto
from tanfang.registry.models import EmergencyContact
from tanfang.visits.models import TaskKind
from tests.conftest import VILLAGE_A, aware
from tests.visits.factories import make_elder


def raise_one(users, elder):
    return emergencies.raise_emergency(
        acting_user=users["liaison_a"],
        elder=elder,
        kind="fall",
        source="phone",
        description="老人在家中跌倒",
        raised_at=aware(2026, 11, 23, 8, 0),
    )


def step(client, emergency, **values):
    return client.post(f"/care/emergencies/{emergency.pk}/steps/", values)


def test_an_emergency_is_reported_from_the_file(client_for, elder):
    client = client_for("visitor_a")
    response = client.post(
        f"/care/elders/{elder.pk}/emergencies/new/",
        {
            "kind": "illness",
            "source": "phone",
            "raised_at": "2026-11-23T09:30",
            "description": "胸闷",
        },
    )

    emergency = Emergency.objects.get(elder=elder)
    assert response["Location"] == f"/care/emergencies/{emergency.pk}/"
    assert emergency.raised_at == aware(2026, 11, 23, 9, 30)


def test_a_time_in_the_future_is_refused_next_to_the_field(client_for, elder):
    response = client_for("visitor_a").post(
        f"/care/elders/{elder.pk}/emergencies/new/",
        {"kind": "fire", "source": "phone", "raised_at": "2026-11-24T09:30", "description": "冒烟"},
    )

    assert "发生(报告)时间：发生时间不能晚于现在。" in response.content.decode()
    assert "冒烟" in response.content.decode()
    assert not Emergency.objects.exists()


def test_steps_are_recorded_and_nonsense_is_refused(client_for, users, elder):
    emergency = raise_one(users, elder)
    client = client_for("visitor_a")

    refused = step(client, emergency, kind="help_called", at="2026-11-23T08:05", number="999")
    assert "求助电话：选择一个有效的选项" in refused.content.decode()
    refused = step(client, emergency, kind="family_notified", at="2026-11-23T07:00", how="phone")
    text = refused.content.decode()
    assert "时间：处置时间不能早于事件发生(报告)时间。" in text
    assert "联系对象：请填写联系对象。" in text
    assert "是否联系上：请选择是否联系上。" in text
    assert not EmergencyStep.objects.exists()

    assert (
        step(client, emergency, kind="help_called", at="2026-11-23T08:05", number="120").status_code
        == 302
    )
    assert (
        step(
            client,
            emergency,
            kind="family_notified",
            at="2026-11-23T08:10",
            whom="儿子",
            how="phone",
            answered="false",
        ).status_code
        == 302
    )
    steps = list(emergency.steps.all())
    assert [(s.kind, s.number, s.answered) for s in steps] == [
        ("help_called", "120", None),
        ("family_notified", "", False),
    ]
    page = client.get(f"/care/emergencies/{emergency.pk}/").content.decode()
    assert "未联系上" in page


def test_closing_needs_the_required_steps_and_then_archives(client_for, users, elder):
    # 001_35a01bee4c628ebd.txt 二(五)1: 拨打紧急求助电话、联系家庭成员、报告村（社区）.
    emergency = raise_one(users, elder)
    client = client_for("liaison_a")

    refused = client.post(
        f"/care/emergencies/{emergency.pk}/close/", {"outcome_kind": "hospital", "outcome": "送医"}
    )
    text = refused.content.decode()
    assert "尚未记录报告老人居住所在村（社区），不能结案。" in text
    emergency.refresh_from_db()
    assert emergency.closed_at is None

    step(client, emergency, kind="help_called", at="2026-11-23T08:05", number="120")
    step(
        client,
        emergency,
        kind="contact_notified",
        at="2026-11-23T08:06",
        whom="邻居",
        how="in_person",
        answered="true",
    )
    step(client, emergency, kind="village_informed", at="2026-11-23T08:07", how="phone")
    closed = client.post(
        f"/care/emergencies/{emergency.pk}/close/",
        {"outcome_kind": "hospital", "outcome": "送市医院，无大碍"},
    )
    assert closed.status_code == 302
    emergency.refresh_from_db()
    assert emergency.closed_at is not None
    assert emergency.follow_up_task.kind == TaskKind.FOLLOW_UP

    page = client.get(f"/care/emergencies/{emergency.pk}/").content.decode()
    assert "已结案归档" in page
    assert "跟踪回访：应急处置（跌倒）" in page
    assert "/steps/" not in page and "/close/" not in page
    # Read-only: a late step is refused and nothing is stored.
    late = step(client, emergency, kind="other", at="2026-11-23T09:00", note="补记")
    assert "该应急事件已结案归档，不能再修改。" in late.content.decode()
    assert emergency.steps.count() == 3


def test_the_village_board_shows_the_open_items(client_for, users, elder):
    emergency = raise_one(users, elder)
    needs.raise_need(acting_user=users["liaison_a"], elder=elder, need_type="meals", source="phone")
    hazards.raise_hazard(
        acting_user=users["liaison_a"], elder=elder, item="gas", description="漏气"
    )

    board = client_for("liaison_a").get("/care/")
    items = board.context["items"]
    assert [len(items.needs), len(items.hazards), len(items.emergencies)] == [1, 1, 1]
    text = board.content.decode()
    assert f"/care/emergencies/{emergency.pk}/" in text
    assert "尚未落实帮扶措施" in text
    assert "尚未提醒" in text
    assert "/care/" in client_for("liaison_a").get("/visits/board/").content.decode()

    township = client_for("township_a").get("/care/")
    assert "items" not in township.context
    assert f"/care/board/{VILLAGE_A}/" in township.content.decode()
    assert client_for("township_a").get(f"/care/board/{VILLAGE_A}/").context["items"].emergencies
    assert client_for("township_b").get(f"/care/board/{VILLAGE_A}/").status_code == 404
    assert client_for("visitor_a").get("/care/").status_code == 403


def test_the_list_filters_by_state(client_for, users, elder):
    raise_one(users, elder)
    client = client_for("county")

    assert len(client.get("/care/emergencies/").context["rows"]) == 1
    assert client.get("/care/emergencies/", {"state": "closed"}).context["rows"] == []
    assert client.get("/care/emergencies/", {"kind": "fire"}).context["rows"] == []
    assert client.get("/care/emergencies/", {"state": "nonsense"}).context["rows"] == []


def test_a_step_typed_in_the_minute_the_emergency_was_raised_is_taken(
    client_for, users, elder, time_machine
):
    """The form's time is to the minute; an emergency raised "now" has seconds."""
    time_machine.move_to(aware(2026, 11, 23, 9, 41, 30), tick=False)
    emergency = emergencies.raise_emergency(
        acting_user=users["liaison_a"], elder=elder, kind="fall", source="phone", description="跌倒"
    )
    client = client_for("visitor_a")

    assert (
        step(client, emergency, kind="help_called", at="2026-11-23T09:41", number="120").status_code
        == 302
    )
    assert emergency.steps.get().at == aware(2026, 11, 23, 9, 41, 30)
    refused = step(client, emergency, kind="help_called", at="2026-11-23T09:40", number="120")
    assert "处置时间不能早于事件发生(报告)时间。" in refused.content.decode()


def contact_of(elder, name: str, phone: str, *, first: bool = False, **fields) -> EmergencyContact:
    return EmergencyContact.objects.create(
        elder=elder,
        name=name,
        relation=fields.pop("relation", "儿子"),
        phone_token=crypto.encrypt(phone),
        phone_hash=crypto.lookup_hash(phone, kind="phone"),
        first_contact=first,
        **fields,
    )


def test_an_open_emergency_offers_the_emergency_numbers_and_the_family_to_call(
    client_for, users, elder
):
    # 001_35a01bee4c628ebd.txt 二(五)1: 第一时间协助拨打紧急求助电话，帮助联系其家庭成员
    # 或者其他紧急联系人.
    emergency = raise_one(users, elder)
    son = contact_of(elder, "王强", "13812345678")
    niece = contact_of(elder, "王芳", "13900001111", first=True, relation="侄女")
    contact_of(elder, "旧号码", "13700002222", active=False)

    html = client_for("visitor_a").get(f"/care/emergencies/{emergency.pk}/").content.decode()

    assert 'href="tel:120"' in html and 'href="tel:119"' in html and 'href="tel:110"' in html
    # Raised at 8:00, now 10:00: its age in hours, not "0 days".
    assert "2\xa0小时前" in html
    # The first contact first, phones masked, the inactive one left out.
    assert html.index("侄女 王芳") < html.index("儿子 王强")
    assert f"/care/emergencies/{emergency.pk}/call/{niece.pk}/" in html
    assert f"/care/emergencies/{emergency.pk}/call/{son.pk}/" in html
    assert "13812345678" not in html and "138****5678" in html
    assert "旧号码" not in html


def test_calling_a_contact_dials_the_whole_number_and_is_audited(client_for, users, elder):
    emergency = raise_one(users, elder)
    son = contact_of(elder, "王强", "13812345678")

    response = client_for("visitor_a").get(f"/care/emergencies/{emergency.pk}/call/{son.pk}/")

    assert response.status_code == 302
    assert response["Location"] == "tel:13812345678"
    assert "no-store" in response["Cache-Control"]
    entry = AuditEvent.objects.get(action=Action.ELDER_REVEALED)
    assert entry.actor == users["visitor_a"]
    assert entry.detail == {
        "field": "emergency_contact_phone",
        "contact": son.pk,
        "purpose": "emergency",
        "emergency": emergency.pk,
    }


def test_no_call_from_a_closed_emergency_or_to_another_elders_contact(
    client_for, users, elder, regions
):
    emergency = raise_one(users, elder)
    other = make_elder(users, regions, 7)
    stranger = contact_of(other, "陌生人", "13600003333")
    client = client_for("visitor_a")

    assert client.get(f"/care/emergencies/{emergency.pk}/call/{stranger.pk}/").status_code == 404
    son = contact_of(elder, "王强", "13812345678")
    assert (
        client_for("township_b").get(f"/care/emergencies/{emergency.pk}/call/{son.pk}/").status_code
        == 404
    )
    assert (
        client_for("supervisor").get(f"/care/emergencies/{emergency.pk}/call/{son.pk}/").status_code
        == 403
    )
    Emergency.objects.filter(pk=emergency.pk).update(closed_at=aware(2026, 11, 23, 9, 0))
    response = client.get(f"/care/emergencies/{emergency.pk}/call/{son.pk}/")
    assert response["Location"] == f"/care/emergencies/{emergency.pk}/"
    assert not AuditEvent.objects.filter(action=Action.ELDER_REVEALED).exists()
    assert "tel:120" not in client.get(f"/care/emergencies/{emergency.pk}/").content.decode()
