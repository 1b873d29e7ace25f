"""The delivery rules for case messages: what the server checks without keys, then store, ack, fan out.

The server cannot read a message, but it can check that the sending session owns the sending device, that
the device's signature holds (strictly), that the message names the case's current key epoch, and that it
is within size limits. Refused attempts are recorded as security events."""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from chat.audit.auditor import Auditor, event, on_behalf
from chat.cases.assignment import Assignments
from chat.errors import (
    BadSignature,
    Forbidden,
    Hidden,
    InvalidInput,
    SamtalError,
    StaleEpoch,
    StorageUnavailable,
)
from chat.model import Ack, Case, Device, ReceiptMarks, StoredMessage, User, now_ms
from chat.policy import Action, decide
from chat.records import own_active_device, session_device
from chat.storage import Storage
from crypto.envelope import (
    MAX_ENVELOPE_BYTES,
    Envelope,
    parse_envelope,
    verify_envelope,
)
from crypto.errors import MalformedError

log = logging.getLogger("samtal.delivery")

# origin: the connection the message came in on, so that it is not echoed back to it.
MessageFanout = Callable[[Case, StoredMessage, object], None]
ReceiptFanout = Callable[[Case, ReceiptMarks], None]

# These refusals say something about the sender (a forged or replayed message, probing for cases), so they
# are kept as security events; plain malformed input is only logged.
SECURITY_CODES = frozenset({"bad_signature", "stale_epoch", "unknown_case", "forbidden", "device_not_owned",
                            "device_revoked"})


def parse_signed(raw: bytes) -> Envelope:
    """An envelope from a client (a message, or a call's signal), its shape checked; no keys needed."""
    if len(raw) > MAX_ENVELOPE_BYTES:
        raise InvalidInput(f"envelope is larger than {MAX_ENVELOPE_BYTES} bytes", code="too_large")
    try:
        return parse_envelope(raw)
    except MalformedError as exc:
        raise InvalidInput(f"malformed envelope: {exc}", code="malformed_envelope") from None


async def sending_device(store: Storage, user: User, device_id: str, env: Envelope) -> Device:
    """The envelope's sender is the connection's device, the user's own and not revoked."""
    named_sender(env, device_id)
    return await session_device(store, user, device_id)


def named_sender(env: Envelope, device_id: str) -> None:
    if env.header.sender_device != device_id:
        raise Forbidden("the envelope names another sending device", code="device_not_owned")


async def check_signed(store: Storage, case: Case, device: Device, env: Envelope) -> None:
    """The device's signature verifies (strictly) and the envelope is in the case's current key epoch."""
    signed_in_epoch(device, env, await store.current_case_epoch(case.id))


def signed_in_epoch(device: Device, env: Envelope, current: int) -> None:
    if not verify_envelope(env, device.sign_pub):
        raise BadSignature("the envelope's signature does not verify", code="bad_signature")
    if env.header.epoch != current:
        raise StaleEpoch(f"the case's current key epoch is {current}", code="stale_epoch")


async def check_relayed(store: Storage, case: Case, user: User, device_id: str, raw: bytes) -> Envelope:
    """An envelope the server relays but never stores (a call's signal, a journal draft shared live): as for
    a message, a well-formed envelope of this case, sent and signed by the connection's own device, in the
    case's current key epoch. The server cannot read it; the receiving browser checks it again and opens it."""
    env = parse_signed(raw)
    if env.header.case_id != case.id:
        raise InvalidInput("the envelope is for another case", code="invalid_field")
    await check_signed(store, case, await sending_device(store, user, device_id, env), env)
    return env


