"""An import runs in the background: the job is queued with the upload, the
page polls its progress until it ends, and the report is downloadable as .xlsx.
A crash stores nothing, and a job runs once."""

import io

import openpyxl
import pytest

from tanfang.audit.models import Action, AuditEvent
from tanfang.exchange import actions
from tanfang.exchange.models import ImportJob, State
from tanfang.registry.models import Elder
from tests.exchange.conftest import filled, last_job, row, template_of

POLL = 'hx-trigger="every 2s"'


@pytest.fixture
def queued(client_for, upload, django_capture_on_commit_callbacks):
    """A job uploaded by liaison_a whose task has not run yet."""
    client = client_for("liaison_a")
    data = filled(template_of(client), [row(2, "村A"), {**row(3, "村A"), "联系电话": "1"}])
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(
            "/exchange/elders/imports/",
            {"file": _file(data), "mode": "valid_rows"},
        )
    assert response.status_code == 302
    assert len(callbacks) == 1  # the task is enqueued when the upload commits
    return client, last_job(), callbacks


def _file(data):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("台账.xlsx", data)


def test_it_queues_the_job_with_the_file_kept_encrypted(queued, users):
    _, job, _ = queued

    assert (job.state, job.rows_total, job.rows_done) == (State.QUEUED, 2, 0)
    assert (job.created_by, job.region_id, job.mode) == (
        users["liaison_a"],
        "350581100201",
        "valid_rows",
    )
    assert job.file_token.startswith("v1.")
    assert not Elder.objects.exists()
    assert not AuditEvent.objects.filter(action=Action.ELDERS_IMPORTED).exists()


def test_it_polls_the_progress_while_the_job_is_not_finished(queued):
    client, job, _ = queued

    page = client.get(f"/exchange/elders/imports/{job.pk}/").content.decode()
    partial = client.get(f"/exchange/elders/imports/{job.pk}/progress/").content.decode()

    assert POLL in page and "排队等待导入" in page
    assert POLL in partial and "<html" not in partial


def test_it_shows_the_rows_checked_while_running(queued):
    client, job, _ = queued
    ImportJob.objects.filter(pk=job.pk).update(state=State.RUNNING, rows_done=1, rows_failed=1)

    partial = client.get(f"/exchange/elders/imports/{job.pk}/progress/").content.decode()

    assert "已检查 1 / 2 行，发现有误 1 行" in partial
    assert '<progress max="100" value="50">' in partial


def test_it_stops_polling_once_the_job_is_done(queued):
    client, job, callbacks = queued

    callbacks[0]()

    job.refresh_from_db()
    assert (job.state, job.rows_done, job.rows_ok, job.rows_failed) == (State.DONE, 2, 1, 1)
    assert job.started_at is not None and job.finished_at is not None
    partial = client.get(f"/exchange/elders/imports/{job.pk}/progress/").content.decode()
    assert POLL not in partial
    assert "已导入</dt><dd>1 人" in partial


def test_it_runs_a_job_only_once(queued):
    _, job, callbacks = queued
    callbacks[0]()

    actions.run_import(job_id=job.pk)

    assert Elder.objects.count() == 1
    assert AuditEvent.objects.filter(action=Action.ELDERS_IMPORTED).count() == 1


def test_it_stores_nothing_and_says_so_when_the_import_crashes(queued, monkeypatch):
    _, job, _ = queued

    def crash(*args, **kwargs):
        Elder.objects.bulk_create([item.elder for item in args[0]])
        raise RuntimeError("disk full")

    monkeypatch.setattr(actions, "register_many", crash)

    with pytest.raises(RuntimeError):
        actions.run_import(job_id=job.pk)

    job.refresh_from_db()
    assert job.state == State.FAILED
    assert job.message.startswith("导入时出错，未保存任何数据")
    assert job.file_token == ""
    assert not Elder.objects.exists()
    event = AuditEvent.objects.get(action=Action.ELDERS_IMPORTED)
    assert (event.detail["state"], event.detail["created"]) == ("failed", 0)


def test_it_downloads_the_report_as_xlsx(queued):
    client, job, callbacks = queued
    callbacks[0]()

    response = client.get(f"/exchange/elders/imports/{job.pk}/report/")

    assert response.status_code == 200
    assert response["Content-Type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert "attachment" in response["Content-Disposition"]
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    assert [list(r) for r in sheet.iter_rows(values_only=True)] == [
        ["行号", "姓名", "列", "问题"],
        [3, "老人003", "联系电话", "请输入正确的手机号码或固定电话（含区号）"],
    ]


def test_it_lists_my_recent_imports(queued):
    client, job, callbacks = queued
    callbacks[0]()

    page = client.get("/exchange/elders/").content.decode()

    assert f'href="/exchange/elders/imports/{job.pk}/">台账.xlsx</a>' in page
    assert "导入 1，已在册 0，有误 1" in page


@pytest.mark.parametrize("jobs", [1, 5])
def test_it_lists_recent_imports_in_a_fixed_number_of_queries(
    jobs, client_for, users, django_assert_num_queries
):
    for number in range(jobs):
        ImportJob.objects.create(
            created_by=users["liaison_a"],
            region=users["liaison_a"].region,
            mode="whole_file",
            file_name=f"{number}.xlsx",
            file_size=1,
            file_sha256="",
        )
    client = client_for("liaison_a")

    # Session, user, OTP device, the user's region (the scope); the jobs; the
    # session saved in a savepoint.
    with django_assert_num_queries(8):
        assert client.get("/exchange/elders/").status_code == 200


def test_it_polls_in_a_fixed_number_of_queries(queued, django_assert_num_queries):
    client, job, _ = queued

    # Session, user, OTP device, the user's region; the job with its uploader;
    # the session saved in a savepoint.
    with django_assert_num_queries(8):
        client.get(f"/exchange/elders/imports/{job.pk}/progress/")


def test_it_skips_a_row_registered_by_someone_else_while_the_file_was_checked(
    queued, users, regions, monkeypatch
):
    from tanfang.registry.registration import register_elder
    from tests.exchange.conftest import id_number

    _, job, _ = queued
    check_rows = actions._check_rows

    def meanwhile(*args, **kwargs):
        outcome = check_rows(*args, **kwargs)
        register_elder(
            acting_user=users["township_a"],
            id_number=id_number(2),
            name="老人002",
            village=regions["350581100201"],
        )
        return outcome

    monkeypatch.setattr(actions, "_check_rows", meanwhile)

    actions.run_import(job_id=job.pk)

    job.refresh_from_db()
    assert (job.state, job.rows_ok, job.rows_skipped, job.rows_failed) == (State.DONE, 0, 1, 1)
    assert [entry[3] for entry in job.report] == [
        "已在册，未导入",
        "请输入正确的手机号码或固定电话（含区号）",
    ]
    assert Elder.objects.get().registered_by == users["township_a"]


def test_it_refuses_to_run_for_an_uploader_who_lost_the_permission(queued, users):
    _, job, _ = queued
    users["liaison_a"].is_active = False
    users["liaison_a"].save()

    actions.run_import(job_id=job.pk)

    job.refresh_from_db()
    assert job.state == State.REJECTED
    assert "已无导入台账的权限" in job.message
    assert not Elder.objects.exists()
