"""The "重大变故" section of the elder's file (/elders/<id>/): the entries in
Beijing time with who recorded them, withdrawn ones struck through with the
reason; the form to record one (/elders/<id>/life-events/) and to withdraw one
(…/life-events/<id>/withdraw/). And the new health fact on the file's pages."""

from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tanfang.audit.models import Action, AuditEvent
from tanfang.registry.actions import change_status
from tanfang.registry.identity import make_id_number
from tanfang.registry.life_events import record_life_event, withdraw_life_event
from tanfang.registry.models import Elder, LifeEvent
from tanfang.registry.registration import register_elder
from tests.conftest import VILLAGE_A, aware

NOW = aware(2026, 11, 23, 10, 0)


@pytest.fixture(autouse=True)
def frozen(time_machine):
    time_machine.move_to(NOW, tick=False)


def make_elder(users, regions, sequence=1):
    return register_elder(
        acting_user=users["liaison_a"],
        id_number=make_id_number("350581", date(1940, 3, 8), sequence, "女"),
        name=f"林阿婆{sequence}",
        village=regions[VILLAGE_A],
    )


@pytest.fixture
def elder(users, regions):
    return make_elder(users, regions)


def file_url(elder):
    return f"/elders/{elder.pk}/"


def new_url(elder):
    return f"/elders/{elder.pk}/life-events/"


def withdraw_url(elder, event):
    return f"/elders/{elder.pk}/life-events/{event.pk}/withdraw/"


def record(users, elder, user="liaison_a", **overrides):
    arguments = {
        "acting_user": users[user],
        "elder": elder,
        "change": "fell",
        "occurred_at": aware(2026, 11, 23, 8, 30),
    }
    arguments.update(overrides)
    return record_life_event(**arguments)


def form_data(**overrides):
    data = {
        "change": "fell",
        "occurred_at": "2026-11-23T08:30",
        "source": "visit",
        "note": "在卫生间跌倒",
    }
    data.update(overrides)
    return data


def section_of(response):
    html = response.content.decode()
    start = html.index('id="life-events"')
    return html[start : html.index("</section>", start)]


# --- The section on the file -------------------------------------------------------------


def test_it_lists_the_entries_in_beijing_time_with_who_recorded_them(client_for, users, elder):
    record(users, elder, note="夜间起床跌倒", source="visit", user="visitor_a")
    record(users, elder, change="hospitalised", occurred_at=aware(2026, 11, 23, 9, 15))

    response = client_for("liaison_a").get(file_url(elder))

    assert response.status_code == 200
    section = section_of(response)
    assert "<h2>重大变故</h2>" in section
    assert "<strong>跌倒</strong>" in section and "<strong>住院</strong>" in section
    # Stored in UTC (00:30), shown in Beijing time.
    assert "2026-11-23 08:30" in section and "2026-11-23 09:15" in section
    assert "夜间起床跌倒" in section
    assert "探访发现 · visitor_a 于 2026-11-23 10:00 登记" in section
    assert "档案登记 · liaison_a" in section
    assert section.index("住院") < section.index("跌倒")  # newest first


def test_it_strikes_through_a_withdrawn_entry_with_the_reason(client_for, users, elder):
    event = record(users, elder)
    withdraw_life_event(acting_user=users["township_a"], event=event, reason="登记错了老人")

    section = section_of(client_for("liaison_a").get(file_url(elder)))

    assert "<del><strong>跌倒</strong>" in section
    assert "已撤销" in section
    assert "township_a 于 2026-11-23 10:00 撤销，原因：登记错了老人" in section
    assert withdraw_url(elder, event) not in section


def test_it_says_when_nothing_is_recorded(client_for, elder):
    section = section_of(client_for("liaison_a").get(file_url(elder)))

    assert "未登记重大变故。" in section


@pytest.mark.parametrize("user", ["liaison_a", "visitor_a", "township_a", "county"])
def test_it_offers_the_form_to_those_who_may_record(client_for, users, elder, user, cover):
    cover(elder)  # a visitor's own elders (包干)
    record(users, elder)

    section = section_of(client_for(user).get(file_url(elder)))

    assert f'action="{new_url(elder)}"' in section
    assert 'name="change"' in section and 'type="datetime-local"' in section
    assert 'value="2026-11-23T10:00"' in section  # now, in Beijing time
    assert 'name="note"' in section
    event = LifeEvent.objects.get()
    # Withdrawing changes the file: the liaison and officers, not the visitor (issue 16).
    assert (withdraw_url(elder, event) in section) == (user != "visitor_a")


