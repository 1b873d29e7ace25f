"""WebSocket frames: every valid client frame is accepted as sent, every malformed one is refused with a
typed error (echoing the client's ref where it can), and server frames carry their documented fields."""
from __future__ import annotations

import json
import os
from typing import Any

import pytest

from chat.model import ReceiptMarks, StoredMessage
from crypto.encoding import unb64u
from web.frames import (
    CASE_ID_MAX,
    CLIENT_FRAMES,
    MAX_CURSORS,
    SEQ_MAX,
    FrameError,
    error_frame,
    message_frame,
    parse_client_frame,
    receipt_frame,
)

ENV_MAX = 96 * 1024

VALID: dict[str, dict[str, Any]] = {
    "send": {"t": "send", "ref": "r1", "env": "AAECAw"},
    "resume": {"t": "resume", "cursors": {"c1": 0, "c2": SEQ_MAX}},
    "receipt": {"t": "receipt", "case_id": "c1", "delivered_seq": 3, "read_seq": 2},
    "watch": {"t": "watch", "case_id": "c1"},
    "unwatch": {"t": "unwatch", "ref": "r2", "case_id": "c1"},
    "ping": {"t": "ping"},
    "call.join": {"t": "call.join", "ref": "r3", "case_id": "c1", "booking_id": 7},
    "call.signal": {"t": "call.signal", "case_id": "c1", "booking_id": 7, "to": "A" * 22, "env": "AAECAw"},
    "call.hangup": {"t": "call.hangup", "case_id": "c1", "booking_id": 7},
    "journal.live": {"t": "journal.live", "ref": "r4", "case_id": "c1", "entry_id": "B" * 22, "env": "AAECAw"},
    "journal.live_end": {"t": "journal.live_end", "case_id": "c1", "entry_id": "B" * 22},
}


def parse(frame: dict[str, Any]) -> dict[str, Any]:
    return parse_client_frame(json.dumps(frame))


def refusal(text: str) -> FrameError:
    with pytest.raises(FrameError) as refused:
        parse_client_frame(text)
    return refused.value


# -- accepted --------------------------------------------------------------------------------------


def test_every_client_frame_type_has_a_valid_example_here() -> None:
    assert set(VALID) == set(CLIENT_FRAMES)


@pytest.mark.parametrize("frame", VALID.values(), ids=list(VALID))
def test_a_valid_frame_is_accepted_as_sent(frame: dict[str, Any]) -> None:
    assert parse(frame) == frame


@pytest.mark.parametrize("frame", [
    {"t": "receipt", "case_id": "c1", "read_seq": 0},
    {"t": "receipt", "case_id": "c1", "delivered_seq": SEQ_MAX},
    {"t": "send", "env": "A" * ENV_MAX, "ref": "r" * 64},
    {"t": "watch", "case_id": "c" * CASE_ID_MAX},
    {"t": "resume", "cursors": {}},
    {"t": "resume", "cursors": {f"case-{i}": i for i in range(MAX_CURSORS)}},
], ids=["read-only", "delivered-only", "longest-env-and-ref", "longest-case-id", "no-cursors", "most-cursors"])
def test_frames_at_the_limits_are_accepted(frame: dict[str, Any]) -> None:
    assert parse(frame) == frame


# -- refused ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["not json", "", "{", "[1, 2]", '"ping"', "null", "42", "true"])
def test_anything_but_a_json_object_is_a_malformed_frame(text: str) -> None:
    refused = refusal(text)
    assert (refused.code, refused.ref) == ("malformed_frame", None)


def test_deeply_nested_json_is_refused_as_too_deep() -> None:
    assert refusal("[" * 100_000 + "]" * 100_000).code == "json_too_deep"
    assert refusal("[" * 33 + "]" * 33).code == "json_too_deep"  # the one parser's limit (chat/json_input.py)


@pytest.mark.parametrize(("frame", "ref"), [
    ({"t": "nope", "ref": "r7"}, "r7"),
    ({"t": "nope"}, None),
    ({"ref": "r8"}, "r8"),
    ({"t": "PING"}, None),
    ({"t": 1, "ref": "r9"}, "r9"),
    ({"t": "nope", "ref": "r" * 65}, None),  # too long to be a ref: not echoed
])
def test_an_unknown_frame_type_is_refused_and_the_ref_echoed(frame: dict[str, Any], ref: str | None) -> None:
    refused = refusal(json.dumps(frame))
    assert (refused.code, refused.ref) == ("unknown_frame", ref)


