"""Helpers for the tests of Excel imports and exports: tasks run at once, the
clock is frozen, and a file is made the way an officer makes it (download the
template, fill rows in Excel, upload)."""

import io
from collections.abc import Callable
from datetime import date
from typing import Any

import openpyxl
import pytest
from django.test import Client

from tanfang.exchange.columns import COLUMNS
from tanfang.exchange.models import ImportJob
from tanfang.registry.identity import make_id_number
from tests.conftest import aware

NOW = aware(2026, 11, 23, 10, 0)
TITLES = [column.title for column in COLUMNS]
UPLOAD_URL = "/exchange/elders/imports/"


@pytest.fixture(autouse=True)
def immediate_tasks(settings: Any) -> None:
    """Tasks run when enqueued, in the test's process (django-tasks' ImmediateBackend)."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


@pytest.fixture(autouse=True)
def frozen(time_machine: Any) -> None:
    time_machine.move_to(NOW, tick=False)


def id_number(sequence: int, birth: date = date(1940, 3, 8), sex: str = "女") -> str:
    return make_id_number("350581", birth, sequence, sex)


def template_of(client: Client) -> openpyxl.Workbook:
    response = client.get("/exchange/elders/template/")
    assert response.status_code == 200
    return openpyxl.load_workbook(io.BytesIO(response.content))


def filled(book: openpyxl.Workbook, rows: list[dict[str, Any]]) -> bytes:
    """The template's data sheet with `rows` ({column title: value}) typed in
    under its header, as Excel would save them."""
    sheet = book["老年人信息"]
    header = [cell.value for cell in sheet[1]]
    for row in rows:
        unknown = set(row) - set(header)
        assert not unknown, f"not in the template: {unknown}"
        sheet.append([row.get(title) for title in header])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def workbook(rows: list[list[Any]]) -> bytes:
    """A file made without the template: exactly these rows on one sheet."""
    book = openpyxl.Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def row(sequence: int, village: str, **values: Any) -> dict[str, Any]:
    """A valid row of the template: a woman born 1940-03-08 in `village`."""
    return {
        "姓名": f"老人{sequence:03d}",
        "身份证号码": id_number(sequence),
        "联系电话": f"1381234{sequence:04d}",
        "居住地村(社区)": village,
        **values,
    }


@pytest.fixture
def upload(
    django_capture_on_commit_callbacks: Any,
) -> Callable[..., Any]:
    """`upload(client, data, mode="whole_file", name="台账.xlsx")`: post the
    file as the page does; the import task runs when the upload commits."""

    def post(client: Client, data: bytes, mode: str = "whole_file", name: str = "台账.xlsx") -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(UPLOAD_URL, {"file": _named(data, name), "mode": mode})

    return post


def _named(data: bytes, name: str) -> Any:
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data, content_type="application/octet-stream")


def last_job() -> ImportJob:
    job = ImportJob.objects.order_by("-pk").first()
    assert job is not None
    return job


def report_of(job: ImportJob) -> list[tuple[int, str, str]]:
    """(row, column, message) of every entry of the job's report."""
    return [(entry[0], entry[2], entry[3]) for entry in job.report]
