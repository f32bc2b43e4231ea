"""The JSON API of the registry (/api/v1/): who may call it, which files each
user reaches, the list with its filters and a pinned number of queries, and
the file, masked. Writes are in test_api_register.py and test_api_update.py."""

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from django.contrib.auth import SESSION_KEY

from tanfang.accounts.models import User
from tanfang.audit.models import Action, AuditEvent
from tanfang.registry import crypto
from tanfang.registry.actions import change_status
from tanfang.registry.identity import make_id_number
from tanfang.registry.models import (
    AssistanceItem,
    Elder,
    EmergencyContact,
    HouseholdMember,
    Relation,
    StatusChange,
)
from tanfang.registry.registration import register_elder
from tests.conftest import (
    OTHER_VILLAGE,
    TOWNSHIP_B,
    VILLAGE_A,
    VILLAGE_B,
    aware,
)

TODAY = aware(2026, 11, 23, 10, 0)
API = "/api/v1"
LIST = f"{API}/elders"


@pytest.fixture(autouse=True)
def frozen(time_machine):
    time_machine.move_to(TODAY, tick=False)


def id_number(sequence: int, birth: date = date(1940, 3, 8), sex: str = "女") -> str:
    return make_id_number("350581", birth, sequence, sex)


def make_elder(users, regions, sequence, *, name=None, village=VILLAGE_A, **details):
    registrar = {VILLAGE_A: "liaison_a", VILLAGE_B: "liaison_b"}.get(village, "county_other")
    details.setdefault("phone", f"1381234{sequence:04d}")
    return register_elder(
        acting_user=users[registrar],
        id_number=id_number(sequence),
        name=name or f"老人{sequence:03d}",
        village=regions[village],
        **details,
    )


def file_url(elder: Elder) -> str:
    return f"{API}/elders/{elder.pk}"


def names(response) -> list[str]:
    return [item["name"] for item in response.json()["items"]]


def keys_in(value) -> set[str]:
    """Every key of a JSON document, however deep."""
    if isinstance(value, dict):
        return set(value) | {key for inner in value.values() for key in keys_in(inner)}
    if isinstance(value, list):
        return {key for inner in value for key in keys_in(inner)}
    return set()


@pytest.fixture
def lin(users, regions):
    return make_elder(
        users,
        regions,
        1,
        name="林阿婆",
        categories=["独居", "失能"],
        residence_address="凤里街道南洋路 18 号",
    )


@pytest.fixture
def two_villages(users, regions, lin):
    return lin, make_elder(users, regions, 2, name="陈阿公", village=VILLAGE_B, categories=["空巢"])


# Who may call it ------------------------------------------------------------------

# Every operation, with a body that would pass the schema, and the permission it
# needs. `elder` stands for the id of 林阿婆 of 村A.
OPERATIONS = [
    ("get", "/elders", None, "people.view"),
    ("post", "/elders", {"name": "x", "id_number": "x", "village": VILLAGE_A}, "elders.register"),
    ("get", "/elders/{elder}", None, "people.view"),
    ("patch", "/elders/{elder}", {"name": "林婆婆"}, "people.change"),
    (
        "post",
        "/elders/{elder}/status",
        {"to_status": "deceased", "effective_on": "2026-11-20", "reason": "病故"},
        "people.change",
    ),
    ("post", "/elders/{elder}/categories", {"categories": ["独居"]}, "people.change"),
    ("get", "/elders/{elder}/life-events", None, "people.view"),
    # visits.record or people.change: every role holding the second holds the first.
    (
        "post",
        "/elders/{elder}/life-events",
        {"change": "fell", "occurred_at": "2026-11-23T08:30:00+08:00"},
        "visits.record",
    ),
]
# Operations naming another object of the file, tested in their own modules.
FILE_PART_OPERATIONS = {
    ("post", "/elders/{elder}/life-events/{life_event_id}/withdraw"),  # test_life_event_api.py
}
# Operations of other routers, tested in their own modules (tests/policy/,
# tests/visits/, tests/care/test_care_api.py).
OTHER_OPERATIONS = {
    ("post", "/policy/evaluate"),
    ("get", "/rules/{code}"),
    ("post", "/rules"),
    ("get", "/visits"),
    ("post", "/visits"),
    ("get", "/visits/{visit_id}"),
    ("get", "/visits/form/{elder}"),
    ("get", "/visits/check/{elder}"),
    ("get", "/needs"),
    ("post", "/needs"),
    ("get", "/needs/{need_id}"),
    ("post", "/needs/{need_id}/measure"),
    ("post", "/needs/{need_id}/status"),
    ("post", "/needs/{need_id}/not-resolved"),
    ("get", "/hazards"),
    ("post", "/hazards"),
    ("get", "/hazards/{hazard_id}"),
    ("patch", "/hazards/{hazard_id}"),
    ("post", "/hazards/{hazard_id}/remind"),
    ("post", "/hazards/{hazard_id}/removed"),
    ("post", "/hazards/{hazard_id}/reopen"),
    ("get", "/emergencies"),
    ("post", "/emergencies"),
    ("get", "/emergencies/{emergency_id}"),
    ("post", "/emergencies/{emergency_id}/steps"),
    ("post", "/emergencies/{emergency_id}/close"),
}