@pytest.mark.parametrize("kind", [[], {}], ids=["list", "object"])
def test_an_unhashable_frame_type_is_an_unknown_frame(kind: object) -> None:
    assert refusal(json.dumps({"t": kind, "ref": "r1"})).code == "unknown_frame"


INVALID = {
    "unknown field": {"t": "ping", "ref": "r1", "extra": 1},
    "missing field": {"t": "send", "ref": "r1"},
    "env not a string": {"t": "send", "ref": "r1", "env": 5},
    "ref not a string": {"t": "ping", "ref": 5},
    "case_id null": {"t": "watch", "ref": "r1", "case_id": None},
    "bool as seq": {"t": "receipt", "ref": "r1", "case_id": "c1", "read_seq": True},
    "float as seq": {"t": "receipt", "ref": "r1", "case_id": "c1", "read_seq": 1.0},
    "string as seq": {"t": "receipt", "ref": "r1", "case_id": "c1", "delivered_seq": "3"},
    "negative seq": {"t": "receipt", "ref": "r1", "case_id": "c1", "read_seq": -1},
    "seq past 2^53-1": {"t": "receipt", "ref": "r1", "case_id": "c1", "delivered_seq": SEQ_MAX + 1},
    "receipt without a seq": {"t": "receipt", "ref": "r1", "case_id": "c1"},
    "env too long": {"t": "send", "ref": "r1", "env": "A" * (ENV_MAX + 1)},
    "case_id too long": {"t": "watch", "ref": "r1", "case_id": "c" * (CASE_ID_MAX + 1)},
    "ref too long": {"t": "ping", "ref": "r" * 65},
    "cursors not an object": {"t": "resume", "ref": "r1", "cursors": [["c1", 0]]},
    "too many cursors": {"t": "resume", "ref": "r1", "cursors": {f"c{i}": 0 for i in range(MAX_CURSORS + 1)}},
    "negative cursor": {"t": "resume", "ref": "r1", "cursors": {"c1": -1}},
    "cursor past 2^53-1": {"t": "resume", "ref": "r1", "cursors": {"c1": SEQ_MAX + 1}},
    "bool cursor": {"t": "resume", "ref": "r1", "cursors": {"c1": True}},
    "float cursor": {"t": "resume", "ref": "r1", "cursors": {"c1": 1.5}},
    "string cursor": {"t": "resume", "ref": "r1", "cursors": {"c1": "1"}},
    "null cursor": {"t": "resume", "ref": "r1", "cursors": {"c1": None}},
    "empty case id in cursors": {"t": "resume", "ref": "r1", "cursors": {"": 0}},
    "long case id in cursors": {"t": "resume", "ref": "r1", "cursors": {"c" * (CASE_ID_MAX + 1): 0}},
}


@pytest.mark.parametrize("frame", INVALID.values(), ids=list(INVALID))
def test_an_invalid_field_is_refused_and_the_ref_echoed(frame: dict[str, Any]) -> None:
    refused = refusal(json.dumps(frame))
    assert refused.code == "invalid_field"
    assert refused.ref == (frame["ref"] if isinstance(frame["ref"], str) and len(frame["ref"]) <= 64 else None)


# -- server frames ---------------------------------------------------------------------------------


def test_message_frame_carries_the_stored_message() -> None:
    envelope = os.urandom(300)
    text = message_frame(StoredMessage("c1", 42, "msg-1", "dev-dana", "dana", envelope, 1_700_000_000_123))
    frame = json.loads(text)
    assert frame == {"t": "msg", "case_id": "c1", "seq": 42, "msg_id": "msg-1", "sender": "dana",
                     "sender_device": "dev-dana", "env": frame["env"], "stored_at": 1_700_000_000_123}
    assert unb64u(frame["env"]) == envelope


def test_receipt_frame_carries_the_marks() -> None:
    assert json.loads(receipt_frame(ReceiptMarks("c1", "anna", 7, 5))) == {
        "t": "receipt", "case_id": "c1", "user": "anna", "delivered_seq": 7, "read_seq": 5}


def test_error_frame_carries_code_message_ref_and_extras() -> None:
    text = error_frame("rate_limited", "för många meddelanden", "r1", retry_after=3)
    assert json.loads(text) == {"t": "error", "code": "rate_limited", "message": "för många meddelanden",
                                "ref": "r1", "retry_after": 3}
    assert '"message":"för många meddelanden"' in text  # compact, and UTF-8 rather than \u escapes
    assert json.loads(error_frame("malformed_frame", "bad")) == {"t": "error", "code": "malformed_frame",
                                                                 "message": "bad"}
