"""Encryption at rest for ID numbers, phone numbers and street addresses, the
keyed hash that finds them again, and their masked display.

NONFUNCTIONAL.md "Security": AES-GCM through `cryptography`, a keyed hash for
exact lookup, keys outside the database; a dump holds no plaintext ID number.

Tokens. `encrypt` gives `v1.<key id>.<base64url(nonce | ciphertext | tag)>`:
AES-256-GCM with a random 96-bit nonce, and "v1.<key id>" as associated data so
that neither the version nor the key id can be changed without the token
failing. AES-GCM rather than the Fernet of ARCHITECTURE.md's table: it is the
cipher NONFUNCTIONAL.md names, it authenticates the key id, and its tokens are
about half the length of Fernet's (no timestamp, no CBC padding, no separate
MAC), which counts in three encrypted columns of 3 million rows.

Field keys. A keyring of named 256-bit keys: the first is current and encrypts,
all of them decrypt, so after a rotation old tokens keep working and
`needs_rotation` tells which to re-encrypt. Taken from `TANFANG_FIELD_KEYS`
("k2:<base64>,k1:<base64>") or else from `settings.TANFANG_FIELD_KEYS_FILE`
(var/field_keys, one entry per line, current first), which is written with a
fresh key "k1" (mode 0600) when absent.

Lookup key. A separate 256-bit HMAC key that is never rotated with the field
keys: `TANFANG_LOOKUP_KEY` or else `settings.TANFANG_LOOKUP_KEY_FILE`
(var/lookup_key). Not derived from the field keys (say with HKDF): a lookup
key derived from the current field key would change at every rotation, and
every stored hash would stop matching until all rows were rehashed; in the
meantime an import would not find the elder it already has and would register
them twice. A hash keyed this way cannot be reversed from a dump by trying
every possible ID number (there are only about 10^11 for an elder), which an
unkeyed hash could. The lookup key changes only if it leaks, and then every
hash must be recomputed from the decrypted values.

Both come from the environment or both from files, never one of each, and a
file is generated only when both files are absent: a lost lookup_key silently
replaced by a new one would make every stored hash miss (see
docs/OPERATIONS.md "Field keys" for backup and rotation).

Masking (shown unless the role may reveal the value, by a logged action):
- ID number: first 6 and last 4 characters, the rest as stars, one per
  character: 510104********123X.
- mobile: first 3 and last 4 digits: 138****5678; landline: the area code and
  the last 4 digits of the number: 0595-****1234 (an extension stays, it means
  nothing without the number).
- street address: the first 6 characters, but never more than half of the text
  and nothing from the first digit on (house numbers), then "****". The street
  address follows a village node, so it is often short ("西区12号") and its
  first 6 characters alone would be the whole of it.
"""

import base64
import binascii
import contextlib
import functools
import hashlib
import hmac
import os
import re
import secrets
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import ValidationError

from tanfang.registry.identity import normalise_id_number, normalise_phone

FIELD_KEYS_ENV = "TANFANG_FIELD_KEYS"
LOOKUP_KEY_ENV = "TANFANG_LOOKUP_KEY"
VERSION = "v1"
KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16

LookupKind = Literal["id", "phone", "id_last4"]

# Every column that holds field tokens, by "app_label.Model": the one list that
# key rotation walks (`manage.py reencrypt_fields`). A new encrypted column is
# added here; tests/registry/test_reencrypt.py fails for a `*_token` column
# missing from it.
ENCRYPTED_FIELDS: dict[str, tuple[str, ...]] = {
    "registry.Elder": (
        "id_number_token",
        "phone_token",
        "residence_address_token",
        "registration_address_token",
        "disability_certificate_token",
    ),
    "registry.EmergencyContact": ("phone_token",),
    "registry.HouseholdMember": ("id_number_token", "phone_token"),
    "registry.HelpReceived": ("contact_phone_token",),
    # The visitor roster's phone numbers (tanfang/visits/roster.py).
    "visits.Visitor": ("phone_token",),
    # An uploaded spreadsheet waiting to be imported (cleared once imported).
    "exchange.ImportJob": ("file_token",),
}

_KEY_ID = re.compile(r"[A-Za-z0-9_-]{1,32}")
_BASE64URL = re.compile(r"[A-Za-z0-9_-]+")


class FieldKeyError(Exception):
    """A token that cannot be decrypted, or keys that cannot be loaded. The
    message is for developers and operators and never holds a plaintext."""