def call(client, method, path, body, elder):
    url = API + path.format(elder=elder.pk)
    if body is None:
        return getattr(client, method)(url)
    return getattr(client, method)(url, body, content_type="application/json")


def test_it_lists_every_operation_of_the_openapi_document_here(client_for):
    document = client_for("liaison_a").get(f"{API}/openapi.json").json()

    found = {
        (method, path.removeprefix(API).replace("{elder_id}", "{elder}"))
        for path, operations in document["paths"].items()
        for method in operations
    }
    assert (
        found
        == {(method, path) for method, path, _, _ in OPERATIONS}
        | FILE_PART_OPERATIONS
        | OTHER_OPERATIONS
    )


@pytest.mark.parametrize(("method", "path", "body", "perm"), OPERATIONS)
def test_it_answers_401_in_json_to_an_anonymous_caller(client, lin, method, path, body, perm):
    elders, events = Elder.objects.count(), AuditEvent.objects.count()

    response = call(client, method, path, body, lin)

    assert response.status_code == 401
    assert response["Content-Type"].startswith("application/json")
    assert response.json() == {"detail": "请先登录。"}
    assert (Elder.objects.count(), AuditEvent.objects.count()) == (elders, events)


@pytest.mark.parametrize(("method", "path", "body", "perm"), OPERATIONS)
def test_it_refuses_a_role_without_the_permission_with_403_in_json(
    users, client_for, lin, method, path, body, perm, cover
):
    cover(lin)  # the visitor's own: refused by the permission, not by the scope
    lacking = {
        name: client_for(name) for name, user in users.items() if perm not in user.policy.perms
    }
    assert lacking
    before = (Elder.objects.count(), AuditEvent.objects.count(), StatusChange.objects.count())

    for username, client in lacking.items():
        response = call(client, method, path, body, lin)

        assert response.status_code == 403, username
        assert response.json() == {"detail": "您没有权限进行此操作。"}
    lin.refresh_from_db()
    assert lin.name == "林阿婆"
    after = (Elder.objects.count(), AuditEvent.objects.count(), StatusChange.objects.count())
    assert after == before


def test_it_lets_a_supervisor_read_but_not_write(client_for, lin):
    client = client_for("supervisor")

    assert client.get(LIST).status_code == 200
    assert client.get(file_url(lin)).json()["name"] == "林阿婆"
    assert client.patch(file_url(lin), {}, content_type="application/json").status_code == 403


def test_it_checks_the_permission_before_reading_the_body(client_for, lin):
    response = client_for("supervisor").post(LIST, {"nonsense": 1}, content_type="application/json")

    assert response.status_code == 403


def test_it_answers_401_when_the_session_was_idle_for_30_minutes(client_for, users, time_machine):
    client = client_for("township_a")
    time_machine.move_to(TODAY + timedelta(minutes=30), tick=False)

    response = client.get(LIST)

    assert response.status_code == 401
    assert response.json() == {"detail": "登录已超时，请重新登录。"}
    assert SESSION_KEY not in client.session
    event = AuditEvent.objects.get(action=Action.SESSION_EXPIRED)
    assert (event.actor, event.detail) == (users["township_a"], {"reason": "idle"})
    assert client.get(LIST).json() == {"detail": "请先登录。"}


def test_it_answers_401_after_8_hours_even_when_active(client_for, time_machine):
    client = client_for("liaison_a")
    for minutes in range(20, 8 * 60, 20):
        time_machine.move_to(TODAY + timedelta(minutes=minutes), tick=False)
        assert client.get(LIST).status_code == 200

    time_machine.move_to(TODAY + timedelta(hours=8), tick=False)
    response = client.get(LIST)

    assert response.status_code == 401
    assert response.json() == {"detail": "登录已超时，请重新登录。"}
    assert AuditEvent.objects.get(action=Action.SESSION_EXPIRED).detail == {"reason": "absolute"}


