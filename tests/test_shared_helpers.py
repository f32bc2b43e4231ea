"""The helpers every app shares: tanfang.inputs, tanfang.photos, tanfang.pages.

The pages and APIs that use them are tested in their own apps (the visit's and
the hazard's photo, the call buttons, the life event's time, the forms' errors);
these pin the helpers themselves, with the Chinese messages they give.
"""

import base64
from datetime import UTC, datetime
from io import BytesIO
from zoneinfo import ZoneInfo

import pytest
from django import forms
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import Http404
from ninja.errors import ValidationError as SchemaError

from tanfang import inputs, pages, photos

PNG = photos.PNG + b"rest of a png"
JPEG = photos.JPEG + b"rest of a jpeg"


# --- tanfang.inputs ----------------------------------------------------------------------


def test_it_reads_a_time_without_a_zone_as_beijing_time():
    moment = inputs.beijing_time(datetime(2026, 12, 1, 9, 30))  # noqa: DTZ001

    assert moment == datetime(2026, 12, 1, 9, 30, tzinfo=ZoneInfo("Asia/Shanghai"))
    assert moment.astimezone(UTC).hour == 1


def test_it_keeps_a_time_with_its_zone():
    moment = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)

    assert inputs.beijing_time(moment) is moment


@pytest.mark.parametrize("text", ["a\x00b", "\x07", "\ud800", "\x7f"])
def test_it_finds_what_cannot_be_stored(text):
    assert inputs.has_unstorable(text)


def test_it_lets_typed_line_breaks_and_tabs_through_unless_told_otherwise():
    assert not inputs.has_unstorable("第一行\r\n第二行\t完")
    assert inputs.has_unstorable("第一行\n第二行", allowed=frozenset())


def test_it_adds_an_inner_checks_errors_to_those_collected():
    errors = {"name": ["请填写姓名。"]}

    inputs.merge_errors(errors, ValidationError({"name": "太长。", "phone": "请填写联系电话。"}))

    assert errors == {"name": ["请填写姓名。", "太长。"], "phone": ["请填写联系电话。"]}


# --- tanfang.photos ----------------------------------------------------------------------


def _data_url(head: str, raw: bytes) -> str:
    return f"{head}," + base64.b64encode(raw).decode()


def test_an_empty_data_url_is_no_photo():
    assert photos.from_data_url("") is None


def test_it_reads_a_png_data_url_as_an_upload():
    upload = photos.from_data_url(_data_url("data:image/png;base64", PNG))

    assert upload is not None
    assert upload.read() == PNG


def test_it_refuses_a_data_url_of_another_type():
    with pytest.raises(ValidationError) as caught:
        photos.from_data_url(_data_url("data:image/gif;base64", b"GIF89a"))

    assert caught.value.message_dict == {"photo": ["照片应为 JPEG 或 PNG 图片的 data URL。"]}


def test_it_refuses_a_data_url_that_is_not_base64():
    with pytest.raises(ValidationError) as caught:
        photos.from_data_url("data:image/jpeg;base64,不是base64")

    assert caught.value.message_dict == {"photo": ["照片数据无法读取。"]}


def test_it_reads_strict_base64_only():
    assert photos.base64_bytes(base64.b64encode(b"abc").decode()) == b"abc"
    assert photos.base64_bytes("YWJj\n") is None
    assert photos.base64_bytes("YWJ") is None


def test_it_reads_an_uploaded_jpeg_or_png():
    assert photos.read_photo(None) == b""
    assert photos.read_photo(SimpleUploadedFile("a.jpg", JPEG)) == JPEG
    assert photos.read_photo(SimpleUploadedFile("a.png", PNG)) == PNG


def test_it_refuses_an_upload_that_is_neither_jpeg_nor_png():
    with pytest.raises(ValidationError) as caught:
        photos.read_photo(SimpleUploadedFile("a.png", b"GIF89a"))

    assert caught.value.message_dict == {"photo": ["照片应为 JPEG 或 PNG 图片。"]}


def test_it_refuses_a_photo_over_5_mb():
    big = JPEG + b"\x00" * photos.PHOTO_MAX_BYTES

    with pytest.raises(ValidationError) as caught:
        photos.read_photo(SimpleUploadedFile("a.jpg", big))

    assert caught.value.message_dict == {"photo": ["照片不能超过 5 MB。"]}


def test_it_names_the_stored_file_by_its_first_bytes():
    assert photos.extension(PNG) == "png"
    assert photos.extension(JPEG) == "jpg"


# --- tanfang.pages -----------------------------------------------------------------------


class _Form(forms.Form):
    note = forms.CharField(required=False)


def test_it_puts_the_actions_errors_back_beside_the_fields():
    form = _Form({"note": "x"})
    assert form.is_valid()

    pages.put_back(form, ValidationError({"note": "说明太长。", "status": "已结案，不能再修改。"}))

    assert form.errors["note"] == ["说明太长。"]
    assert form.non_field_errors() == ["已结案，不能再修改。"]


@pytest.mark.parametrize(
    ("number", "dialled"),
    [
        ("13812345678", "13812345678"),
        ("0595-88881234-801", "059588881234,801"),
        ("0595-8888 1234", "059588881234"),
    ],
)
def test_it_dials_the_number_a_phone_understands(number, dialled):
    assert pages.dialable(number) == dialled


def test_the_dial_is_a_redirect_to_tel_never_cached():
    response = pages.dial("0595-88881234-801")

    assert response.status_code == 302
    assert response["Location"] == "tel:059588881234,801"
    assert "no-store" in response["Cache-Control"]


class _Stored:
    """A stored file as a FileField gives it: falsy when empty."""

    def __init__(self, name: str, content: bytes | None) -> None:
        self.name = name
        self.content = content

    def __bool__(self) -> bool:
        return bool(self.name)

    def open(self, mode: str):
        if self.content is None:
            raise FileNotFoundError(self.name)
        return BytesIO(self.content)


def test_it_serves_a_stored_photo_privately_and_never_cached():
    response = pages.stored_photo(_Stored("visits/2026/12/a.PNG", PNG))

    assert response["Content-Type"] == "image/png"
    assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"]
    assert b"".join(response.streaming_content) == PNG
    assert pages.stored_photo(_Stored("hazards/2026/12/b.jpg", JPEG))["Content-Type"] == (
        "image/jpeg"
    )


@pytest.mark.parametrize("stored", [_Stored("", None), _Stored("visits/2026/12/gone.jpg", None)])
def test_it_answers_404_for_no_photo_or_a_file_gone(stored):
    with pytest.raises(Http404):
        pages.stored_photo(stored)


def test_it_finds_the_subtree_of_an_api_filter_in_the_users_scope(users):
    assert pages.subtree_region(users["liaison_a"], users["liaison_a"].region_id).pk == (
        users["liaison_a"].region_id
    )


def test_it_answers_a_subtree_outside_the_scope_as_an_error_of_the_parameter(users):
    with pytest.raises(SchemaError) as caught:
        pages.subtree_region(users["liaison_a"], users["liaison_b"].region_id)

    assert caught.value.errors == [
        {
            "loc": ["query", "subtree"],
            "msg": "区划代码不存在或不在您的管辖范围内。",
            "type": "value_error",
        }
    ]
