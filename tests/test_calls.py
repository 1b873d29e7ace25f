"""The video call's signalling over the real server with real clients (chat/booking/calls.py, docs/protocol.md §16):
the citizen and the caseworker join a booked video meeting's call and the server relays their sealed,
signed signals without storing them; people outside the call get error frames; the server refuses signals
it can tell are not the sender's; a call opens only near an active video booking's time; one person per
side, one device per person; leaving and lost connections are told to the other side; the STUN/TURN
servers go only to the call's people; joining and leaving are audited, the signals' content never."""
from __future__ import annotations

import itertools
import json
import secrets
import time
from typing import Any

import httpx
import pytest

from crypto.encoding import b64u, unb64u
from crypto.envelope import Header, new_msg_id, parse_envelope, seal_message
from tests.conftest import RunningServer, server_fixture
from tests.helpers import CASE_DANA, CASE_ERIK, next_frame
from web.client.session import ClientSession
from web.client.transport import ClientError, Socket

from .waiting import eventually

ICE = [{"urls": "stun:stun.example-kommun.se:3478"},
       {"urls": ["turn:turn.example-kommun.se:3478?transport=udp"], "username": "samtal", "credential": "turn-9f2c"}]
server = server_fixture(SAMTAL_ICE_SERVERS=json.dumps(ICE))
UNIT = "ekonomiskt-bistand"
MINUTE = 60_000
_slots = itertools.count()  # Anna's times in this module, one after the other so they never overlap


def now_ms() -> int:
    return int(time.time() * 1000)


async def booking(anna: ClientSession, citizen: ClientSession, case_id: str = CASE_DANA, form: str = "video",
                  starts_in_minutes: int | None = None) -> int:
    """Anna publishes a short time and the citizen books it; by default it starts within a few minutes, so
    its call is open."""
    # Half-minute times 40 s apart: twenty of them start within the quarter of an hour a call opens before.
    start = now_ms() + (MINUTE + 40_000 * next(_slots) if starts_in_minutes is None else starts_in_minutes * MINUTE)
    slot = await anna.transport.call("POST", f"/api/units/{UNIT}/slots", {
        "starts_at": start, "ends_at": start + 30_000, "forms": ["video", "phone"]})
    booked = await citizen.transport.call("POST", f"/api/cases/{case_id}/bookings",
                                          {"slot_id": slot["slot"]["id"], "form": form})
    return int(booked["booking"]["id"])


def call(t: str, booking_id: int, case_id: str = CASE_DANA, **extra: Any) -> dict[str, Any]:
    return {"t": t, "case_id": case_id, "booking_id": booking_id, **extra}


async def seal_signal(session: ClientSession, case_id: str, booking_id: int, to: str, kind: str = "offer",
                      sdp: str = "v=0") -> bytes:
    """A signal as a browser makes it (js/call-signal.js): a message envelope with a call.signal body."""
    case = await session.case(case_id)
    epoch, key = await session.case_key(case)
    assert session.device is not None
    header = Header(case_id, new_msg_id(), session.device_id, epoch, now_ms())
    body = {"type": "call.signal", "booking": booking_id, "to": to, "kind": kind, "call": new_msg_id(), "sdp": sdp}
    return seal_message(key, header, body, session.device.keys)


async def joined(session: ClientSession, booking_id: int) -> tuple[Socket, dict[str, Any]]:
    socket = await session.transport.open_socket()
    return socket, await socket.request(call("call.join", booking_id))


async def refused(socket: Socket, frame: dict[str, Any]) -> str:
    with pytest.raises(ClientError) as error:
        await socket.request(frame)
    return error.value.code


async def test_the_citizen_and_the_caseworker_join_and_relay_sealed_signals(login, server: RunningServer):
    anna, dana = await login("anna"), await login("dana")
    booking_id = await booking(anna, dana)
    dana_socket, first = await joined(dana, booking_id)
    assert first["peers"] == []
    anna_socket, second = await joined(anna, booking_id)
    assert second["peers"] == [{"user": "dana", "device": dana.device_id}]
    peer = await next_frame(dana_socket, "call.peer")
    assert (peer["event"], peer["user"], peer["device"]) == ("joined", "anna", anna.device_id)

    sdp = f"v=0 a=fingerprint:sha-256 {secrets.token_hex(8)}"
    env = await seal_signal(anna, CASE_DANA, booking_id, dana.device_id, sdp=sdp)
    assert (await anna_socket.request(call("call.signal", booking_id, to=dana.device_id, env=b64u(env))))["t"] == "ok"
    relayed = await next_frame(dana_socket, "call.signal")
    assert (relayed["from_user"], relayed["from_device"], unb64u(relayed["env"])) == ("anna", anna.device_id, env)
    # Dana's side opens it as it would a message: signature, owner of the device, the case key.
    header = parse_envelope(env).header
    opened = await dana.open(await dana.case(CASE_DANA), {
        "env": relayed["env"], "msg_id": header.msg_id, "sender": "anna", "sender_device": anna.device_id,
        "seq": 0, "stored_at": 0})
    assert opened.body["sdp"] == sdp and opened.body["to"] == dana.device_id

    # Relayed, never stored: not in the case's messages, and not in the database's bytes.
    assert all(m.msg_id != header.msg_id for m in await dana.history(await dana.case(CASE_DANA)))
    assert env[-64:] not in server.stored_bytes()

    await dana_socket.request(call("call.hangup", booking_id))
    left = await next_frame(anna_socket, "call.peer")
    assert (left["event"], left["user"], left["reason"]) == ("left", "dana", "hangup")
    assert await refused(dana_socket, call("call.hangup", booking_id)) == "not_in_call"
    await anna_socket.request(call("call.hangup", booking_id))
    for socket in (dana_socket, anna_socket):
        await socket.close()


