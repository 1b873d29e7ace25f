"""The WebSocket frames: every frame type, its schema and its policy action, named once here.

A frame is a JSON object with a type field "t". Client frames may carry "ref" (a string of the client's
choosing, echoed in the answer). Unknown types and fields, wrong types and out-of-range values are refused
with an error frame; the connection stays usable. See docs/protocol.md, section Transport."""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from chat import json_input
from chat.model import ReceiptMarks, StoredMessage
from chat.policy import Action
from crypto.encoding import b64u, unb64u
from crypto.errors import MalformedError

CASE_ID_MAX = 64
MAX_FRAME_BYTES = 4 * 1024 * 1024  # the WebSocket's own limit is lower (web/cli/main.py); this bounds the parser
MAX_CURSORS = 500
MAX_MESSAGE_BLOBS = 10  # attachments one message may use
BLOB_ID_MAX = 64
SEQ_MAX = 2**53 - 1  # the largest integer a browser's JSON parser keeps exactly


class FrameError(ValueError):
    def __init__(self, code: str, message: str, ref: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.ref = ref


@dataclass(frozen=True)
class Field:
    kind: type
    required: bool = True
    max_len: int | None = None


def _str(max_len: int, required: bool = True) -> Field:
    return Field(str, required, max_len)


def _int(required: bool = True) -> Field:
    return Field(int, required)


REF = _str(64, required=False)
CASE = _str(CASE_ID_MAX)
ENV = _str(96 * 1024)  # base64url of an envelope of at most 64 KiB
DEVICE_ID = _str(22)
ENTRY_ID = _str(22)
# Frame type -> (fields, the policy action that decides it).
CLIENT_FRAMES: dict[str, tuple[dict[str, Field], Action]] = {
    # `blobs`: the ids of the case attachments the message uses (they are named inside the envelope too), so
    # that the server keeps them; an attachment no message names is removed (docs/protocol.md §14.2).
    "send": ({"ref": REF, "env": ENV, "blobs": Field(list, required=False)}, Action.CASE_WRITE),
    "resume": ({"ref": REF, "cursors": Field(dict), "generation": _str(64, required=False)}, Action.CASE_READ),
    "receipt": ({"ref": REF, "case_id": CASE, "delivered_seq": _int(False), "read_seq": _int(False)},
                Action.CASE_READ),
    "watch": ({"ref": REF, "case_id": CASE}, Action.CASE_READ),
    "unwatch": ({"ref": REF, "case_id": CASE}, Action.CASE_READ),
    "ping": ({"ref": REF}, Action.SELF),
    # The video call of a booked meeting (chat/booking/calls.py); signals are envelopes, relayed and never stored.
    "call.join": ({"ref": REF, "case_id": CASE, "booking_id": _int()}, Action.CALL_JOIN),
    "call.signal": ({"ref": REF, "case_id": CASE, "booking_id": _int(), "to": DEVICE_ID, "env": ENV},
                    Action.CALL_JOIN),
    "call.hangup": ({"ref": REF, "case_id": CASE, "booking_id": _int()}, Action.CALL_JOIN),
    # A journal draft shared live (chat/journal/live.py): snapshots are envelopes, relayed and never stored.
    "journal.live": ({"ref": REF, "case_id": CASE, "entry_id": ENTRY_ID, "env": ENV}, Action.JOURNAL_WRITE),
    "journal.live_end": ({"ref": REF, "case_id": CASE, "entry_id": ENTRY_ID}, Action.JOURNAL_WRITE),
}


def parse_client_frame(text: str) -> dict[str, Any]:
    try:
        frame = json_input.parse(text, max_bytes=MAX_FRAME_BYTES)
    except json_input.JsonRefused as refused:
        code = "malformed_frame" if refused.code == "malformed_body" else refused.code
        raise FrameError(code, "a frame must be a JSON object" if code == "malformed_frame" else refused.message) \
            from None
    if not isinstance(frame, dict):
        raise FrameError("malformed_frame", "a frame must be a JSON object")
    ref = frame.get("ref") if isinstance(frame.get("ref"), str) and len(frame["ref"]) <= 64 else None
    kind = frame.get("t")
    if not isinstance(kind, str) or kind not in CLIENT_FRAMES:
        raise FrameError("unknown_frame", f"unknown frame type {str(kind)[:32]!r}", ref)
    fields, _ = CLIENT_FRAMES[kind]
    for name, value in frame.items():
        if name == "t":
            continue
        spec = fields.get(name)
        if spec is None:
            raise FrameError("invalid_field", f"unknown field {name[:32]!r} in {kind}", ref)
        found: type = type(value)  # compared apart from value, which stays Any for the checks below
        if found is not spec.kind:  # bool is not an int here
            raise FrameError("invalid_field", f"{name} must be {spec.kind.__name__}", ref)
        if spec.max_len is not None and len(value) > spec.max_len:
            raise FrameError("invalid_field", f"{name} is too long", ref)
        if spec.kind is int and not 0 <= value <= SEQ_MAX:
            raise FrameError("invalid_field", f"{name} is out of range", ref)
    for name, spec in fields.items():
        if spec.required and name not in frame:
            raise FrameError("invalid_field", f"{kind} needs {name}", ref)
    if kind == "resume":
        _check_cursors(frame["cursors"], ref)
    if "blobs" in frame:
        _check_blobs(frame["blobs"], ref)
    if kind == "receipt" and "delivered_seq" not in frame and "read_seq" not in frame:
        raise FrameError("invalid_field", "receipt needs delivered_seq or read_seq", ref)
    return frame


def _check_cursors(cursors: dict[str, Any], ref: str | None) -> None:
    if len(cursors) > MAX_CURSORS:
        raise FrameError("invalid_field", f"at most {MAX_CURSORS} cursors", ref)
    for case_id, seq in cursors.items():
        if not case_id or len(case_id) > CASE_ID_MAX or type(seq) is not int or not 0 <= seq <= SEQ_MAX:
            raise FrameError("invalid_field", "cursors maps case ids to the last seq held", ref)


def _check_blobs(blobs: list[Any], ref: str | None) -> None:
    if len(blobs) > MAX_MESSAGE_BLOBS or not all(isinstance(b, str) and 0 < len(b) <= BLOB_ID_MAX for b in blobs):
        raise FrameError("invalid_field", f"blobs lists at most {MAX_MESSAGE_BLOBS} attachment ids", ref)


def envelope_bytes(frame: dict[str, Any], ref: str | None) -> bytes:
    """The frame's `env` (a message, a call's signal, a draft's snapshot) as bytes."""
    try:
        return unb64u(frame["env"])
    except MalformedError:
        raise FrameError("invalid_field", "env must be base64url without padding", ref) from None


def dump(frame: dict[str, Any]) -> str:
    return json.dumps(frame, separators=(",", ":"), ensure_ascii=False)


def message_frame(msg: StoredMessage) -> str:
    return dump({"t": "msg", "case_id": msg.case_id, "seq": msg.seq, "msg_id": msg.msg_id,
                 "sender": msg.sender_user, "sender_device": msg.sender_device, "env": b64u(msg.envelope),
                 "stored_at": msg.stored_at})


def receipt_frame(marks: ReceiptMarks) -> str:
    return dump({"t": "receipt", "case_id": marks.case_id, "user": marks.user_id,
                 "delivered_seq": marks.delivered_seq, "read_seq": marks.read_seq})


def error_frame(code: str, message: str, ref: str | None = None, **extra: Any) -> str:
    frame: dict[str, Any] = {"t": "error", "code": code, "message": message}
    if ref is not None:
        frame["ref"] = ref
    frame.update(extra)
    return dump(frame)


def call_peer_frame(case_id: str, booking_id: int, event: str, user_id: str, device_id: str,
                    reason: str | None = None) -> str:
    """Someone joined or left a call you are in (reason: hangup, disconnected, joined_elsewhere)."""
    frame = {"t": "call.peer", "case_id": case_id, "booking_id": booking_id, "event": event, "user": user_id,
             "device": device_id}
    return dump(frame if reason is None else {**frame, "reason": reason})


def call_signal_frame(case_id: str, booking_id: int, from_user: str, from_device: str, env: str) -> str:
    return dump({"t": "call.signal", "case_id": case_id, "booking_id": booking_id, "from_user": from_user,
                 "from_device": from_device, "env": env})


def call_ended_frame(case_id: str, booking_id: int, reason: str) -> str:
    return dump({"t": "call.ended", "case_id": case_id, "booking_id": booking_id, "reason": reason})


def application_frame(application_id: str, case_id: str, unit_id: str, status: str, what: str, at: int) -> str:
    """An application's status changed (docs/applications.md): metadata only, the content stays sealed."""
    return dump({"t": "application", "application_id": application_id, "case_id": case_id, "unit_id": unit_id,
                 "status": status, "what": what, "at": at})


def journal_frame(case_id: str, entry_id: str | None, what: str, at: int) -> str:
    """Something changed in a case's documentation (docs/documentation.md): metadata only; pages reload."""
    return dump({"t": "journal", "case_id": case_id, "entry_id": entry_id, "what": what, "at": at})


def pending_frame(case_id: str, what: str, at: int) -> str:
    """The case's waiting work may have changed (an application, the documentation or a booking): the home
    pages fetch the case's metadata again (chat/pending.py). Nothing of the content."""
    return dump({"t": "pending", "case_id": case_id, "what": what, "at": at})


def journal_live_frame(case_id: str, entry_id: str, from_user: str, from_device: str, env: str) -> str:
    """The newest snapshot of a draft shared live: an envelope under the case key, to be checked and opened."""
    return dump({"t": "journal.live", "case_id": case_id, "entry_id": entry_id, "from_user": from_user,
                 "from_device": from_device, "env": env})


def journal_live_end_frame(case_id: str, entry_id: str, reason: str) -> str:
    return dump({"t": "journal.live_end", "case_id": case_id, "entry_id": entry_id, "reason": reason})


KEYS_PENDING = dump({"t": "keys", "what": "pending"})
KEYS_UPDATED = dump({"t": "keys", "what": "updated"})