def test_it_answers_401_to_a_county_officer_without_the_second_factor(client_for, lin):
    response = client_for("county", verified=False).get(file_url(lin))

    assert response.status_code == 401
    assert response.json() == {"detail": "请先在网页上输入动态验证码。"}


def test_it_answers_403_to_an_officer_whose_password_expired(users, client_for, lin):
    User.objects.filter(pk=users["liaison_a"].pk).update(
        password_changed_at=TODAY - timedelta(days=90)
    )

    response = client_for("liaison_a").get(file_url(lin))

    assert response.status_code == 403
    assert response.json() == {"detail": "密码已过期或已被重置，请先在网页上设置新密码。"}


def test_it_keeps_answers_out_of_shared_caches(client_for, lin):
    response = client_for("liaison_a").get(file_url(lin))

    assert "no-store" in response["Cache-Control"]


# Whose files -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("username", "expected"),
    [
        # A visitor sees only the elders assigned to them: none here (with one,
        # test_it_shows_a_visitor_only_the_files_assigned_to_them).
        ("visitor_a", []),
        ("liaison_a", ["林阿婆"]),
        ("liaison_b", ["陈阿公"]),
        ("township_a", ["林阿婆"]),
        ("township_b", ["陈阿公"]),
        ("county", ["林阿婆", "陈阿公"]),
        ("supervisor", ["林阿婆", "陈阿公"]),
        ("county_other", []),
    ],
)
def test_it_lists_the_files_of_the_users_subtree_only(client_for, two_villages, username, expected):
    response = client_for(username).get(LIST)

    assert response.status_code == 200
    assert names(response) == expected
    assert response.json()["count"] == len(expected)


@pytest.mark.parametrize("username", ["liaison_b", "township_b", "county_other"])
@pytest.mark.parametrize(("method", "path", "body", "perm"), OPERATIONS[2:])
def test_it_answers_404_for_a_file_outside_the_users_subtree(
    client_for, lin, username, method, path, body, perm
):
    client = client_for(username)
    before = (AuditEvent.objects.count(), StatusChange.objects.count())

    response = call(client, method, path, body, lin)

    assert response.status_code == 404
    assert response.json() == {"detail": "未找到"}
    lin.refresh_from_db()
    assert (lin.name, lin.status) == ("林阿婆", "active")
    assert lin.categories.filter(withdrawn_at__isnull=True).count() == 2
    assert (AuditEvent.objects.count(), StatusChange.objects.count()) == before


def test_it_answers_404_before_reading_the_body(client_for, lin):
    response = client_for("liaison_b").patch(
        file_url(lin), {"no_such_field": 1}, content_type="application/json"
    )

    assert response.status_code == 404


def test_it_answers_the_same_404_for_a_file_that_does_not_exist(client_for, lin):
    response = client_for("county").get(f"{API}/elders/{lin.pk + 1000}")

    assert response.status_code == 404
    assert response.json() == {"detail": "未找到"}


def test_it_shows_a_visitor_only_the_files_assigned_to_them(client_for, lin, cover):
    client = client_for("visitor_a")
    assert client.get(file_url(lin)).status_code == 404

    cover(lin)

    assert client.get(file_url(lin)).json()["name"] == "林阿婆"
    assert names(client.get(LIST)) == ["林阿婆"]


# The list --------------------------------------------------------------------------


def test_it_lists_masked_id_and_phone_age_village_status_and_categories(client_for, lin):
    response = client_for("liaison_a").get(LIST)

    [item] = response.json()["items"]
    assert item == {
        "id": lin.pk,
        "name": "林阿婆",
        "sex": "女",
        "age": 86,
        "id_number": crypto.mask_id(id_number(1)),
        "phone": "138****0001",
        "village": {"code": VILLAGE_A, "name": "村A"},
        "status": "active",
        "categories": ["独居", "失能"],
        "quality_warnings": item["quality_warnings"],
    }
    body = response.content.decode()
    assert id_number(1) not in body
    assert "13812340001" not in body
    assert not {key for key in keys_in(response.json()) if key.endswith(("_token", "_hash"))}


def test_it_writes_nothing_when_listing_or_reading(client_for, lin):
    client = client_for("county")
    events = AuditEvent.objects.count()

    client.get(LIST)
    client.get(file_url(lin))

    assert AuditEvent.objects.count() == events


def test_it_searches_by_part_of_the_name(client_for, two_villages):
    assert names(client_for("county").get(LIST, {"q": "阿公"})) == ["陈阿公"]


def test_it_searches_by_the_last_four_of_the_id_number(client_for, two_villages):
    response = client_for("county").get(LIST, {"q": id_number(2)[-4:].lower()})

    assert names(response) == ["陈阿公"]


