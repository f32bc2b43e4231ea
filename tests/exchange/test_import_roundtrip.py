"""The template's columns, round trip: download the template, fill rows in
Excel, upload, and find the elders with every field as typed, the ID number,
phone and addresses only encrypted (issue 3, item 7; FORMS.md "Registration")."""

from datetime import date
from decimal import Decimal

from django.db import connection

from tanfang.audit.models import Action, AuditEvent
from tanfang.exchange.models import State
from tanfang.registry import crypto
from tanfang.registry.models import Elder, ElderCategory
from tanfang.visits.models import VisitTask
from tests.conftest import VILLAGE_A, VILLAGE_B
from tests.exchange.conftest import filled, id_number, last_job, row, template_of

FULL_ROW = {
    "姓名": "林秀英",
    "身份证号码": id_number(7),
    "性别": "女",
    "出生日期": date(1940, 3, 8),
    "民族": "汉族",
    "联系电话": "0595-88881234",
    "居住地村(社区)": f"{VILLAGE_A} 村A",
    "居住地址": "南洋路18号",
    # 村B is in 宝盖镇: a place of registration may be outside the user's scope.
    "户籍地村(社区)": VILLAGE_B,
    "户籍地址": "宝盖镇塘后3号",
    "是否居住在户籍所在地": "否",
    "农村户籍": "是",
    "能力程度": "未评估，长期卧床",
    "能力评估日期": date(2026, 5, 1),
    "评估来源": "乡镇卫生院",
    "健康状况": "差",
    "失智": "是",
    "患有可能危及生命的慢性病": "是",
    "曾患病史": "高血压",
    "残疾证号": id_number(7) + "42",
    "残疾类别": "肢体残疾",
    "残疾等级": "2级",
    "特困人员": "否",
    "分散供养": "否",
    "低保": "是",
    "低保边缘": "否",
    "月可支配收入(元)": 820.5,
    "经济来源": "低保金",
    "生活来源": "子女赡养",
    "年收入(万元)": "1.2",
    "养老保险(元/月)": 150,
    "家庭月收入(元)": 1600,
    "饮水安全": "是",
    "生活用电安全": "是",
    "住房安全": "否",
    "子女个数": 2,
    "有配偶": "否",
    "有劳动能力": "否",
    "有赡养、扶养人照料": "是",
    "子女申请定期探访": "是",
    "对象类型": "独居，失能、重残",
    "愿意接受探访": "是",
    "同意入户探访": "是",
    "同意拍照": "否",
    "其他需要说明的问题": "耳背，敲门要大声",
}


def test_it_fills_every_column_of_the_template_into_the_file(client_for, users, upload):
    client = client_for("township_a")

    response = upload(client, filled(template_of(client), [FULL_ROW]))

    job = last_job()
    assert response.status_code == 302
    assert response["Location"] == f"/exchange/elders/imports/{job.pk}/"
    assert (job.state, job.rows_ok, job.report) == (State.DONE, 1, [])
    elder = Elder.objects.get()
    assert (elder.name, elder.sex, elder.birth_date, elder.ethnicity) == (
        "林秀英",
        "女",
        date(1940, 3, 8),
        "汉族",
    )
    assert crypto.decrypt(elder.id_number_token) == id_number(7)
    assert elder.id_number_hash == crypto.lookup_hash(id_number(7), kind="id")
    assert crypto.decrypt(elder.phone_token) == "0595-88881234"
    assert (elder.village_id, elder.registration_village_id) == (VILLAGE_A, VILLAGE_B)
    assert crypto.decrypt(elder.residence_address_token) == "南洋路18号"
    assert crypto.decrypt(elder.registration_address_token) == "宝盖镇塘后3号"
    assert crypto.decrypt(elder.disability_certificate_token) == id_number(7) + "42"
    assert (elder.lives_at_registration, elder.rural_registration) == (False, True)
    assert (elder.ability, elder.ability_assessed_on, elder.ability_source) == (
        "bedridden",
        date(2026, 5, 1),
        "乡镇卫生院",
    )
    assert (elder.health, elder.dementia, elder.disease_history) == ("poor", True, "高血压")
    assert elder.life_threatening_illness is True
    assert (elder.disability_type, elder.disability_grade) == ("physical", 2)
    assert (elder.extreme_poverty, elder.dispersed_support) == (False, False)
    assert (elder.minimum_living, elder.minimum_living_edge) == (True, False)
    assert elder.monthly_disposable_income == Decimal("820.50")
    assert (elder.income_sources, elder.living_source) == ("低保金", "children")
    assert elder.annual_income == Decimal("1.20")
    assert elder.pension_monthly == Decimal("150.00")
    assert elder.household_monthly_income == Decimal("1600.00")
    assert (elder.water_safe, elder.electricity_safe, elder.housing_safe) == (True, True, False)
    assert (elder.children_count, elder.has_spouse, elder.able_to_work) == (2, False, False)
    assert (elder.has_carer, elder.children_asked_for_visits) == (True, True)
    assert (elder.consents_to_visits, elder.consents_to_home_visits) == (True, True)
    assert elder.consents_to_photos is False
    assert elder.other_notes == "耳背，敲门要大声"
    assert (elder.registered_by, elder.consent_recorded_by) == (users["township_a"],) * 2
    assert elder.registered_on == date(2026, 11, 23)
    assert set(ElderCategory.objects.values_list("category", flat=True)) == {"独居", "失能", "重残"}


