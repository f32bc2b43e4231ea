"""manage.py reencrypt_fields: after a field key rotation every token is
encrypted again under the new key, in batches, idempotently; --dry-run counts,
--check finds the tokens that no longer decrypt (docs/OPERATIONS.md "Field keys")."""

import base64
from datetime import date
from io import StringIO

import pytest
from auditlog.models import LogEntry
from django.apps import apps
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import models

from tanfang.audit.models import Action, AuditEvent
from tanfang.registry import crypto
from tanfang.registry.identity import make_id_number
from tanfang.registry.models import Elder, EmergencyContact, HelpReceived, HouseholdMember
from tanfang.registry.registration import register_elder
from tests.conftest import VILLAGE_A, VILLAGE_B

KEY_1 = "k1:" + base64.b64encode(bytes(range(32))).decode()
KEY_2 = "k2:" + base64.b64encode(bytes(range(100, 132))).decode()
LOOKUP = base64.b64encode(b"L" * 32).decode()

ELDERS = [
    (make_id_number("350581", date(1940, 3, 8), n, "女"), f"1381234{n:04d}", f"南洋路{n}号")
    for n in range(5)
]
SON_ID = make_id_number("350581", date(1968, 5, 2), 7, "男")


def use_keys(monkeypatch, field_keys):
    monkeypatch.setenv(crypto.FIELD_KEYS_ENV, field_keys)
    monkeypatch.setenv(crypto.LOOKUP_KEY_ENV, LOOKUP)
    crypto.reset_keys()


@pytest.fixture(autouse=True)
def first_key(monkeypatch):
    use_keys(monkeypatch, KEY_1)
    yield
    monkeypatch.undo()
    crypto.reset_keys()


@pytest.fixture
def files(users, regions):
    """Five elders with every kind of encrypted column filled, under key k1."""
    elders = []
    for n, (id_number, phone, address) in enumerate(ELDERS):
        elder = register_elder(
            acting_user=users["county"],
            id_number=id_number,
            name=f"老人{n}",
            village=regions[VILLAGE_A if n % 2 else VILLAGE_B],
            phone=phone,
            residence_address=address,
            registration_address=f"户籍{n}号" if n % 2 else "",
            disability_certificate=id_number + "42" if n == 0 else "",
        )
        elders.append(elder)
    EmergencyContact.objects.create(
        elder=elders[0], name="林小明", phone_token=crypto.encrypt("13955556666"), phone_hash="h"
    )
    HouseholdMember.objects.create(
        elder=elders[1],
        name="林大伟",
        relation="son",
        id_number_token=crypto.encrypt(SON_ID),
        phone_token=crypto.encrypt("13700001234"),
    )
    HelpReceived.objects.create(
        elder=elders[2],
        helper_type="volunteer",
        contact_phone_token=crypto.encrypt("13600009999"),
    )
    return elders


def tokens():
    """Every non-empty token in the database: {(label, column, pk): token}."""
    found = {}
    for label, columns in crypto.ENCRYPTED_FIELDS.items():
        for row in apps.get_model(label).objects.values("pk", *columns):
            for column in columns:
                if row[column]:
                    found[(label, column, row["pk"])] = row[column]
    return found


def plaintexts():
    return {place: crypto.decrypt(token) for place, token in tokens().items()}