def test_it_searches_by_the_last_four_of_the_phone(client_for, two_villages):
    assert names(client_for("county").get(LIST, {"q": "0002"})) == ["陈阿公"]


def test_it_filters_by_a_region_of_the_subtree(client_for, two_villages):
    assert names(client_for("county").get(LIST, {"subtree": TOWNSHIP_B})) == ["陈阿公"]
    assert names(client_for("county").get(LIST, {"subtree": VILLAGE_A})) == ["林阿婆"]


@pytest.mark.parametrize("code", [TOWNSHIP_B, OTHER_VILLAGE, "123"])
def test_it_refuses_a_region_outside_the_subtree_as_a_filter(client_for, two_villages, code):
    response = client_for("township_a").get(LIST, {"subtree": code})

    assert response.status_code == 422
    assert response.json() == {
        "detail": [
            {
                "loc": ["query", "subtree"],
                "msg": "区划代码不存在或不在您的管辖范围内。",
                "type": "value_error",
            }
        ]
    }


def test_it_filters_by_category(client_for, two_villages):
    assert names(client_for("county").get(LIST, {"category": "空巢"})) == ["陈阿公"]
    assert names(client_for("county").get(LIST, {"category": ""})) == ["林阿婆", "陈阿公"]


def test_it_refuses_an_unknown_category_in_chinese(client_for, two_villages):
    response = client_for("county").get(LIST, {"category": "富裕"})

    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"] == ["query", "category"]
    assert error["msg"].startswith("应为以下之一：'孤寡', '独居'")


def test_it_lists_active_files_unless_told_otherwise(users, client_for, two_villages):
    lin, _ = two_villages
    change_status(
        acting_user=users["liaison_a"],
        elder=lin,
        to_status="deceased",
        effective_on=date(2026, 11, 20),
        reason="病故",
    )
    client = client_for("county")

    assert names(client.get(LIST)) == ["陈阿公"]
    assert names(client.get(LIST, {"status": "deceased"})) == ["林阿婆"]
    assert names(client.get(LIST, {"status": "all"})) == ["林阿婆", "陈阿公"]
    assert client.get(LIST, {"status": "gone"}).status_code == 422


def test_it_pages_by_50_and_counts_them_all(users, regions, client_for):
    for n in range(60):
        make_elder(users, regions, n)
    client = client_for("liaison_a")

    first = client.get(LIST).json()
    second = client.get(LIST, {"page": 2}).json()
    beyond = client.get(LIST, {"page": 3}).json()

    assert (first["count"], len(first["items"])) == (60, 50)
    assert (second["count"], len(second["items"])) == (60, 10)
    assert (beyond["count"], beyond["items"]) == (60, [])
    assert [i["name"] for i in first["items"] + second["items"]] == [
        f"老人{n:03d}" for n in range(60)
    ]


def test_it_gives_up_to_200_a_page_when_asked(users, regions, client_for):
    for n in range(3):
        make_elder(users, regions, n)
    client = client_for("liaison_a")

    assert len(client.get(LIST, {"page_size": 2}).json()["items"]) == 2
    too_many = client.get(LIST, {"page_size": 201})
    assert too_many.status_code == 422
    assert too_many.json()["detail"][0]["loc"] == ["query", "page_size"]
    assert too_many.json()["detail"][0]["msg"] == "不能大于 200。"
    assert client.get(LIST, {"page": 0}).status_code == 422


@pytest.mark.parametrize(("count", "page_size"), [(3, 50), (60, 50), (60, 200)])
def test_it_lists_with_a_fixed_number_of_queries(
    client_for, users, regions, django_assert_num_queries, count, page_size
):
    for n in range(count):
        make_elder(users, regions, n, categories=["独居", "失能"])
    client = client_for("liaison_a")

    # Session, user, OTP device, the user's region, the count, the page of
    # elders with their villages, their categories; the session's last-seen
    # time is saved (savepoint, update, release).
    with django_assert_num_queries(10):
        response = client.get(LIST, {"page_size": page_size})

    assert len(response.json()["items"]) == min(count, page_size)


# The file --------------------------------------------------------------------------