@dataclass(frozen=True)
class _Keyring:
    current_id: str
    ciphers: dict[str, AESGCM] = field(repr=False)
    lookup_key: bytes = field(repr=False)


def encrypt(plaintext: str) -> str:
    keyring = _keyring()
    nonce = os.urandom(NONCE_BYTES)
    sealed = keyring.ciphers[keyring.current_id].encrypt(
        nonce, plaintext.encode("utf-8"), _associated_data(keyring.current_id)
    )
    body = base64.urlsafe_b64encode(nonce + sealed).rstrip(b"=").decode("ascii")
    return f"{VERSION}.{keyring.current_id}.{body}"


def decrypt(token: str) -> str:
    key_id, sealed = _split(token)
    cipher = _keyring().ciphers.get(key_id)
    if cipher is None:
        raise FieldKeyError(
            f"field key {key_id!r} is not in the keyring: put it back in "
            f"{FIELD_KEYS_ENV} or the field_keys file"
        )
    try:
        plaintext = cipher.decrypt(
            sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], _associated_data(key_id)
        )
    except InvalidTag:
        raise FieldKeyError(
            f"field token under key {key_id!r} failed authentication: it was altered, "
            "or made with another key of the same id"
        ) from None
    return plaintext.decode("utf-8")


def needs_rotation(token: str) -> bool:
    """True for a token made with a key other than the current one."""
    key_id, _ = _split(token)
    return key_id != _keyring().current_id


def current_key_id() -> str:
    """The id of the key that encrypts: every token it made starts with
    `token_prefix(current_key_id())`."""
    return _keyring().current_id


def token_prefix(key_id: str) -> str:
    return f"{VERSION}.{key_id}."


def lookup_hash(value: str, *, kind: LookupKind) -> str:
    """Hex HMAC-SHA256 of the normalised value, with the kind in the message so
    that an ID number and a phone number of the same digits differ."""
    if kind == "id":
        normalised = normalise_id_number(value)
    elif kind == "id_last4":
        # The search box's "last 4 of the ID": kept only as a keyed hash, since
        # in clear, with the birth date and the county, it would give back the
        # whole number from a dump.
        normalised = unicodedata.normalize("NFKC", value).strip().upper()
    elif kind == "phone":
        # Not a valid number: hash what there is, an exact lookup still works.
        with contextlib.suppress(ValidationError):
            value = normalise_phone(value)
        normalised = re.sub(r"[^0-9]", "", unicodedata.normalize("NFKC", value))
    else:
        raise ValueError(f"unknown lookup kind {kind!r}")
    message = f"{kind}\x00{normalised}".encode()
    return hmac.new(_keyring().lookup_key, message, hashlib.sha256).hexdigest()


def mask_id(value: str) -> str:
    number = normalise_id_number(value)
    if len(number) <= 10:
        return "*" * len(number)
    return number[:6] + "*" * (len(number) - 10) + number[-4:]


def mask_phone(value: str) -> str:
    try:
        phone = normalise_phone(value)
    except ValidationError:
        text = value.strip()
        if not text:
            return ""
        return "****" + (text[-4:] if len(text) >= 8 else "")
    if "-" not in phone:
        return phone[:3] + "****" + phone[-4:]
    area, local, *extension = phone.split("-")
    return "-".join([area, "****" + local[-4:], *extension])