class MessageService:
    def __init__(self, store: Storage, on_message: MessageFanout, on_receipt: ReceiptFanout,
                 assignments: Assignments | None = None) -> None:
        self.store = store
        self.assignments = assignments if assignments is not None else Assignments(store)
        self.auditor = Auditor(store)
        self._on_message = on_message
        self._on_receipt = on_receipt
        # (case id, msg_id) -> the connection a message came from, from its queueing until it has been handed
        # over: a node that reads the case's messages from the database meanwhile (chat/messaging/feeds.py) may
        # find it committed before its own callback runs, and must not echo it to its sender either.
        self.sending: dict[tuple[str, str], object] = {}

    async def record_refusal(self, error: SamtalError, user: User | None, device_id: str | None,
                             case_id: str | None, action: str = "message.send") -> None:
        """Log every refusal without content, audit it as denied, and keep the security-relevant ones as
        security events too."""
        if isinstance(error, StorageUnavailable):
            return  # not the user's doing, and nothing can be written now; the storage log says it once
        reason = error.audit_reason if isinstance(error, Hidden) else error.code
        log.info("refused", extra={"code": error.code, "user": user.id if user else None})
        await self.auditor.record(user, action, "denied", case_id=case_id, reason=reason,
                                  detail={"device": device_id} if device_id else None)
        if reason in SECURITY_CODES:
            await self.store.add_security_event(reason, user_id=user.id if user else None,
                                                device_id=device_id, case_id=case_id, detail=error.message,
                                                at=now_ms())

    async def case_for(self, user: User, case_id: str, action: Action) -> Case:
        """The case, if it exists and the user may act on it. Unknown and forbidden are told apart only
        in the security log: both say what the user did, neither leaks to the user which cases exist."""
        return await self.authorized(user, await self.store.get_case(case_id), action)

    async def authorized(self, user: User, case: Case | None, action: Action) -> Case:
        """case_for, on a case already read."""
        if case is None:
            raise Hidden("case", "unknown")
        if not decide(user, Action.CASE_READ, case=case):
            raise Hidden("case", "forbidden")  # answered as unknown: case ids cannot be counted
        acting_for = (await self.assignments.acting_for(user, case.unit_id)
                      if action == Action.CASE_WRITE and user.is_staff else frozenset())
        decision = decide(user, action, case=case, acting_for=acting_for)
        if not decision:
            raise Forbidden(decision.reason, code="forbidden")
        return case

    async def send(self, user: User, device_id: str, raw: bytes, origin: object = None) -> Ack:
        """Check, store and fan out one envelope sent from `device_id` by `user`; returns the ack."""
        return await (await self.submit(user, device_id, raw, origin))

    async def submit(self, user: User, device_id: str, raw: bytes, origin: object = None,
                     blobs: tuple[str, ...] = ()) -> Coroutine[Any, Any, Ack]:
        """Check one envelope and queue it for storing, in the order submitted; returns what to await for
        the ack (the commit, then the fan-out). A connection can so submit its next message while the
        previous one is still being committed, and one commit covers more messages."""
        env = self._parse(raw)
        case_id = env.header.case_id
        try:
            case = await self._check(user, device_id, env)
        except SamtalError as error:
            await self.record_refusal(error, user, device_id, case_id)
            raise
        audit = event(user, "message.send", "allowed", case_id=case.id, unit_id=case.unit_id,
                      detail={"device": device_id, "msg_id": env.header.msg_id, "bytes": len(env.raw),
                              **on_behalf(user, case)})
        if origin is not None:
            self.sending[(case.id, env.header.msg_id)] = origin
        # `blobs`: the attachments the message uses, named by the sender beside the envelope (the server cannot
        # see inside it); bound to the message as it is stored, so that the sweep keeps them.
        stored = self.store.enqueue_message(case.id, env.header.msg_id, device_id, user.id, env.raw, audit, blobs)
        return self._after_commit(user, device_id, case, env, stored, origin)

    async def _after_commit(self, user: User, device_id: str, case: Case, env: Envelope,
                            stored: asyncio.Future[Ack], origin: object) -> Ack:
        try:
            try:
                ack = await stored
            except SamtalError as error:  # a msg_id used before for other bytes
                await self.record_refusal(error, user, device_id, case.id)
                raise
            if not ack.duplicate:
                self._on_message(case, StoredMessage(case.id, ack.seq, env.header.msg_id, device_id, user.id,
                                                     env.raw, ack.stored_at), origin)
            return ack
        finally:
            if origin is not None and self.sending.get((case.id, env.header.msg_id)) is origin:
                del self.sending[(case.id, env.header.msg_id)]

    @staticmethod
    def _parse(raw: bytes) -> Envelope:
        return parse_signed(raw)

    async def _check(self, user: User, device_id: str, env: Envelope) -> Case:
        named_sender(env, device_id)
        # The device, the case and its key epoch in one read: on PostgreSQL each read is a round trip (several
        # servers write, so nothing is kept in memory), and three per message kept the commit batches small.
        device, case, epoch = await self.store.send_context(device_id, env.header.case_id)
        device = own_active_device(user, device)
        case = await self.authorized(user, case, Action.CASE_WRITE)
        signed_in_epoch(device, env, epoch)
        return case

    async def history(self, user: User, case_id: str, after_seq: int, limit: int) -> list[StoredMessage]:
        case = await self.case_for(user, case_id, Action.CASE_READ)
        return await self.store.messages_after(case.id, after_seq, limit)

    async def mark(self, user: User, case_id: str, *, delivered_seq: int, read_seq: int) -> ReceiptMarks:
        case = await self.case_for(user, case_id, Action.CASE_READ)
        last = await self.store.last_seq(case.id)
        if max(delivered_seq, read_seq) > last:
            raise InvalidInput("a receipt cannot name a message that does not exist", code="invalid_field")
        marks = await self.store.mark_receipt(case.id, user.id, delivered_seq=delivered_seq, read_seq=read_seq)
        self._on_receipt(case, marks)
        return marks