async def test_people_outside_the_call_get_error_frames(login):
    anna, dana, erik, bo, cecilia = [await login(name) for name in ("anna", "dana", "erik", "bo", "cecilia")]
    booking_id = await booking(anna, dana)
    anna_socket, _ = await joined(anna, booking_id)
    # Another citizen (for whom Dana's case does not exist), a colleague not on the case, the supervisor: every
    # call frame is decided by the policy before the call is looked at.
    for outsider, code in ((erik, "unknown_case"), (bo, "forbidden"), (cecilia, "forbidden")):
        socket = await outsider.transport.open_socket()
        assert await refused(socket, call("call.join", booking_id)) == code
        env = await seal_signal(outsider, CASE_DANA if outsider is not erik else CASE_ERIK, booking_id,
                                anna.device_id)
        assert await refused(socket, call("call.signal", booking_id, to=anna.device_id, env=b64u(env))) == code
        assert await refused(socket, call("call.hangup", booking_id)) == code
        await socket.close()
    # Erik's own booking is no key to Dana's case either; Dana asking for it learns it is not hers.
    eriks = await booking(anna, erik, CASE_ERIK)
    socket = await erik.transport.open_socket()
    assert await refused(socket, call("call.join", eriks)) == "unknown_case"
    await socket.close()
    socket = await dana.transport.open_socket()
    assert await refused(socket, call("call.join", eriks)) == "unknown_booking"
    await socket.close()
    await anna_socket.close()


async def test_the_server_refuses_signals_it_can_tell_are_not_the_senders(login):
    anna, dana = await login("anna"), await login("dana")
    booking_id = await booking(anna, dana)
    dana_socket, _ = await joined(dana, booking_id)
    anna_socket, _ = await joined(anna, booking_id)
    good = await seal_signal(anna, CASE_DANA, booking_id, dana.device_id)

    def send(env: bytes, to: str | None = None) -> dict[str, Any]:
        return call("call.signal", booking_id, to=to or dana.device_id, env=b64u(env))

    tampered = bytearray(good)
    tampered[-10] ^= 1
    assert await refused(anna_socket, send(bytes(tampered))) == "bad_signature"
    someone_elses = await seal_signal(dana, CASE_DANA, booking_id, dana.device_id)
    assert await refused(anna_socket, send(someone_elses)) == "device_not_owned"
    other_case = await seal_signal(anna, CASE_ERIK, booking_id, dana.device_id)
    assert await refused(anna_socket, send(other_case)) == "invalid_field"
    assert await refused(anna_socket, send(good[:40])) == "malformed_envelope"
    assert await refused(anna_socket, send(good, to=anna.device_id)) == "not_in_call"  # not to oneself
    # Nothing of the refused ones reached Dana: the next signal she is given is the good one.
    await anna_socket.request(send(good))
    assert unb64u((await next_frame(dana_socket, "call.signal"))["env"]) == good
    for socket in (dana_socket, anna_socket):
        await socket.close()


async def test_a_call_opens_only_near_the_time_of_an_active_video_booking(login):
    anna, dana = await login("anna"), await login("dana")
    socket = await dana.transport.open_socket()
    later = await booking(anna, dana, starts_in_minutes=3 * 24 * 60)
    assert await refused(socket, call("call.join", later)) == "call_not_open"
    by_phone = await booking(anna, dana, form="phone")
    assert await refused(socket, call("call.join", by_phone)) == "call_not_open"
    cancelled = await booking(anna, dana)
    await anna.transport.call("POST", f"/api/cases/{CASE_DANA}/bookings/{cancelled}/cancel", {})  # on her behalf
    assert await refused(socket, call("call.join", cancelled)) == "call_not_open"
    details = await dana.transport.call("GET", f"/api/cases/{CASE_DANA}/calls/{later}")
    assert details["call"]["open"] is False
    assert details["call"]["opens_at"] == details["call"]["starts_at"] - 15 * MINUTE
    await socket.close()


