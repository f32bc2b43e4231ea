"""The photos and signatures that phones send, checked once for every app.

A photo (of a visit, or the one showing a hazard removed) comes as a form's
upload or, in a JSON body, as a data URL; either way what is stored is a JPEG
or a PNG of at most 5 MB, known by its first bytes and never by a name or a
content type the client chose. The bottom layer (pyproject.toml,
[tool.importlinter]): visits and care both read their photos here.
"""

import base64
import binascii

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile, UploadedFile

PHOTO_MAX_BYTES = 5_000_000
PNG = b"\x89PNG\r\n\x1a\n"
JPEG = b"\xff\xd8\xff"
_DATA_URL_HEADS = frozenset({"data:image/jpeg;base64", "data:image/png;base64"})


def base64_bytes(text: str) -> bytes | None:
    """Strict base64 (no character outside the alphabet), or None where it
    cannot be read."""
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None


def from_data_url(data: str) -> SimpleUploadedFile | None:
    """A data URL's image as an upload, for the same checks as a form's upload
    (`read_photo`: size and type); an empty string is no photo."""
    if not data:
        return None
    head, _, body = data.partition(",")
    if head not in _DATA_URL_HEADS:
        raise ValidationError({"photo": "照片应为 JPEG 或 PNG 图片的 data URL。"})
    raw = base64_bytes(body)
    if raw is None:
        raise ValidationError({"photo": "照片数据无法读取。"})
    return SimpleUploadedFile("photo", raw)


def read_photo(photo: UploadedFile | None) -> bytes:
    """The bytes of an uploaded JPEG or PNG of at most 5 MB; no upload, none."""
    if photo is None:
        return b""
    if photo.size is not None and photo.size > PHOTO_MAX_BYTES:
        raise ValidationError({"photo": "照片不能超过 5 MB。"})
    data: bytes = photo.read()
    if len(data) > PHOTO_MAX_BYTES:
        raise ValidationError({"photo": "照片不能超过 5 MB。"})
    if not (data.startswith(JPEG) or data.startswith(PNG)):
        raise ValidationError({"photo": "照片应为 JPEG 或 PNG 图片。"})
    return data


def extension(data: bytes) -> str:
    """The file name's ending for a photo `read_photo` accepted."""
    return "png" if data.startswith(PNG) else "jpg"