def run(*args):
    out, err = StringIO(), StringIO()
    call_command("reencrypt_fields", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def rotate(monkeypatch):
    use_keys(monkeypatch, f"{KEY_2},{KEY_1}")


# The list of encrypted columns


def test_it_lists_every_token_column_of_every_model():
    declared = {
        (label, column) for label, columns in crypto.ENCRYPTED_FIELDS.items() for column in columns
    }
    found = {
        (model._meta.label, f.name)
        for model in apps.get_models()
        for f in model._meta.get_fields()
        if isinstance(f, models.TextField) and f.name.endswith("_token")
    }

    assert found == declared


# Re-encryption


def test_it_reencrypts_every_token_under_the_new_key_and_keeps_the_values(monkeypatch, files):
    before = plaintexts()
    hashes = list(Elder.objects.order_by("pk").values_list("id_number_hash", "phone_hash"))
    assert all(token.startswith("v1.k1.") for token in tokens().values())
    rotate(monkeypatch)

    out, _ = run("--batch-size", "2")

    after = tokens()
    assert after.keys() == before.keys()
    assert all(token.startswith("v1.k2.") for token in after.values())
    assert plaintexts() == before
    # The lookup key is not rotated: every hash still finds its elder.
    assert list(Elder.objects.order_by("pk").values_list("id_number_hash", "phone_hash")) == hashes
    assert "registry.Elder.id_number_token\t已重新加密 5" in out
    assert "registry.Elder.registration_address_token\t已重新加密 2" in out
    assert "registry.Elder.disability_certificate_token\t已重新加密 1" in out
    assert "registry.HouseholdMember.id_number_token\t已重新加密 1" in out
    assert "registry.HelpReceived.contact_phone_token\t已重新加密 1" in out
    assert f"合计已重新加密 {len(before)} 个字段值" in out


def test_it_changes_nothing_when_run_a_second_time(monkeypatch, files):
    rotate(monkeypatch)
    run()
    first = tokens()

    out, _ = run()

    assert tokens() == first
    assert "合计已重新加密 0 个字段值" in out


def test_it_changes_nothing_in_a_dry_run_but_counts(monkeypatch, files):
    before = tokens()
    rotate(monkeypatch)
    events = AuditEvent.objects.count()

    out, _ = run("--dry-run")

    assert tokens() == before
    assert "registry.Elder.phone_token\t需重新加密 5" in out
    assert f"合计需重新加密 {len(before)} 个字段值" in out
    assert AuditEvent.objects.count() == events


def test_it_resumes_after_an_interruption(monkeypatch, files):
    before = plaintexts()
    rotate(monkeypatch)
    encrypt = crypto.encrypt
    calls = {"n": 0}

    def failing_encrypt(plaintext):
        calls["n"] += 1
        if calls["n"] > 6:
            raise KeyboardInterrupt
        return encrypt(plaintext)

    monkeypatch.setattr(crypto, "encrypt", failing_encrypt)
    with pytest.raises(KeyboardInterrupt):
        run("--batch-size", "1")
    monkeypatch.setattr(crypto, "encrypt", encrypt)

    # Whole batches were kept; the interrupted one left its row as it was.
    halfway = tokens().values()
    assert 0 < sum(token.startswith("v1.k2.") for token in halfway) < len(halfway)

    run("--batch-size", "1")

    assert all(token.startswith("v1.k2.") for token in tokens().values())
    assert plaintexts() == before


def test_it_records_one_audit_event_with_the_counts_and_no_field_history(monkeypatch, files):
    rotate(monkeypatch)
    history = LogEntry.objects.count()

    run("--batch-size", "2")

    assert LogEntry.objects.count() == history
    event = AuditEvent.objects.get(action=Action.FIELDS_REENCRYPTED)
    assert event.actor is None
    assert event.region_code == ""
    assert event.detail["key_id"] == "k2"
    assert event.detail["counts"]["registry.Elder.id_number_token"] == 5
    assert event.detail["counts"]["registry.EmergencyContact.phone_token"] == 1
    assert event.detail["total"] == len(tokens())
    assert event.detail["undecryptable"] == 0


def test_it_leaves_a_token_already_under_the_new_key_alone(monkeypatch, files):
    rotate(monkeypatch)
    fresh = crypto.encrypt("13800000000")
    Elder.objects.filter(pk=files[0].pk).update(phone_token=fresh)

    run()

    assert Elder.objects.get(pk=files[0].pk).phone_token == fresh


def test_it_reports_a_token_it_cannot_decrypt_and_reencrypts_the_rest(monkeypatch, files):
    rotate(monkeypatch)
    broken = files[3]
    Elder.objects.filter(pk=broken.pk).update(
        phone_token="v1.k1.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
    )

    with pytest.raises(CommandError) as raised:
        call_command("reencrypt_fields", stdout=StringIO(), stderr=(err := StringIO()))

    assert raised.value.returncode == 1
    assert f"registry.Elder.phone_token\tid={broken.pk}" in err.getvalue()
    assert Elder.objects.get(pk=broken.pk).id_number_token.startswith("v1.k2.")
    assert Elder.objects.get(pk=files[0].pk).phone_token.startswith("v1.k2.")


# --check


def test_it_checks_that_every_token_decrypts(monkeypatch, files):
    rotate(monkeypatch)
    run()
    use_keys(monkeypatch, KEY_2)  # the old key removed

    out, err = run("--check")

    assert "全部字段值均可用当前密钥环解密" in out
    assert "registry.Elder.id_number_token\t可解密 5，其中旧密钥 0" in out
    assert err == ""


def test_it_warns_in_a_check_about_tokens_still_under_an_old_key(monkeypatch, files):
    rotate(monkeypatch)

    out, _ = run("--check")

    assert "registry.Elder.id_number_token\t可解密 5，其中旧密钥 5" in out
    assert "请先运行 reencrypt_fields" in out


def test_it_finds_a_corrupted_token_by_row_id_without_showing_a_value(monkeypatch, files):
    victim = files[2]
    token = victim.id_number_token
    flipped = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    Elder.objects.filter(pk=victim.pk).update(id_number_token=flipped)

    with pytest.raises(CommandError) as raised:
        call_command(
            "reencrypt_fields", "--check", stdout=(out := StringIO()), stderr=(err := StringIO())
        )

    assert raised.value.returncode == 1
    assert err.getvalue().splitlines() == [
        f"无法解密\tregistry.Elder.id_number_token\tid={victim.pk}"
    ]
    printed = out.getvalue() + err.getvalue() + str(raised.value)
    for id_number, phone, _ in ELDERS:
        assert id_number not in printed
        assert phone not in printed
    assert token not in printed


def test_it_finds_in_a_check_every_token_of_a_removed_key(monkeypatch, files):
    rotate(monkeypatch)
    use_keys(monkeypatch, KEY_2)  # k1 removed before re-encrypting: the mistake to catch

    with pytest.raises(CommandError) as raised:
        run("--check")

    assert raised.value.returncode == 1
    assert str(len(tokens())) in str(raised.value)
