"""Encryption at rest, keyed lookup hashes and masking (tanfang/registry/crypto.py)."""

import base64
import re
import stat
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tanfang.registry import crypto
from tanfang.registry.crypto import (
    FieldKeyError,
    decrypt,
    encrypt,
    lookup_hash,
    mask_address,
    mask_id,
    mask_phone,
    needs_rotation,
    new_key_entry,
)
from tanfang.registry.identity import FEMALE, MALE, make_id_number

ELDER = "35058119490715001X"
KEY_A = base64.b64encode(bytes(range(32))).decode()
KEY_B = base64.urlsafe_b64encode(bytes(range(100, 132))).decode()
LOOKUP = base64.b64encode(b"L" * 32).decode()
TOKEN = re.compile(r"v1\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)")

id_numbers = st.builds(
    make_id_number,
    st.from_regex(r"[0-9]{6}", fullmatch=True),
    st.dates(min_value=date(1900, 1, 1), max_value=date(2026, 1, 1)),
    st.integers(0, 498),
    st.sampled_from([MALE, FEMALE]),
)
mobiles = st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True)


@pytest.fixture(autouse=True)
def keys(tmp_path, monkeypatch, settings):
    """No keys from the environment, key files in a fresh directory, nothing
    cached from an earlier test (and nothing left for a later one)."""
    monkeypatch.delenv(crypto.FIELD_KEYS_ENV, raising=False)
    monkeypatch.delenv(crypto.LOOKUP_KEY_ENV, raising=False)
    settings.TANFANG_FIELD_KEYS_FILE = tmp_path / "field_keys"
    settings.TANFANG_LOOKUP_KEY_FILE = tmp_path / "lookup_key"
    crypto.reset_keys()
    yield tmp_path
    crypto.reset_keys()


def use_env_keys(monkeypatch, field_keys, lookup=LOOKUP):
    monkeypatch.setenv(crypto.FIELD_KEYS_ENV, field_keys)
    monkeypatch.setenv(crypto.LOOKUP_KEY_ENV, lookup)
    crypto.reset_keys()


def sealed_bytes(token):
    body = token.split(".")[2]
    return bytearray(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))


def with_sealed_bytes(token, sealed):
    version, key_id, _ = token.split(".")
    return f"{version}.{key_id}." + base64.urlsafe_b64encode(bytes(sealed)).rstrip(b"=").decode()


# encrypt and decrypt


def test_it_decrypts_what_it_encrypted():
    token = encrypt(ELDER)

    assert decrypt(token) == ELDER


@given(plaintext=st.text())
def test_it_round_trips_any_text(plaintext):
    assert decrypt(encrypt(plaintext)) == plaintext


@given(plaintext=st.text(alphabet=st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF)))
def test_it_round_trips_chinese_addresses(plaintext):
    assert decrypt(encrypt(plaintext)) == plaintext