def mask_name(name: str) -> str:
    """张*, 张*华, 欧**华: enough to recognise someone one is about to visit, not
    to list who lives where (the visitor's 其他老人 page)."""
    name = name.strip()
    if len(name) <= 1:
        return name
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def mask_address(text: str) -> str:
    text = text.strip()
    if not text:
        return ""
    kept = text[: min(6, len(text) // 2)]
    for position, character in enumerate(kept):
        if character.isdigit():
            kept = kept[:position]
            break
    return kept + "****"


def new_key_entry(key_id: str) -> str:
    """A line for TANFANG_FIELD_KEYS or the field_keys file: "k2:<base64>"."""
    if not _KEY_ID.fullmatch(key_id):
        raise ValueError("a key id is 1 to 32 letters, digits, '_' or '-'")
    return f"{key_id}:{_new_key()}"


def reset_keys() -> None:
    """Forget the loaded keys, so that the next use reads them again (tests)."""
    _keyring.cache_clear()


def _new_key() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(KEY_BYTES)).decode("ascii")


def _associated_data(key_id: str) -> bytes:
    return f"{VERSION}.{key_id}".encode("ascii")


def _split(token: str) -> tuple[str, bytes]:
    version, _, rest = token.partition(".")
    key_id, _, body = rest.partition(".")
    if version != VERSION or not _KEY_ID.fullmatch(key_id) or not _BASE64URL.fullmatch(body):
        raise FieldKeyError(f"not a field token: expected {VERSION}.<key id>.<base64url>")
    try:
        sealed = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except binascii.Error:
        raise FieldKeyError("field token is not valid base64url") from None
    if base64.urlsafe_b64encode(sealed).rstrip(b"=").decode("ascii") != body:
        # Spare low bits in the last character would let two texts be one token.
        raise FieldKeyError("field token is not in canonical base64url")
    if len(sealed) < NONCE_BYTES + TAG_BYTES:
        raise FieldKeyError("field token is too short to hold a nonce and a tag")
    return key_id, sealed


@functools.cache
def _keyring() -> _Keyring:
    field_keys = os.environ.get(FIELD_KEYS_ENV, "").strip()
    lookup_key = os.environ.get(LOOKUP_KEY_ENV, "").strip()
    if bool(field_keys) != bool(lookup_key):
        raise FieldKeyError(
            f"set both {FIELD_KEYS_ENV} and {LOOKUP_KEY_ENV}, or neither "
            "(then both are read from var/)"
        )
    if field_keys:
        current_id, ciphers = _parse_field_keys(field_keys, source=FIELD_KEYS_ENV)
        return _Keyring(current_id, ciphers, _decode_key(lookup_key, source=LOOKUP_KEY_ENV))

    keys_path = Path(settings.TANFANG_FIELD_KEYS_FILE)
    lookup_path = Path(settings.TANFANG_LOOKUP_KEY_FILE)
    if keys_path.exists() != lookup_path.exists():
        present, missing = (
            (keys_path, lookup_path) if keys_path.exists() else (lookup_path, keys_path)
        )
        raise FieldKeyError(
            f"{present} exists but {missing} does not: restore it from the key backup; "
            "a new one would not match the data already stored"
        )
    field_text = _read_or_create(keys_path, lambda: new_key_entry("k1") + "\n")
    lookup_text = _read_or_create(lookup_path, lambda: _new_key() + "\n")
    current_id, ciphers = _parse_field_keys(field_text, source=str(keys_path))
    return _Keyring(current_id, ciphers, _decode_key(lookup_text, source=str(lookup_path)))


def _read_or_create(path: Path, make: Callable[[], str]) -> str:
    """As settings.read_or_create_secret_key, but published whole: the key is
    written to a private temporary file and linked into place, so that another
    process starting at the same moment reads either nothing or the full key,
    never half a file, and never overwrites it with a key of its own."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w") as handle:
                handle.write(make())
                handle.flush()
                os.fsync(handle.fileno())
            # If another process was first, its key is the one.
            with contextlib.suppress(FileExistsError):
                os.link(temporary, path)
        finally:
            temporary.unlink(missing_ok=True)
    return path.read_text(encoding="ascii")


def _parse_field_keys(text: str, *, source: str) -> tuple[str, dict[str, AESGCM]]:
    entries = [
        entry.strip()
        for line in text.splitlines()
        if not line.strip().startswith("#")
        for entry in line.split(",")
        if entry.strip()
    ]
    if not entries:
        raise FieldKeyError(f"{source} holds no field key")
    ciphers: dict[str, AESGCM] = {}
    for entry in entries:
        key_id, separator, material = entry.partition(":")
        key_id = key_id.strip()
        if not separator or not _KEY_ID.fullmatch(key_id):
            raise FieldKeyError(
                f"{source}: write each key as <id>:<base64 key>, the id made of "
                "letters, digits, '_' or '-'"
            )
        if key_id in ciphers:
            raise FieldKeyError(f"{source}: key id {key_id!r} appears twice")
        ciphers[key_id] = AESGCM(_decode_key(material, source=f"{source} key {key_id!r}"))
    current_id = next(iter(ciphers))
    return current_id, ciphers


def _decode_key(text: str, *, source: str) -> bytes:
    """A 256-bit key in base64, standard or URL-safe, padded or not."""
    text = text.strip().replace("+", "-").replace("/", "_")
    try:
        key = base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
    except binascii.Error:
        raise FieldKeyError(f"{source} is not valid base64") from None
    if len(key) != KEY_BYTES:
        raise FieldKeyError(f"{source} must be {KEY_BYTES} bytes (256 bits), not {len(key)}")
    return key