def test_it_only_shows_the_entries_to_a_supervisor(client_for, users, elder):
    event = record(users, elder)

    section = section_of(client_for("supervisor").get(file_url(elder)))

    assert "<strong>跌倒</strong>" in section
    assert new_url(elder) not in section
    assert withdraw_url(elder, event) not in section


def test_it_offers_no_form_on_a_file_no_longer_active(client_for, users, elder):
    change_status(
        acting_user=users["liaison_a"],
        elder=elder,
        to_status="deceased",
        effective_on=date(2026, 11, 22),
        reason="病逝",
    )

    section = section_of(client_for("liaison_a").get(file_url(elder)))

    assert new_url(elder) not in section


def test_it_reads_the_section_with_the_same_number_of_queries_whatever_the_entries(
    client_for, users, regions
):
    one, many = make_elder(users, regions, 1), make_elder(users, regions, 2)
    record(users, one)
    for hour in range(1, 6):
        event = record(users, many, occurred_at=aware(2026, 11, 20, hour, 0))
        if hour % 2:
            withdraw_life_event(acting_user=users["township_a"], event=event, reason="登记错了")
    client = client_for("liaison_a")
    client.get(file_url(one))  # the first request of a session reads more

    counts = []
    for elder in (one, many):
        with CaptureQueriesContext(connection) as captured:
            assert client.get(file_url(elder)).status_code == 200
        counts.append(len(captured))
        assert any("registry_lifeevent" in q["sql"] for q in captured.captured_queries)

    assert counts[0] == counts[1]


# --- Recording from the page -----------------------------------------------------------------


def test_it_records_from_the_page_and_goes_back_to_the_section(client_for, users, elder, cover):
    cover(elder)
    client = client_for("visitor_a")

    response = client.post(new_url(elder), form_data())

    assert response.status_code == 302
    assert response["Location"] == f"/elders/{elder.pk}/#life-events"
    event = LifeEvent.objects.get()
    assert (event.elder, event.change, event.source, event.note) == (
        elder,
        "fell",
        "visit",
        "在卫生间跌倒",
    )
    assert event.occurred_at == aware(2026, 11, 23, 8, 30)
    assert event.recorded_by == users["visitor_a"]
    assert AuditEvent.objects.filter(action=Action.LIFE_EVENT_RECORDED).count() == 1
    page = client.get(response["Location"]).content.decode()
    assert "已登记重大变故：跌倒（2026-11-23 08:30）。" in page


def test_it_records_nothing_more_for_a_double_tap(client_for, elder):
    client = client_for("liaison_a")
    client.post(new_url(elder), form_data())

    response = client.post(new_url(elder), form_data(), follow=True)

    assert response.status_code == 200
    assert LifeEvent.objects.count() == 1
    assert "该变故已登记过（2026-11-23 08:30），未重复登记。" in response.content.decode()
    assert AuditEvent.objects.filter(action=Action.LIFE_EVENT_RECORDED).count() == 1


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"occurred_at": "2026-11-23T10:06"}, "发生时间不能晚于现在。"),
        ({"occurred_at": "1930-01-01T09:00"}, "发生时间不能早于出生日期。"),
        ({"occurred_at": "昨天"}, "请填写有效的时间。"),
        ({"change": "stroke"}, "变故：选择一个有效的选项。 stroke 不在可用的选项中。"),
        ({"note": "跌\x01倒"}, "说明含有无法保存的控制字符，请删除后重新填写。"),
    ],
)
def test_it_shows_a_refusal_next_to_the_field_and_stores_nothing(
    client_for, elder, overrides, message
):
    response = client_for("liaison_a").post(new_url(elder), form_data(**overrides))

    assert response.status_code == 200
    html = response.content.decode()
    assert "请按提示修改标红的项目，尚未保存。" in html
    assert message in html
    assert not LifeEvent.objects.exists()


def test_it_shows_the_form_on_a_page_of_its_own(client_for, elder, cover):
    cover(elder)
    response = client_for("visitor_a").get(new_url(elder))

    assert response.status_code == 200
    html = response.content.decode()
    assert "登记重大变故：林阿婆1" in html
    assert 'value="2026-11-23T10:00"' in html
    for value, label in [
        ("fell", "跌倒"),
        ("hospitalised", "住院"),
        ("bereaved", "丧偶或亲人离世"),
    ]:
        assert f'<option value="{value}">{label}</option>' in html


