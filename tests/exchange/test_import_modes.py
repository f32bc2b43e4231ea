"""The two ways to import (issue 3, item 7): the whole file or nothing
("全部正确才导入"), or each valid row ("只导入正确的行"); and importing the same
file again changes nothing."""

from tanfang.audit.models import Action, AuditEvent
from tanfang.exchange.models import State
from tanfang.registry import crypto
from tanfang.registry.models import Elder, ElderCategory
from tests.exchange.conftest import filled, id_number, last_job, report_of, row, template_of

ROWS = [
    row(2, "村A", 对象类型="独居"),
    {**row(3, "村A"), "联系电话": "12345"},
    row(4, "村A", 对象类型="空巢、失能"),
    {**row(5, "村A"), "居住地村(社区)": "村B"},
    row(6, "村A"),
]


def state():
    """Everything an import may change, but the audit log."""
    return (
        sorted(Elder.objects.values_list("id_number_hash", "name", "village_id", "status")),
        sorted(ElderCategory.objects.values_list("elder__name", "category")),
    )


def imports():
    return list(
        AuditEvent.objects.filter(action=Action.ELDERS_IMPORTED)
        .order_by("pk")
        .values_list("detail", flat=True)
    )


def test_it_stores_nothing_of_a_file_with_one_bad_row_in_whole_file_mode(client_for, upload):
    client = client_for("liaison_a")

    upload(client, filled(template_of(client), ROWS), mode="whole_file")

    job = last_job()
    assert job.state == State.REJECTED
    assert (job.rows_total, job.rows_ok, job.rows_failed, job.rows_valid()) == (5, 0, 2, 3)
    assert state() == ([], [])


def test_it_stores_exactly_the_valid_rows_in_valid_rows_mode(client_for, upload):
    client = client_for("liaison_a")

    upload(client, filled(template_of(client), ROWS), mode="valid_rows")

    job = last_job()
    assert job.state == State.DONE
    assert (job.rows_ok, job.rows_failed, job.rows_skipped) == (3, 2, 0)
    assert sorted(Elder.objects.values_list("name", flat=True)) == ["老人002", "老人004", "老人006"]
    assert sorted(ElderCategory.objects.values_list("elder__name", "category")) == [
        ("老人002", "独居"),
        ("老人004", "失能"),
        ("老人004", "空巢"),
    ]
    assert [(r, c) for r, c, _ in report_of(job)] == [(3, "联系电话"), (5, "居住地村(社区)")]


def test_it_changes_nothing_when_the_same_file_is_imported_again(client_for, upload):
    client = client_for("liaison_a")
    data = filled(template_of(client), ROWS)
    upload(client, data, mode="valid_rows")
    before = state()

    upload(client, data, mode="valid_rows")

    assert state() == before
    job = last_job()
    assert (job.rows_ok, job.rows_skipped, job.rows_failed) == (0, 3, 2)
    assert report_of(job) == [
        (2, "身份证号码", "已在册，未导入"),
        (3, "联系电话", "请输入正确的手机号码或固定电话（含区号）"),
        (4, "身份证号码", "已在册，未导入"),
        (
            5,
            "居住地村(社区)",
            "您的辖区内没有名为“村B”的村(社区)；请从下拉列表选择，或填写 12 位区划代码。",
        ),
        (6, "身份证号码", "已在册，未导入"),
    ]
    first, second = imports()
    assert (first["created"], first["skipped"]) == (3, 0)
    assert (second["created"], second["skipped"], second["failed"]) == (0, 3, 2)
    assert first["file_sha256"] == second["file_sha256"]
    assert not AuditEvent.objects.filter(action=Action.ELDER_REGISTERED).exists()


def test_it_imports_a_corrected_file_in_whole_file_mode_after_a_partial_import(client_for, upload):
    client = client_for("liaison_a")
    upload(client, filled(template_of(client), ROWS), mode="valid_rows")
    corrected = [*ROWS[:1], row(3, "村A"), *ROWS[2:3], row(5, "村A"), ROWS[4]]

    upload(client, filled(template_of(client), corrected), mode="whole_file")

    job = last_job()
    assert (job.state, job.rows_ok, job.rows_skipped) == (State.DONE, 2, 3)
    assert Elder.objects.count() == 5
    assert crypto.decrypt(Elder.objects.get(name="老人003").phone_token) == "13812340003"
    assert id_number(5) == crypto.decrypt(Elder.objects.get(name="老人005").id_number_token)
