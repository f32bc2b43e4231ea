"""What the pages and the API handlers of every app answer the same way: an
action's errors put back on the form, a stored photo served, a number dialled,
an API list's `subtree` filter checked.

The interface layer (pyproject.toml, [tool.importlinter]): views and API
handlers call these; nothing below them does.
"""

import re

from django import forms
from django.core.exceptions import ValidationError
from django.db.models.fields.files import FieldFile
from django.http import FileResponse, Http404, HttpResponse
from django.http.response import HttpResponseRedirectBase
from django.utils.cache import patch_cache_control
from ninja.errors import ValidationError as SchemaError

from tanfang.accounts import access
from tanfang.accounts.models import User
from tanfang.regions.models import Region


def put_back(form: forms.Form, error: ValidationError) -> None:
    """The action's errors, keyed by its argument names, next to the fields;
    the others (a refused state change, missing steps) above the form."""
    for field, messages in error.message_dict.items():
        for message in messages:
            form.add_error(field if field in form.fields else None, message)


def stored_photo(photo: FieldFile) -> FileResponse:
    """A stored photo (a visit's, a hazard's removal) as the answer, to those the
    view let through, never cached: it shows a person and a home. No photo, or
    its file gone from the storage: 404."""
    if not photo:
        raise Http404
    try:
        handle = photo.open("rb")
    except FileNotFoundError:
        raise Http404 from None
    kind = "image/png" if (photo.name or "").lower().endswith(".png") else "image/jpeg"
    response = FileResponse(handle, content_type=kind)
    patch_cache_control(response, private=True, no_store=True)
    return response


class Dial(HttpResponseRedirectBase):
    allowed_schemes = ["tel"]
    status_code = 302


def dial(number: str) -> HttpResponse:
    """A redirect to `tel:` that makes the phone dial a revealed number; never
    cached, as the whole number must not stay on a shared phone or a proxy."""
    response = Dial(f"tel:{dialable(number)}")
    patch_cache_control(response, no_store=True)
    return response


def dialable(number: str) -> str:
    """13812345678 as it is; a landline 0595-88881234-801 as 059588881234,801:
    the extension is dialled after a pause."""
    parts = number.split("-")
    if len(parts) == 3:
        return f"{parts[0]}{parts[1]},{parts[2]}"
    return re.sub(r"[^0-9+]", "", number)


def subtree_region(user: User, code: str) -> Region:
    """The region of an API list's `subtree` filter, inside the user's subtree;
    any other code is answered as a schema error of that query parameter (422)."""
    try:
        return access.get_region_for(user, code)
    except Http404:
        message = "区划代码不存在或不在您的管辖范围内。"
        raise SchemaError(
            [{"loc": ["query", "subtree"], "msg": message, "type": "value_error"}]
        ) from None