def test_it_makes_a_compact_ascii_token_without_the_plaintext():
    address = "福建省泉州市石狮市灵秀镇钞坑村12号"
    token = encrypt(address)

    match = TOKEN.fullmatch(token)
    assert match is not None
    assert match.group(1) == "k1"
    # nonce, UTF-8 text and tag, in base64 without padding
    assert len(match.group(2)) == -(-(12 + len(address.encode()) + 16) * 4 // 3)
    assert token.isascii()
    assert "钞坑村" not in token


@given(number=id_numbers)
def test_it_never_shows_an_id_number_in_its_token(number):
    token = encrypt(number)

    assert number not in token
    assert number[6:14] not in token  # the birth date


def test_it_makes_a_different_token_each_time():
    tokens = {encrypt(ELDER) for _ in range(100)}

    assert len(tokens) == 100
    assert {decrypt(token) for token in tokens} == {ELDER}


def test_it_encrypts_an_empty_text_too():
    assert decrypt(encrypt("")) == ""


# keys in files


def test_it_writes_both_key_files_on_first_use_readable_by_the_owner_only(keys):
    encrypt(ELDER)

    field_keys = keys / "field_keys"
    lookup_key = keys / "lookup_key"
    assert stat.S_IMODE(field_keys.stat().st_mode) == 0o600
    assert stat.S_IMODE(lookup_key.stat().st_mode) == 0o600
    key_id, material = field_keys.read_text().strip().split(":")
    assert key_id == "k1"
    assert len(base64.urlsafe_b64decode(material)) == 32
    assert len(base64.urlsafe_b64decode(lookup_key.read_text().strip())) == 32
    assert sorted(path.name for path in keys.iterdir()) == ["field_keys", "lookup_key"]


def test_it_keeps_using_the_key_files_it_wrote(keys):
    token = encrypt(ELDER)
    digest = lookup_hash(ELDER, kind="id")
    written = (keys / "field_keys").read_text()

    crypto.reset_keys()

    assert decrypt(token) == ELDER
    assert lookup_hash(ELDER, kind="id") == digest
    assert (keys / "field_keys").read_text() == written


def test_it_writes_the_key_files_in_a_directory_that_does_not_exist_yet(keys, settings):
    settings.TANFANG_FIELD_KEYS_FILE = keys / "var" / "field_keys"
    settings.TANFANG_LOOKUP_KEY_FILE = keys / "var" / "lookup_key"

    assert decrypt(encrypt(ELDER)) == ELDER
    assert (keys / "var" / "field_keys").exists()


@pytest.mark.parametrize(
    ("kept", "lost"), [("field_keys", "lookup_key"), ("lookup_key", "field_keys")]
)
def test_it_refuses_to_replace_one_lost_key_file(keys, kept, lost):
    token = encrypt(ELDER)
    (keys / lost).unlink()
    crypto.reset_keys()

    with pytest.raises(FieldKeyError, match=f"{lost} does not"):
        decrypt(token)
    with pytest.raises(FieldKeyError):
        encrypt(ELDER)
    assert not (keys / lost).exists()


def test_it_uses_the_key_another_process_wrote_first(keys):
    path = keys / "lookup_key"

    def make():
        path.write_text("the other process's key\n")  # wins the race while we write
        return "ours\n"

    assert crypto._read_or_create(path, make) == "the other process's key\n"
    assert sorted(p.name for p in keys.iterdir()) == ["lookup_key"]  # no temporary left


def test_it_reads_a_key_file_with_comments_and_several_keys(keys):
    (keys / "field_keys").write_text(
        f"# rotated on 2026-11-23, k1 kept for old tokens\nk2:{KEY_B}\nk1:{KEY_A}\n"
    )
    (keys / "lookup_key").write_text(LOOKUP + "\n")

    token = encrypt(ELDER)

    assert token.startswith("v1.k2.")
    assert decrypt(token) == ELDER


def test_it_hides_the_keys_from_repr():
    keyring = crypto._keyring()

    assert "lookup_key" not in repr(keyring)
    assert base64.urlsafe_b64encode(keyring.lookup_key).decode()[:20] not in repr(keyring)


# keys in the environment


def test_it_reads_the_keys_from_the_environment_and_writes_no_file(monkeypatch, keys):
    use_env_keys(monkeypatch, f"a:{KEY_A}")

    token = encrypt(ELDER)

    assert token.startswith("v1.a.")
    assert decrypt(token) == ELDER
    assert list(keys.iterdir()) == []


def test_it_decrypts_with_the_same_key_in_another_process(monkeypatch):
    use_env_keys(monkeypatch, f"a:{KEY_A}")
    token = encrypt(ELDER)
    digest = lookup_hash(ELDER, kind="id")

    crypto.reset_keys()  # as a fresh process would load them

    assert decrypt(token) == ELDER
    assert lookup_hash(ELDER, kind="id") == digest


@pytest.mark.parametrize("variable", [crypto.FIELD_KEYS_ENV, crypto.LOOKUP_KEY_ENV])
def test_it_refuses_one_key_from_the_environment_without_the_other(monkeypatch, variable):
    monkeypatch.setenv(variable, f"a:{KEY_A}" if variable == crypto.FIELD_KEYS_ENV else LOOKUP)
    crypto.reset_keys()

    with pytest.raises(FieldKeyError, match="set both"):
        encrypt(ELDER)


@pytest.mark.parametrize(
    "field_keys",
    [
        KEY_A,  # no id
        f":{KEY_A}",
        f"a.b:{KEY_A}",  # a dot would break the token
        "a:" + base64.b64encode(b"short").decode(),
        "a:" + base64.b64encode(bytes(33)).decode(),
        "a:not*base64",
        f"a:{KEY_A},a:{KEY_B}",
        " , ",
    ],
)
def test_it_refuses_badly_written_field_keys(monkeypatch, field_keys):
    use_env_keys(monkeypatch, field_keys)

    with pytest.raises(FieldKeyError) as error:
        encrypt(ELDER)

    assert KEY_A not in str(error.value)


def test_it_refuses_a_lookup_key_of_the_wrong_length(monkeypatch):
    use_env_keys(monkeypatch, f"a:{KEY_A}", lookup=base64.b64encode(bytes(16)).decode())

    with pytest.raises(FieldKeyError, match="32 bytes"):
        lookup_hash(ELDER, kind="id")


def test_it_reads_keys_in_standard_or_url_safe_base64_with_or_without_padding(monkeypatch):
    key = bytes([251] * 32)  # encodes with + and / in standard base64
    standard = base64.b64encode(key).decode()
    url_safe = base64.urlsafe_b64encode(key).decode().rstrip("=")
    assert "/" in standard or "+" in standard

    use_env_keys(monkeypatch, f"a:{standard}")
    token = encrypt(ELDER)
    use_env_keys(monkeypatch, f"a:{url_safe}")

    assert decrypt(token) == ELDER


def test_it_makes_new_key_entries_for_rotation():
    entry = new_key_entry("k2")

    key_id, material = entry.split(":")
    assert key_id == "k2"
    assert len(base64.urlsafe_b64decode(material)) == 32
    assert new_key_entry("k2") != entry
    with pytest.raises(ValueError):
        new_key_entry("k.2")


# rotation


def test_it_decrypts_old_tokens_after_a_rotation(monkeypatch):
    use_env_keys(monkeypatch, f"a:{KEY_A}")
    old = encrypt(ELDER)
    digest = lookup_hash(ELDER, kind="id")
    assert not needs_rotation(old)

    use_env_keys(monkeypatch, f"b:{KEY_B},a:{KEY_A}")
    new = encrypt(ELDER)

    assert decrypt(old) == ELDER
    assert needs_rotation(old)
    assert new.startswith("v1.b.")
    assert decrypt(new) == ELDER
    assert not needs_rotation(new)
    # The lookup key is not rotated with the field keys: the stored hash still finds the elder.
    assert lookup_hash(ELDER, kind="id") == digest


def test_it_rotates_by_a_new_first_line_in_the_key_file(keys):
    old = encrypt(ELDER)
    path = keys / "field_keys"
    path.write_text(new_key_entry("k2") + "\n" + path.read_text())
    crypto.reset_keys()

    new = encrypt(ELDER)

    assert new.startswith("v1.k2.")
    assert needs_rotation(old)
    assert decrypt(old) == decrypt(new) == ELDER


def test_it_refuses_a_token_whose_key_was_removed(monkeypatch):
    use_env_keys(monkeypatch, f"a:{KEY_A}")
    old = encrypt(ELDER)
    use_env_keys(monkeypatch, f"b:{KEY_B}")

    with pytest.raises(FieldKeyError, match="'a' is not in the keyring") as error:
        decrypt(old)

    assert ELDER not in str(error.value)


def test_it_refuses_a_token_made_with_another_key_under_the_same_id(monkeypatch):
    use_env_keys(monkeypatch, f"a:{KEY_A}")
    token = encrypt(ELDER)
    use_env_keys(monkeypatch, f"a:{KEY_B}")

    with pytest.raises(FieldKeyError, match="failed authentication"):
        decrypt(token)


# tampered tokens


@given(data=st.data())
def test_it_refuses_a_token_with_any_byte_changed(data):
    token = encrypt(ELDER)
    sealed = sealed_bytes(token)
    position = data.draw(st.integers(0, len(sealed) - 1))
    sealed[position] ^= data.draw(st.integers(1, 255))

    with pytest.raises(FieldKeyError, match="failed authentication") as error:
        decrypt(with_sealed_bytes(token, sealed))

    assert ELDER not in str(error.value)


def test_it_refuses_a_token_moved_to_another_key_id(monkeypatch):
    # The same key under two ids: only the associated data ("v1.<id>") tells
    # them apart, and it does.
    use_env_keys(monkeypatch, f"a:{KEY_A},b:{KEY_A}")
    token = encrypt(ELDER)
    assert decrypt(token) == ELDER

    with pytest.raises(FieldKeyError, match="failed authentication"):
        decrypt(token.replace("v1.a.", "v1.b.", 1))


@pytest.mark.parametrize(
    "tamper",
    [
        lambda token: token.replace("v1.", "v2.", 1),
        lambda token: token.replace("v1.", "", 1),
        lambda token: token[:-1],  # a length base64 cannot have, or a missing byte
        lambda token: token[:20],
        lambda token: token + "==",
        lambda token: token + "!",
        lambda token: token.replace("k1", "k.1", 1),
        lambda token: "",
        lambda token: ELDER,
        lambda token: "v1.k1.",
    ],
)
def test_it_refuses_a_malformed_token(tamper):
    token = encrypt(ELDER)

    with pytest.raises(FieldKeyError) as error:
        decrypt(tamper(token))

    assert ELDER not in str(error.value)


def test_it_refuses_a_token_with_spare_bits_changed():
    # 18 + 28 bytes do not fill the last base64 character: its spare bits must be 0.
    token = encrypt(ELDER)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    last = alphabet.index(token[-1])
    assert len(sealed_bytes(token)) % 3 != 0
    changed = token[:-1] + alphabet[last ^ 1]

    with pytest.raises(FieldKeyError, match="canonical"):
        decrypt(changed)


def test_it_says_which_tokens_need_rotation_only_for_tokens():
    with pytest.raises(FieldKeyError):
        needs_rotation(ELDER)


# lookup_hash


def test_it_hashes_to_64_hex_characters_the_same_every_time():
    digest = lookup_hash(ELDER, kind="id")

    assert re.fullmatch(r"[0-9a-f]{64}", digest)
    assert lookup_hash(ELDER, kind="id") == digest
    assert ELDER not in digest


@pytest.mark.parametrize(
    "typed", ["35058119490715001x", " 350581 19490715 001X", "３５０５８１１９４９０７１５００１Ｘ"]
)
def test_it_hashes_an_id_number_however_it_was_typed(typed):
    assert lookup_hash(typed, kind="id") == lookup_hash(ELDER, kind="id")


@pytest.mark.parametrize("typed", ["138 1234 5678", "+86 138-1234-5678", "8613812345678"])
def test_it_hashes_a_mobile_however_it_was_typed(typed):
    assert lookup_hash(typed, kind="phone") == lookup_hash("13812345678", kind="phone")


def test_it_hashes_a_landline_however_it_was_typed():
    digest = lookup_hash("0595-88881234", kind="phone")

    assert lookup_hash("(0595) 8888 1234", kind="phone") == digest
    assert lookup_hash("059588881234", kind="phone") == digest
    assert lookup_hash("0595-88881235", kind="phone") != digest


def test_it_hashes_what_is_not_a_phone_number_by_its_digits():
    assert lookup_hash("12-34", kind="phone") == lookup_hash("1234", kind="phone")


@given(digits=st.from_regex(r"[0-9]{1,18}", fullmatch=True))
def test_it_hashes_an_id_number_and_a_phone_of_the_same_digits_apart(digits):
    assert lookup_hash(digits, kind="id") != lookup_hash(digits, kind="phone")


@given(first=id_numbers, second=id_numbers)
def test_it_hashes_different_id_numbers_apart(first, second):
    assert (lookup_hash(first, kind="id") == lookup_hash(second, kind="id")) == (first == second)


def test_it_keys_the_hash_so_a_dump_alone_cannot_be_searched(monkeypatch):
    use_env_keys(monkeypatch, f"a:{KEY_A}")
    digest = lookup_hash(ELDER, kind="id")

    use_env_keys(monkeypatch, f"a:{KEY_A}", lookup=base64.b64encode(b"M" * 32).decode())

    assert lookup_hash(ELDER, kind="id") != digest


def test_it_refuses_an_unknown_lookup_kind():
    with pytest.raises(ValueError):
        lookup_hash(ELDER, kind="address")


# masking


def test_it_masks_an_id_number_as_nonfunctional_md_shows():
    assert mask_id("35058119490715001X") == "350581********001X"
    assert mask_id("51010419800101123x") == "510104********123X"


@given(number=id_numbers)
def test_it_never_shows_the_middle_of_an_id_number(number):
    masked = mask_id(number)

    assert len(masked) == 18
    assert masked[:6] == number[:6]
    assert masked[6:14] == "********"
    assert masked[14:] == number[14:]


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("", ""),
        ("123", "***"),
        ("1234567890", "**********"),
        ("350581490715001", "350581*****5001"),
    ],
)
def test_it_masks_ids_of_other_lengths_without_showing_more(value, masked):
    assert mask_id(value) == masked


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("13812345678", "138****5678"),
        ("+86 138 1234 5678", "138****5678"),
        ("0595-88881234", "0595-****1234"),
        ("059588881234", "0595-****1234"),
        ("0595-8888123", "0595-****8123"),
        ("010-62345678", "010-****5678"),
        ("0595-88881234-801", "0595-****1234-801"),
        ("", ""),
        ("12345", "****"),
        ("not a number 5678", "****5678"),
    ],
)
def test_it_masks_phone_numbers(value, masked):
    assert mask_phone(value) == masked


@given(mobile=mobiles)
def test_it_never_shows_the_middle_of_a_mobile(mobile):
    assert mask_phone(mobile) == mobile[:3] + "****" + mobile[7:]


@pytest.mark.parametrize(
    ("address", "masked"),
    [
        ("福建省泉州市石狮市灵秀镇钞坑村12号", "福建省泉州市****"),
        ("钞坑村西区12号", "钞坑村西****"),
        ("钞坑村12号", "钞坑村****"),
        ("西区12号", "西区****"),
        ("12号楼", "****"),
        ("灵秀镇", "灵****"),
        ("  ", ""),
        ("", ""),
    ],
)
def test_it_masks_an_address_after_at_most_6_characters_and_before_any_digit(address, masked):
    assert mask_address(address) == masked


@given(address=st.text(min_size=1))
def test_it_never_shows_more_than_half_of_an_address_nor_a_digit(address):
    masked = mask_address(address)
    kept = masked.removesuffix("****")

    assert masked.endswith("****") or masked == ""
    assert len(kept) <= min(6, len(address.strip()) // 2)
    assert address.strip().startswith(kept)
    assert not any(character.isdigit() for character in kept)
