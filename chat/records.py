"""What the server checks of an uploaded sealed record or grant before storing it (crypto/record.py).

The server cannot open a record, but it can hold the upload to what the route expects: the right kind, unit
and case; an author device that belongs to the session's user and is not revoked; a signature that holds
(strictly); and grants of the right length, signed by such a device. Applications and journal entries both
come through here, so the rules are written once. Authorization (may this user write to this case?) is the
route's policy action, decided before this is called."""
from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from chat.errors import BadSignature, Forbidden, InvalidInput
from chat.model import Device, User
from chat.storage import Storage
from crypto.errors import MalformedError
from crypto.record import (
    MAX_RECORD_BYTES,
    SealedRecord,
    check_grant_shape,
    parse_record,
    verify_grant,
    verify_record,
)


@dataclass(frozen=True)
class GrantUpload:
    """One grant as uploaded: for whom, the grant bytes, and the granting device's signature over them."""

    recipient: str
    grant: bytes
    signature: bytes


async def session_device(store: Storage, user: User, device_id: str) -> Device:
    """The session's own active device; Forbidden otherwise (a security-relevant refusal)."""
    return own_active_device(user, await store.get_device(device_id))


def own_active_device(user: User, device: Device | None) -> Device:
    """The device, if it is the user's own and not revoked; Forbidden otherwise."""
    if device is None or device.user_id != user.id:
        raise Forbidden("this session does not own the device", code="device_not_owned")
    if not device.active:
        raise Forbidden("the device is revoked", code="device_revoked")
    return device


async def check_record_upload(store: Storage, user: User, device_id: str, raw: bytes, *,
                              kinds: Collection[str], unit_id: str, case_id: str | None) -> SealedRecord:
    """Parse and check an uploaded record. `case_id` None means the record must name no case (""), as an
    application does before its case exists. Raises InvalidInput, Forbidden or BadSignature."""
    if len(raw) > MAX_RECORD_BYTES:
        raise InvalidInput(f"a record is at most {MAX_RECORD_BYTES} bytes", code="too_large")
    try:
        rec = parse_record(raw)
    except MalformedError as exc:
        raise InvalidInput(f"malformed record: {exc}", code="malformed_record") from None
    header = rec.header
    if header.kind not in kinds:
        raise InvalidInput(f"a record of kind {header.kind!r} does not belong here", code="wrong_kind")
    if header.unit_id != unit_id or header.case_id != (case_id or ""):
        raise InvalidInput("the record names another unit or case", code="wrong_target")
    if header.author_device != device_id:
        raise Forbidden("the record names another author device", code="device_not_owned")
    device = await session_device(store, user, device_id)
    if not verify_record(rec, device.sign_pub):
        raise BadSignature("the record's signature does not verify", code="bad_signature")
    return rec


def check_grant_upload(signer: Device, record_id: str, upload: GrantUpload) -> None:
    """A grant of the right shape for its recipient, signed by `signer` (the uploading device)."""
    try:
        check_grant_shape(upload.recipient, upload.grant)
    except MalformedError as exc:
        raise InvalidInput(f"malformed grant: {exc}", code="malformed_grant") from None
    if not verify_grant(signer, upload.signature, record_id, upload.recipient, upload.grant):
        raise BadSignature("the grant's signature does not verify", code="bad_signature")


def check_grants(signer: Device, record_id: str, uploads: Sequence[GrantUpload], allowed: Collection[str],
                 max_grants: int) -> list[tuple[str, bytes, bytes]]:
    """Uploaded grants for one record: each well formed, signed by `signer`, to a recipient in `allowed`, one
    per recipient. Returns (recipient, grant, signature) to store; which recipients are required is the
    caller's rule."""
    if len(uploads) > max_grants:
        raise InvalidInput(f"at most {max_grants} grants", code="invalid_field")
    out, seen = [], set()
    for upload in uploads:
        check_grant_upload(signer, record_id, upload)
        if upload.recipient not in allowed:
            raise InvalidInput("a grant names a recipient that may not read this record", code="grant_recipient")
        if upload.recipient in seen:
            raise InvalidInput("two grants for one recipient", code="invalid_field")
        seen.add(upload.recipient)
        out.append((upload.recipient, upload.grant, upload.signature))
    return out
