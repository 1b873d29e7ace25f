"""The server's checks of uploaded sealed records and grants (chat/records.py), against a real SQLite store."""
from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from chat.errors import BadSignature, Forbidden, InvalidInput
from chat.model import Device
from chat.records import GrantUpload, check_grant_upload, check_record_upload
from chat.storage.sqlite.store import SqliteStore
from crypto.keys import DeviceKeys, generate_x25519
from crypto.record import RecordHeader, grant_to_key, new_record_id, new_record_key, seal_record, sign_grant

from .conftest_unit import ANNA, DANA, MUNICIPALITY, OTHER_UNIT, UNIT, USERS

DANA_KEYS, ANNA_KEYS, OTHER_KEYS = DeviceKeys.generate(), DeviceKeys.generate(), DeviceKeys.generate()
_, UNIT_PUB = generate_x25519()


def device(keys: DeviceKeys, user_id: str) -> Device:
    return Device(keys.public.device_id, user_id, keys.public.sign_pub, keys.public.kem_pub, "phone", 1)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    store = SqliteStore(tmp_path / "samtal.sqlite3")
    await store.open()
    await store.add_municipality(MUNICIPALITY)
    for unit in (UNIT, OTHER_UNIT):
        await store.add_unit(unit)
    for user in USERS:
        await store.add_user(user)
    await store.add_device(device(DANA_KEYS, DANA.id))
    await store.add_device(device(ANNA_KEYS, ANNA.id))
    yield store
    await store.close()


def application(keys: DeviceKeys = DANA_KEYS, **header: str) -> bytes:
    fields = {"kind": "application", "record_id": new_record_id(), "unit_id": UNIT.id, "case_id": "",
              "author_device": keys.public.device_id, **header}
    return seal_record(new_record_key(), RecordHeader(**fields, created_at_ms=1), {"form": "eb"}, keys)


async def check(store: SqliteStore, raw: bytes, device_id: str = DANA_KEYS.public.device_id, user=DANA):  # noqa: ANN001, ANN201
    return await check_record_upload(store, user, device_id, raw, kinds={"application"}, unit_id=UNIT.id,
                                     case_id=None)


async def test_a_well_formed_signed_record_from_the_session_device_passes(store: SqliteStore) -> None:
    rec = await check(store, application())
    assert rec.header.kind == "application"


@pytest.mark.parametrize("changes, code", [
    ({"kind": "journal.entry"}, "wrong_kind"), ({"unit_id": "familjeratt"}, "wrong_target"),
    ({"case_id": "eb-2026-0001"}, "wrong_target"),
])
async def test_records_for_another_kind_unit_or_case_are_refused(store: SqliteStore, changes: dict[str, str],
                                                                  code: str) -> None:
    with pytest.raises(InvalidInput) as err:
        await check(store, application(**changes))
    assert err.value.code == code


async def test_malformed_bytes_are_refused(store: SqliteStore) -> None:
    with pytest.raises(InvalidInput) as err:
        await check(store, application()[:-1])
    assert err.value.code == "malformed_record"


async def test_a_record_of_another_users_device_is_refused(store: SqliteStore) -> None:
    with pytest.raises(Forbidden):
        await check(store, application(ANNA_KEYS), ANNA_KEYS.public.device_id)  # Dana's session, Anna's device
    with pytest.raises(Forbidden):
        await check(store, application(), ANNA_KEYS.public.device_id)  # names Dana's device, sent as Anna's


async def test_a_revoked_device_cannot_upload(store: SqliteStore) -> None:
    await store.revoke_device(DANA_KEYS.public.device_id, 2)
    with pytest.raises(Forbidden) as err:
        await check(store, application())
    assert err.value.code == "device_revoked"


async def test_a_signature_by_another_key_is_refused(store: SqliteStore) -> None:
    # Sealed by a key the server does not know under Dana's device id: the stored public key decides.
    forged = application(OTHER_KEYS)
    raw = application()
    raw = raw[:-64] + forged[-64:]
    with pytest.raises(BadSignature):
        await check(store, raw)


def test_grants_must_fit_their_recipient_and_be_signed_by_the_uploader() -> None:
    record_id = new_record_id()
    grant = grant_to_key(new_record_key(), record_id, UNIT_PUB)
    signer = device(DANA_KEYS, DANA.id)
    check_grant_upload(signer, record_id, GrantUpload("unit:1", grant, sign_grant(DANA_KEYS, record_id, "unit:1", grant)))
    with pytest.raises(BadSignature):
        check_grant_upload(signer, record_id, GrantUpload("unit:1", grant, sign_grant(ANNA_KEYS, record_id, "unit:1", grant)))
    with pytest.raises(InvalidInput):
        check_grant_upload(signer, record_id, GrantUpload("case:1", grant, b"\x00" * 64))