@pytest.fixture
def full_file(users, regions, lin):
    """林阿婆 with a household member, an emergency contact, an assistance item
    and a status history."""
    lin.registration_village = regions[VILLAGE_A]
    lin.registration_address_token = crypto.encrypt("灵秀镇后垵村 3 号")
    lin.disability_certificate_token = crypto.encrypt(id_number(1) + "42")
    lin.pension_monthly = Decimal("150.00")
    lin.save()
    HouseholdMember.objects.create(
        elder=lin,
        name="林小明",
        sex="男",
        relation=Relation.SON,
        id_number_token=crypto.encrypt(make_id_number("350581", date(1965, 5, 1), 3, "男")),
        phone_token=crypto.encrypt("13900001111"),
        same_township=False,
        away_since=date(2020, 2, 1),
        away_where="厦门",
    )
    HouseholdMember.objects.create(elder=lin, name="旧成员", relation=Relation.OTHER, active=False)
    EmergencyContact.objects.create(
        elder=lin,
        name="林小明",
        relation="儿子",
        phone_token=crypto.encrypt("13900001111"),
        phone_hash=crypto.lookup_hash("13900001111", kind="phone"),
        first_contact=True,
    )
    AssistanceItem.objects.create(elder=lin, item="高龄津贴", monthly_amount=Decimal("100.00"))
    change_status(
        acting_user=users["liaison_a"],
        elder=lin,
        to_status="moved_away",
        effective_on=date(2026, 11, 1),
        reason="随子女迁居",
        destination="厦门市",
    )
    change_status(
        acting_user=users["liaison_a"],
        elder=lin,
        to_status="active",
        effective_on=date(2026, 11, 20),
        reason="迁回",
    )
    return lin


def test_it_shows_the_whole_file_masked(client_for, users, full_file):
    response = client_for("liaison_a").get(file_url(full_file))

    assert response.status_code == 200
    data = response.json()
    assert (data["name"], data["sex"], data["birth_date"], data["age"]) == (
        "林阿婆",
        "女",
        "1940-03-08",
        86,
    )
    assert data["id_number"] == crypto.mask_id(id_number(1))
    assert data["phone"] == "138****0001"
    assert data["residence_address"] == "凤里街道南洋****"
    assert data["registration_village"] == {"code": VILLAGE_A, "name": "村A"}
    assert data["registration_address"] == "灵秀镇后垵****"
    assert data["disability_certificate"] == crypto.mask_id(id_number(1) + "42")
    assert data["pension_monthly"] == "150.00"
    assert data["registered_by"] == {"id": users["liaison_a"].pk, "full_name": "liaison_a"}
    assert data["consent_recorded_at"].endswith("+08:00")
    assert datetime.fromisoformat(data["consent_recorded_at"]) == TODAY
    assert data["categories"] == ["独居", "失能"]
    assert data["status"] == "active"
    [member] = data["household"]
    assert (member["name"], member["relation"], member["away_where"]) == ("林小明", "son", "厦门")
    assert (
        member["id_number"]
        == "350581********" + make_id_number("350581", date(1965, 5, 1), 3, "男")[-4:]
    )
    assert member["phone"] == "139****1111"
    [contact] = data["emergency_contacts"]
    assert (contact["name"], contact["phone"], contact["first_contact"]) == (
        "林小明",
        "139****1111",
        True,
    )
    assert [(a["item"], a["monthly_amount"]) for a in data["assistance"]] == [
        ("高龄津贴", "100.00")
    ]
    assert [(c["from_status"], c["to_status"], c["reason"]) for c in data["status_changes"]] == [
        ("moved_away", "active", "迁回"),
        ("active", "moved_away", "随子女迁居"),
    ]
    assert data["status_changes"][1]["destination"] == "厦门市"


def test_it_never_shows_a_token_a_hash_or_a_clear_value(client_for, full_file):
    response = client_for("county").get(file_url(full_file))

    assert not {key for key in keys_in(response.json()) if key.endswith(("_token", "_hash"))}
    body = response.content.decode("unicode_escape")
    for secret in [id_number(1), "13812340001", "13900001111", "南洋路", "后垵村", "v1.test."]:
        assert secret not in body


def test_it_shows_the_proposed_categories_with_their_reasons(users, regions, client_for):
    # 000_4970ff49482a0570.txt 附件2 (5): 失能.
    elder = make_elder(users, regions, 5, ability="moderate")

    data = client_for("liaison_a").get(file_url(elder)).json()

    assert {"category": "失能", "reasons": ["中度失能"]} in data["proposed_categories"]
    assert "系统建议“失能”，但未确认" in data["quality_warnings"]


def test_it_reads_a_file_with_a_fixed_number_of_queries(
    client_for, full_file, django_assert_num_queries
):
    client = client_for("liaison_a")

    # Session, user, OTP device, the user's region; the elder in the user's
    # subtree, then with the villages and users of the file; its categories, its
    # household (for the proposals, then to show), contacts, assistance, help
    # received, status history; the session's last-seen time saved (3).
    with django_assert_num_queries(16):
        assert client.get(file_url(full_file)).status_code == 200