def test_it_answers_404_to_a_liaison_of_another_village(client_for, elder):
    client = client_for("liaison_b")

    assert client.get(new_url(elder)).status_code == 404
    assert client.post(new_url(elder), form_data()).status_code == 404
    assert not LifeEvent.objects.exists()


def test_it_refuses_a_supervisor(client_for, elder):
    response = client_for("supervisor").post(new_url(elder), form_data())

    assert response.status_code == 403
    assert not LifeEvent.objects.exists()


# --- Withdrawing from the page -------------------------------------------------------------


def test_it_withdraws_from_the_page_with_the_reason(client_for, users, elder):
    event = record(users, elder)

    response = client_for("liaison_a").post(withdraw_url(elder, event), {"reason": "登记错了"})

    assert response.status_code == 302
    assert response["Location"] == f"/elders/{elder.pk}/#life-events"
    event.refresh_from_db()
    assert (event.withdrawn_by, event.withdraw_reason) == (users["liaison_a"], "登记错了")
    assert AuditEvent.objects.filter(action=Action.LIFE_EVENT_WITHDRAWN).count() == 1


def test_it_asks_for_the_reason_before_withdrawing(client_for, users, elder):
    event = record(users, elder)

    response = client_for("liaison_a").post(withdraw_url(elder, event), {"reason": " "})

    assert response.status_code == 200
    assert "请填写撤销原因。" in response.content.decode()
    event.refresh_from_db()
    assert event.withdrawn_at is None


def test_it_shows_a_withdrawn_entry_without_the_form(client_for, users, elder):
    event = record(users, elder)
    withdraw_life_event(acting_user=users["liaison_a"], event=event, reason="登记错了")

    response = client_for("township_a").post(withdraw_url(elder, event), {"reason": "再撤一次"})

    assert response.status_code == 200
    html = response.content.decode()
    assert "该记录已由 liaison_a 于 2026-11-23 10:00 撤销，原因：登记错了" in html
    assert 'name="reason"' not in html
    event.refresh_from_db()
    assert event.withdraw_reason == "登记错了"
    assert AuditEvent.objects.filter(action=Action.LIFE_EVENT_WITHDRAWN).count() == 1


def test_it_answers_404_for_an_entry_of_another_elder(client_for, users, regions, elder):
    other = make_elder(users, regions, 2)
    event = record(users, other)

    response = client_for("liaison_a").post(withdraw_url(elder, event), {"reason": "登记错了"})

    assert response.status_code == 404
    event.refresh_from_db()
    assert event.withdrawn_at is None


def test_it_answers_404_to_a_liaison_of_another_village_withdrawing(client_for, users, elder):
    event = record(users, elder)

    response = client_for("liaison_b").post(withdraw_url(elder, event), {"reason": "登记错了"})

    assert response.status_code == 404
    event.refresh_from_db()
    assert event.withdrawn_at is None


# --- The new health fact ----------------------------------------------------------------------


def test_it_edits_and_shows_the_life_threatening_illness_in_the_health_section(client_for, elder):
    client = client_for("liaison_a")

    response = client.post(
        f"/elders/{elder.pk}/edit/health/",
        {"ability": "", "disability_grade": "", "life_threatening_illness": "on"},
    )

    assert response.status_code == 302
    assert Elder.objects.get(pk=elder.pk).life_threatening_illness is True
    page = client.get(file_url(elder)).content.decode()
    assert "<dt>患有可能危及生命的慢性病</dt><dd>是</dd>" in page


def test_it_asks_for_the_life_threatening_illness_at_registration(client_for, regions):
    client = client_for("liaison_a")
    assert 'name="life_threatening_illness"' in client.get("/elders/new/").content.decode()

    response = client.post(
        "/elders/new/",
        {
            "name": "蔡阿伯",
            "id_number": make_id_number("350581", date(1938, 5, 2), 21, "男"),
            "village": VILLAGE_A,
            "life_threatening_illness": "on",
            "consents_to_visits": "on",
            "categories": ["独居"],
        },
    )

    assert response.status_code == 302
    assert Elder.objects.get().life_threatening_illness is True