def test_it_stores_the_id_number_phone_and_addresses_only_encrypted(client_for, upload):
    client = client_for("liaison_a")

    upload(client, filled(template_of(client), [FULL_ROW]))

    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM registry_elder")
        stored = " ".join(str(value) for value in cursor.fetchone())
        cursor.execute("SELECT * FROM exchange_importjob")
        job_row = " ".join(str(value) for value in cursor.fetchone())
    for secret in (id_number(7), "88881234", "南洋路18号", "塘后3号"):
        assert secret not in stored
        assert secret not in job_row


def test_it_imports_n_rows_and_leaves_defaults_for_blank_cells(client_for, upload):
    client = client_for("liaison_a")
    rows = [row(n, "村A") for n in range(1, 26)]

    upload(client, filled(template_of(client), rows))

    elders = list(Elder.objects.order_by("name"))
    assert [e.name for e in elders] == [f"老人{n:03d}" for n in range(1, 26)]
    assert [crypto.decrypt(e.id_number_token) for e in elders] == [
        id_number(n) for n in range(1, 26)
    ]
    first = elders[0]
    # Blank cells: the model's defaults, as on the registration page.
    assert (first.dementia, first.consents_to_visits, first.consents_to_photos) == (
        False,
        True,
        False,
    )
    assert (first.has_spouse, first.ability, first.pension_monthly) == (None, "", None)
    assert first.residence_address_token == ""


def test_it_writes_one_audit_entry_for_the_import_with_counts_and_no_id_number(
    client_for, users, upload
):
    client = client_for("liaison_a")
    rows = [row(n, "村A") for n in range(1, 4)]

    upload(client, filled(template_of(client), rows), mode="valid_rows")

    job = last_job()
    # The one entry besides the login and the system's note of the visit tasks
    # the new files are owed: no entry per elder.
    assert list(
        AuditEvent.objects.exclude(action__in=[Action.LOGIN, Action.TASKS_GENERATED]).values_list(
            "action", flat=True
        )
    ) == [Action.ELDERS_IMPORTED]
    # Every imported file is owed its visits at once, as one registered on the page.
    assert VisitTask.objects.values("elder").distinct().count() == 3
    event = AuditEvent.objects.get(action=Action.ELDERS_IMPORTED)
    assert (event.actor, event.region_code) == (users["liaison_a"], VILLAGE_A)
    assert (event.object_type, event.object_id) == ("importjob", str(job.pk))
    assert event.ip_address == "127.0.0.1"
    assert event.detail == {
        "mode": "valid_rows",
        "state": "done",
        "rows": 3,
        "created": 3,
        "skipped": 0,
        "failed": 0,
        "file_sha256": job.file_sha256,
    }
    assert not any(id_number(n) in str(event.detail) for n in range(1, 4))


def test_it_removes_the_uploaded_file_once_imported(client_for, upload):
    client = client_for("liaison_a")

    upload(client, filled(template_of(client), [row(1, "村A")]), name="灵秀镇台账.xlsx")

    job = last_job()
    assert job.file_token == ""
    assert (job.file_name, len(job.file_sha256)) == ("灵秀镇台账.xlsx", 64)
    assert job.file_size > 0


def test_it_reads_the_village_by_code_by_name_or_as_in_the_drop_down(client_for, upload):
    client = client_for("county")
    rows = [row(1, VILLAGE_A), row(2, "村B"), row(3, f"{VILLAGE_B} 村B"), row(4, int(VILLAGE_A))]

    upload(client, filled(template_of(client), rows))

    assert dict(Elder.objects.values_list("name", "village_id")) == {
        "老人001": VILLAGE_A,
        "老人002": VILLAGE_B,
        "老人003": VILLAGE_B,
        "老人004": VILLAGE_A,
    }
