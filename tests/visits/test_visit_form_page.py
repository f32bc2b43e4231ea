"""The visit form (/visits/new/<elder_id>/) and its check (/visits/check/<elder_id>/):
built from the elder's form definition, posted to `record_visit`, errors in
Chinese beside the fields with what was typed kept, a double submit of one UUID
storing one visit, and the "不计入" warning before saving.

The clock stands on 2026-11-23 10:00; the key elder (中度以上失能, 石狮) owes a
home visit in the half month 16–30 November.
"""

import re
import uuid
from datetime import date

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tanfang.audit.models import Action, AuditEvent
from tanfang.jurisdiction.models import PolicyChoice
from tanfang.registry.models import Elder, Status
from tanfang.visits import checklist, checklist_schema
from tanfang.visits.actions import checklist_for
from tanfang.visits.models import Visit, VisitTask
from tests.conftest import COUNTY, VILLAGE_B, aware
from tests.visits.factories import PNG, assign, follow_shishi, make_elder, make_task, make_visitor

FORM_UUID = "8f0c6a9e-2d1b-4c3a-9e7f-0a1b2c3d4e5f"


@pytest.fixture(autouse=True)
def frozen(time_machine):
    time_machine.move_to(aware(2026, 11, 23, 10, 0), tick=False)


@pytest.fixture
def setting(users, regions):
    follow_shishi(users)
    elder = make_elder(users, regions, ability="severe")
    VisitTask.objects.filter(elder=elder).delete()
    visitor = make_visitor(users, regions)
    assign(users, elder, visitor)
    # 000_4970ff49482a0570.txt 四(二): 重点对象每半月至少上门探访1次.
    task = make_task(elder, date(2026, 11, 16), date(2026, 11, 30))
    return {"elder": elder, "visitor": visitor, "task": task}


def good_answers(definition: checklist.Checklist) -> dict[str, str]:
    """Every item of the form answered with its first option that is neither bad
    nor asks for a detail (无变化, 安全, ...): the page's field names."""
    answers = {}
    for item in definition.items():
        name = f"answer_{item.key}"
        if item.kind == checklist_schema.Kind.TEXT:
            answers[name] = "无"
        elif item.kind == checklist_schema.Kind.NEED:
            answers[name] = "no"
        else:
            answers[name] = next(
                o.value for o in item.options if not o.bad and o.value not in item.detail_options
            )
    return answers


def stored_answers(definition: checklist.Checklist) -> dict[str, object]:
    """`good_answers` as `record_visit` stores them (checklist.py's docstring)."""
    stored: dict[str, object] = {}
    for name, value in good_answers(definition).items():
        item = definition.item(name.removeprefix("answer_"))
        if item.kind == checklist_schema.Kind.CHOICE_TEXT:
            stored[item.key] = {"value": value, "detail": None}
        elif item.kind == checklist_schema.Kind.CHOICE_COUNT:
            stored[item.key] = {"value": value, "count": None}
        elif item.kind == checklist_schema.Kind.NEED:
            stored[item.key] = {"needed": False, "met": None}
        else:
            stored[item.key] = value
    return stored