async def test_one_person_a_side_and_one_device_a_person(login, tmp_path):
    anna, dana, bo, cecilia = [await login(name) for name in ("anna", "dana", "bo", "cecilia")]
    booking_id = await booking(anna, dana)
    # Bo stands in for Anna for an hour: he may take the call, but not while Anna is in it.
    substitution = await cecilia.transport.call("POST", f"/api/units/{UNIT}/substitutes", {
        "absent_user": "anna", "substitute": "bo", "starts_at": now_ms() - MINUTE, "ends_at": now_ms() + 60 * MINUTE})
    try:
        details = await dana.transport.call("GET", f"/api/cases/{CASE_DANA}/calls/{booking_id}")
        assert {p["id"] for p in details["call"]["unit_side"]} == {"anna", "bo"}
        anna_socket, _ = await joined(anna, booking_id)
        bo_socket = await bo.transport.open_socket()
        assert await refused(bo_socket, call("call.join", booking_id)) == "call_full"
    finally:
        await cecilia.transport.call("DELETE", f"/api/units/{UNIT}/substitutes/{substitution['id']}")

    dana_socket, _ = await joined(dana, booking_id)
    assert (await next_frame(anna_socket, "call.peer"))["event"] == "joined"
    # Dana joins again from another device: the first one is out of the call, and Anna is told both.
    phone = ClientSession(anna.transport.server, tmp_path / "phone", "dana")
    await phone.start()
    try:
        phone_socket, answer = await joined(phone, booking_id)
        assert answer["peers"] == [{"user": "anna", "device": anna.device_id}]
        ended = await next_frame(dana_socket, "call.ended")
        assert ended["reason"] == "joined_elsewhere"
        left, came = await next_frame(anna_socket, "call.peer"), await next_frame(anna_socket, "call.peer")
        assert (left["event"], left["device"], left["reason"]) == ("left", dana.device_id, "joined_elsewhere")
        assert (came["event"], came["device"]) == ("joined", phone.device_id)
        # A lost connection leaves the call; the other side is told, and may wait for it to come back.
        await phone_socket.close()
        gone = await next_frame(anna_socket, "call.peer")
        assert (gone["event"], gone["device"], gone["reason"]) == ("left", phone.device_id, "disconnected")
    finally:
        await phone.close()
    for socket in (anna_socket, bo_socket, dana_socket):
        await socket.close()


async def test_the_stun_and_turn_servers_go_only_to_the_people_of_the_call(login, server: RunningServer):
    anna, dana, erik, bo = [await login(name) for name in ("anna", "dana", "erik", "bo")]
    booking_id = await booking(anna, dana)
    path = f"/api/cases/{CASE_DANA}/calls/{booking_id}"
    for person in (dana, anna):
        details = await person.transport.call("GET", path)
        assert details["ice_servers"] == ICE
        assert details["call"]["open"] is True
        assert details["call"]["citizen"] == {"id": "dana", "name": "Dana Karlsson"}
        assert details["call"]["caseworker"] == {"id": "anna", "name": "Anna Lind"}
    for outsider, status in ((erik, 404), (bo, 403)):  # Erik's is not his case at all; Bo reads it, not calls
        with pytest.raises(ClientError) as error:
            await outsider.transport.call("GET", path)
        assert error.value.status == status
    anonymous = httpx.get(server.url + path, timeout=10)
    assert anonymous.status_code == 401 and "turn-9f2c" not in anonymous.text


async def test_joining_and_leaving_are_audited_and_no_signal_is_logged(login, server: RunningServer):
    started = now_ms()
    anna, dana, erik, greta = [await login(name) for name in ("anna", "dana", "erik", "greta")]
    booking_id = await booking(anna, dana)
    dana_socket, _ = await joined(dana, booking_id)
    anna_socket, _ = await joined(anna, booking_id)
    marker = f"a=fingerprint:sha-256 {secrets.token_hex(12)}"
    env = await seal_signal(anna, CASE_DANA, booking_id, dana.device_id, sdp=marker)
    await anna_socket.request(call("call.signal", booking_id, to=dana.device_id, env=b64u(env)))
    await next_frame(dana_socket, "call.signal")
    erik_socket = await erik.transport.open_socket()
    await refused(erik_socket, call("call.join", booking_id))
    await anna_socket.request(call("call.hangup", booking_id))
    await next_frame(dana_socket, "call.peer")
    await dana_socket.close()

    # Dana's leaving is recorded when the server has seen her connection close: wait for it (bounded).
    async def both_left() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        rows = (await greta.transport.call("GET", "/api/audit", params={"case": CASE_DANA, "from": started}))["rows"]
        mine = [r for r in rows if r["detail"].get("booking") == booking_id or r["action"] == "ws.call.join"]
        assert sum(r["action"] == "call.left" for r in mine) == 2, mine
        return rows, mine
    rows, mine = await eventually(both_left, within=20)
    joins = [(r["actor"], r["detail"]["device"]) for r in mine if r["action"] == "call.joined"]
    assert joins == [("dana", dana.device_id), ("anna", anna.device_id)]
    leaves = {r["actor"]: r["detail"] for r in mine if r["action"] == "call.left"}
    assert leaves["anna"]["reason"] == "hangup" and leaves["anna"]["signals"] == 1
    assert leaves["dana"]["reason"] == "disconnected"
    assert any(r["actor"] == "erik" and r["outcome"] == "denied" and r["reason"] == "forbidden" for r in mine)
    everything = server.log_text() + json.dumps(rows)
    assert marker not in everything and b64u(env) not in everything
    assert marker.encode() not in server.stored_bytes()
    for socket in (anna_socket, erik_socket):
        await socket.close()