def posted(setting, **overrides):
    definition = checklist_for(setting["elder"])
    data = {
        "uuid": FORM_UUID,
        "mode": "home",
        "visited_at": "2026-11-23T09:30",
        "visitors": [setting["visitor"].pk],
        "visitor_signature": PNG,
        "elder_signature": PNG,
        "started_at": "2026-11-23T01:10:00.000Z",
        "latitude": "24.731234",
        "longitude": "118.654321",
        "location_accuracy": "12",
        **good_answers(definition),
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def url(elder):
    return f"/visits/new/{elder.pk}/"


# --- The page -------------------------------------------------------------------------


def test_it_builds_the_form_from_the_elders_checklist(client_for, setting):
    response = client_for("visitor_a").get(url(setting["elder"]))

    assert response.status_code == 200
    text = response.content.decode()
    definition = checklist_for(setting["elder"])
    assert definition.title in text
    for item in definition.items():
        assert item.label in text
        assert f'name="answer_{item.key}"' in text
    for _, label in definition.modes:
        assert label in text
    # The bad answers are marked (FORMS.md: 较差/不安全).
    unsafe = re.search(r'<label class="opt bad">[^<]*<input[^>]*value="unsafe"', text)
    assert unsafe, "不安全 is marked as a bad answer"
    assert 'name="visitor_signature"' in text and 'name="elder_signature"' in text


def test_it_preselects_the_signed_in_visitor_and_makes_a_uuid(client_for, setting):
    response = client_for("visitor_a").get(url(setting["elder"]))

    form = response.context["form"]
    assert form["visitors"].value() == [setting["visitor"].pk]
    assert re.search(
        rf'<input type="checkbox" name="visitors" value="{setting["visitor"].pk}"[^>]*checked',
        response.content.decode(),
    )
    made = form["uuid"].value()
    assert uuid.UUID(str(made))
    again = client_for("visitor_a").get(url(setting["elder"])).context["form"]["uuid"].value()
    assert again != made


def test_it_offers_a_photo_only_where_the_elder_consented(client_for, setting):
    elder = setting["elder"]
    assert 'name="photo"' not in client_for("visitor_a").get(url(elder)).content.decode()

    Elder.objects.filter(pk=elder.pk).update(consents_to_photos=True)

    assert 'name="photo"' in client_for("visitor_a").get(url(elder)).content.decode()


def test_it_starts_with_a_phone_visit_for_an_elder_who_declined_home_visits(client_for, setting):
    # 004_1657df0ed1e05604.txt 二(四): 入户探访须征得老年人或赡养人同意.
    Elder.objects.filter(pk=setting["elder"].pk).update(consents_to_home_visits=False)

    response = client_for("visitor_a").get(url(setting["elder"]))

    assert response.context["form"]["mode"].value() == "phone"
    assert "老人未同意入户探访" in response.content.decode()


def test_it_shows_that_a_phone_visit_to_a_key_elder_will_not_count(client_for, setting):
    elder = setting["elder"]

    response = client_for("visitor_a").get(
        f"/visits/check/{elder.pk}/", {"mode": "phone", "visited_at": "2026-11-23T09:30"}
    )

    assert response.status_code == 200
    text = response.content.decode()
    assert "不计入" in text
    assert f"该老人为{elder.tier_label}，电话探访不计入" in text


def test_it_shows_which_task_a_home_visit_completes(client_for, setting):
    response = client_for("visitor_a").get(
        f"/visits/check/{setting['elder'].pk}/", {"mode": "home", "visited_at": "2026-11-23T09:30"}
    )

    assert "计入：本次探访将完成“半月上门探访”" in response.content.decode()


def test_it_warns_before_saving_a_home_visit_the_elder_did_not_agree_to(client_for, setting):
    Elder.objects.filter(pk=setting["elder"].pk).update(consents_to_home_visits=False)

    response = client_for("visitor_a").get(
        f"/visits/check/{setting['elder'].pk}/", {"mode": "home"}
    )

    assert "该老人未同意入户探访" in response.content.decode()


def test_it_asks_for_a_mode_and_notices_a_time_in_the_future(client_for, setting):
    response = client_for("visitor_a").get(
        f"/visits/check/{setting['elder'].pk}/", {"visited_at": "2026-11-25T09:30"}
    )

    text = response.content.decode()
    assert "选择探访方式后" in text
    assert "探访时间不能晚于现在" in text


def test_it_shows_the_check_for_the_first_mode_on_the_page(client_for, setting):
    response = client_for("visitor_a").get(url(setting["elder"]))

    assert "计入：本次探访将完成“半月上门探访”" in response.content.decode()


@pytest.mark.parametrize("username", ["supervisor", "sysadmin"])
def test_it_refuses_a_role_that_does_not_record_visits(client_for, setting, username):
    assert client_for(username).get(url(setting["elder"])).status_code == 403
    assert client_for(username).get(f"/visits/check/{setting['elder'].pk}/").status_code == 403


def test_it_answers_404_for_an_elder_of_another_village(client_for, users, regions, setting):
    elder = make_elder(users, regions, 2, village=VILLAGE_B)

    for username in ("visitor_a", "liaison_a"):
        client = client_for(username)
        assert client.get(url(elder)).status_code == 404
        assert client.post(url(elder), posted(setting)).status_code == 404
        assert client.get(f"/visits/check/{elder.pk}/?mode=home").status_code == 404
    assert not Visit.objects.exists()


def test_it_says_a_file_no_longer_active_takes_no_visit(client_for, setting):
    Elder.objects.filter(pk=setting["elder"].pk).update(status=Status.DECEASED)

    response = client_for("visitor_a").post(url(setting["elder"]), posted(setting))

    assert response.status_code == 200
    assert "不能录入探访记录" in response.content.decode()
    assert not Visit.objects.exists()


# --- Saving -----------------------------------------------------------------------------


def test_it_stores_the_visit_completes_the_task_and_shows_the_next_elder(client_for, setting):
    client = client_for("visitor_a")
    response = client.post(url(setting["elder"]), posted(setting))

    visit = Visit.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/visits/?saved={visit.pk}"
    assert visit.uuid == uuid.UUID(FORM_UUID)
    assert (visit.mode, visit.sequence, visit.counted) == ("home", 1, True)
    assert visit.visited_at == aware(2026, 11, 23, 9, 30)
    assert list(visit.visitors.all()) == [setting["visitor"]]
    assert visit.answers == stored_answers(checklist_for(setting["elder"]))
    assert visit.visitor_signature == PNG and visit.elder_signature == PNG
    assert visit.started_at == aware(2026, 11, 23, 9, 10)
    assert str(visit.latitude) == "24.731234"
    assert visit.location_accuracy == 12
    task = VisitTask.objects.get(pk=setting["task"].pk)
    assert task.done_by_visit == visit
    event = AuditEvent.objects.get(action=Action.VISIT_RECORDED)
    assert event.actor.username == "visitor_a"

    page = client.get(response["Location"]).content.decode()
    assert "已保存老人1的第1次探访记录。" in page
    assert "已完成：半月上门探访" in page


def test_a_second_post_of_the_same_uuid_stores_nothing_more(client_for, setting):
    client = client_for("visitor_a")
    first = client.post(url(setting["elder"]), posted(setting))
    again = client.post(url(setting["elder"]), posted(setting))

    assert again.status_code == 302
    assert again["Location"] == first["Location"]
    assert Visit.objects.count() == 1
    assert AuditEvent.objects.filter(action=Action.VISIT_RECORDED).count() == 1
    assert "未重复保存" in client.get(again["Location"]).content.decode()


def test_the_same_uuid_with_other_content_changes_nothing_and_says_so(client_for, setting):
    client = client_for("visitor_a")
    client.post(url(setting["elder"]), posted(setting))

    response = client.post(url(setting["elder"]), posted(setting, services_given="送去大米一袋"))

    assert response.status_code == 409
    text = response.content.decode()
    assert "这份表单已经保存过（老人1第1次探访）" in text
    assert "未作任何修改" in text
    assert response.context["form"]["uuid"].value() != FORM_UUID
    assert Visit.objects.get().services_given == ""


def test_a_liaison_records_a_visit_on_a_visitors_behalf(client_for, setting):
    response = client_for("liaison_a").post(url(setting["elder"]), posted(setting))

    visit = Visit.objects.get()
    assert response["Location"] == f"/visits/{visit.pk}/?saved=1"
    assert visit.recorded_by.username == "liaison_a"
    assert list(visit.visitors.all()) == [setting["visitor"]]


def test_it_records_a_refusal_without_the_checklist(client_for, setting):
    data = posted(setting, refused="on", visitor_signature="", elder_signature="")
    for name in list(data):
        if name.startswith("answer_"):
            data[name] = "maybe"  # ignored: nothing was checked

    response = client_for("visitor_a").post(url(setting["elder"]), data)

    assert response.status_code == 302
    visit = Visit.objects.get()
    assert visit.refused and not visit.counted
    assert visit.answers == {}
    assert VisitTask.objects.get(pk=setting["task"].pk).done_at is None


def test_it_stores_the_needs_found(client_for, setting):
    data = posted(setting, need_meals="on", need_meals_met="no", need_meals_note="不会做饭")

    client_for("visitor_a").post(url(setting["elder"]), data)

    visit = Visit.objects.get()
    assert visit.needs_found == [{"type": "meals", "met": False, "note": "不会做饭"}]
    assert visit.needs.get().need_type == "meals"


def test_it_stores_a_photo_where_the_elder_consented(client_for, setting, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    Elder.objects.filter(pk=setting["elder"].pk).update(consents_to_photos=True)
    photo = SimpleUploadedFile("IMG_0001.jpg", b"\xff\xd8\xff\xe0" + b"0" * 64, "image/jpeg")

    client_for("visitor_a").post(url(setting["elder"]), {**posted(setting), "photo": photo})

    assert Visit.objects.get().photo.name.endswith(".jpg")


# --- Refused input --------------------------------------------------------------------


def test_an_answer_outside_the_option_set_is_refused_beside_the_item(client_for, setting):
    definition = checklist_for(setting["elder"])
    item = next(i for i in definition.items() if i.hazard)
    data = posted(setting, **{f"answer_{item.key}": "maybe"}, services_given="送去大米一袋")

    response = client_for("visitor_a").post(url(setting["elder"]), data)

    assert response.status_code == 200
    errors = response.context["form"].errors[f"answer_{item.key}"]
    assert errors == [f"{item.label}：“maybe”不是可选项，应为 {item.option_labels()}之一。"]
    text = response.content.decode()
    assert "探访记录尚未保存" in text
    assert f'class="item invalid" id="item-{item.key}"' in text
    # The box at the top links to the item, which may be far down the phone's screen.
    assert f'<a href="#item-{item.key}">{item.label}</a>' in text
    # What was typed is kept, the UUID too: nothing was stored.
    assert "送去大米一袋" in text
    assert response.context["form"]["uuid"].value() == FORM_UUID
    assert not Visit.objects.exists()
    assert VisitTask.objects.get(pk=setting["task"].pk).done_at is None


def test_a_required_item_left_empty_is_named(client_for, setting):
    definition = checklist_for(setting["elder"])
    item = next(i for i in definition.items() if i.required)

    response = client_for("visitor_a").post(
        url(setting["elder"]), posted(setting, **{f"answer_{item.key}": None})
    )

    assert f"{item.label}：必须填写。" in response.content.decode()
    assert not Visit.objects.exists()


def test_a_missing_signature_is_asked_for_beside_the_pad(client_for, setting):
    response = client_for("visitor_a").post(
        url(setting["elder"]), posted(setting, elder_signature="")
    )

    assert response.context["form"].errors["elder_signature"] == ["请在屏幕上签名：被探访人签字。"]
    # The signature already drawn is kept for the pad to show again.
    assert response.context["form"]["visitor_signature"].value() == PNG
    assert not Visit.objects.exists()


def test_a_home_visit_the_elder_did_not_agree_to_is_refused(client_for, setting):
    Elder.objects.filter(pk=setting["elder"].pk).update(consents_to_home_visits=False)

    response = client_for("visitor_a").post(url(setting["elder"]), posted(setting))

    assert "该老人未同意入户探访" in response.context["form"].errors["mode"][0]
    assert not Visit.objects.exists()


def test_a_time_that_cannot_be_read_is_named_with_the_checklist_errors(client_for, setting):
    definition = checklist_for(setting["elder"])
    item = next(i for i in definition.items() if i.required)

    response = client_for("visitor_a").post(
        url(setting["elder"]),
        posted(setting, visited_at="昨天", **{f"answer_{item.key}": None}),
    )

    errors = response.context["form"].errors
    assert errors["visited_at"] == ["请填写正确的探访日期和时间。"]
    assert errors[f"answer_{item.key}"] == [f"{item.label}：必须填写。"]
    assert not Visit.objects.exists()


def test_a_visit_in_the_future_is_refused(client_for, setting):
    response = client_for("visitor_a").post(
        url(setting["elder"]), posted(setting, visited_at="2026-11-24T09:30")
    )

    assert response.context["form"].errors["visited_at"] == ["探访时间不能晚于现在。"]
    assert not Visit.objects.exists()


def test_a_need_without_whether_it_was_met_is_named(client_for, setting):
    response = client_for("visitor_a").post(url(setting["elder"]), posted(setting, need_meals="on"))

    assert "请选择是否已满足" in response.content.decode()
    assert response.context["form"].needs_open()
    assert not Visit.objects.exists()


def test_a_location_off_the_globe_is_shown_at_the_top(client_for, setting):
    response = client_for("visitor_a").post(
        url(setting["elder"]), posted(setting, latitude="95.000000")
    )

    assert "纬度应在 -90 到 90 之间。" in response.context["form"].top_errors()
    assert not Visit.objects.exists()


def test_a_visitor_account_not_on_a_roster_is_told_so(client_for, users, regions, setting):
    setting["visitor"].user = None
    setting["visitor"].save()

    response = client_for("visitor_a").post(url(setting["elder"]), posted(setting))

    assert "您的账号尚未登记为探访人员" in response.content.decode()
    assert not Visit.objects.exists()


# --- Other provinces' forms (FORMS.md "Visit record") ----------------------------------


def follow(users, profile):
    PolicyChoice.objects.create(
        region_id=COUNTY, since=date(2023, 1, 1), profile=profile, changed_by=users["county"]
    )


@pytest.fixture
def elsewhere(users, regions):
    """An elder, a visitor and the form of the county's rules, before any choice."""

    def make(profile):
        follow(users, profile)
        elder = make_elder(users, regions, ability="severe")
        VisitTask.objects.filter(elder=elder).delete()
        visitor = make_visitor(users, regions)
        assign(users, elder, visitor)
        return {"elder": elder, "visitor": visitor}

    return make


def test_sichuans_form_asks_for_satisfaction_and_three_texts(client_for, elsewhere):
    # 001_35a01bee4c628ebd.txt 附件3: 关爱服务情况, 老年人服务需求, 实施关爱服务建议, 满意度评价.
    setting = elsewhere("sichuan")
    client = client_for("visitor_a")

    page = client.get(url(setting["elder"])).content.decode()

    for label in ("关爱服务情况", "老年人服务需求", "实施关爱服务建议", "老年人服务满意度评价"):
        assert label in page
    assert re.search(r'<label class="opt bad"><input[^>]*value="dissatisfied"', page)

    missing = client.post(url(setting["elder"]), posted(setting, suggestions="多陪老人聊天"))
    assert missing.context["form"].errors["satisfaction"] == ["请填写老年人服务满意度评价。"]
    assert "多陪老人聊天" in missing.content.decode()
    assert not Visit.objects.exists()

    client.post(
        url(setting["elder"]),
        posted(setting, satisfaction="satisfied", suggestions="多陪老人聊天"),
    )
    visit = Visit.objects.get()
    assert (visit.checklist, visit.satisfaction) == ("sichuan", "satisfied")
    assert visit.suggestions == "多陪老人聊天"


def test_linzis_form_asks_whether_each_need_is_met(client_for, elsewhere):
    # 003_fe235aaa23e67560.txt 附件2: 居家服务需求 □是 □否, 是否满足 □是 □否.
    setting = elsewhere("linzi")
    definition = checklist_for(setting["elder"])
    need = next(i for i in definition.items() if i.kind == checklist_schema.Kind.NEED)
    client = client_for("visitor_a")

    page = client.get(url(setting["elder"])).content.decode()
    assert need.label in page
    assert 'name="visitor_signature"' not in page  # Linzi's record is not signed

    unanswered = client.post(
        url(setting["elder"]),
        posted(setting, visitor_signature="", elder_signature="", **{f"answer_{need.key}": "yes"}),
    )
    assert unanswered.context["form"].errors[f"answer_{need.key}"] == [
        f"{need.label}：有此需求时须选择{need.detail_label}。"
    ]
    assert not Visit.objects.exists()

    client.post(
        url(setting["elder"]),
        posted(
            setting,
            visitor_signature="",
            elder_signature="",
            **{f"answer_{need.key}": "yes", f"answer_{need.key}_met": "no"},
        ),
    )
    visit = Visit.objects.get()
    assert visit.answers[need.key] == {"needed": True, "met": False}
    assert visit.needs.get().need_type == need.need_type


def test_it_says_a_refusal_does_not_count(client_for, setting):
    response = client_for("visitor_a").get(
        f"/visits/check/{setting['elder'].pk}/", {"mode": "home", "refused": "on"}
    )

    assert "老人拒绝探访：本次记录不计入探访要求。" in response.content.decode()
