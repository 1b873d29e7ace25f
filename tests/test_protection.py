"""Skyddade personuppgifter through the real server: a supervisor flags a citizen of the unit's cases and
clears the flag, other roles may not, every case of theirs shows it to the unit's staff, each change is in the
audit log; and their video calls must go through a relay: with none configured the call details say so and
joining is refused (relay_unavailable), while everyone else's calls are as before."""
from __future__ import annotations

import json

import pytest

from tests.helpers import CASE_DANA, CASE_ERIK
from tests.test_calls import booking, call, refused
from web.calls import ice_config
from web.client.transport import ClientError
from web.config import Settings

PROTECT = f"/api/cases/{CASE_DANA}/protected-identity"


def audited(server) -> list[tuple[str, str, dict]]:  # type: ignore[no-untyped-def]
    with server.db() as db:
        return [(a, c, json.loads(d)) for a, c, d in db.execute(
            "SELECT action, case_id, detail FROM audit_log WHERE action LIKE 'citizen.%protected' ORDER BY id")]


async def flags(session) -> dict[str, bool]:  # type: ignore[no-untyped-def]
    cases = (await session.transport.call("GET", "/api/cases"))["cases"]
    return {c["id"]: c["protected_identity"] for c in cases}


async def test_a_supervisor_flags_a_protected_identity_and_calls_need_a_relay(login, server):
    cecilia, anna, dana, erik = await login("cecilia"), await login("anna"), await login("dana"), await login("erik")
    assert (await flags(anna))[CASE_DANA] is False
    for person in (anna, dana):
        with pytest.raises(ClientError) as error:
            await person.transport.call("PUT", PROTECT, {"protected": True})
        assert (error.value.status, error.value.code) == (403, "forbidden")
    assert await cecilia.transport.call("PUT", PROTECT, {"protected": True}) == {
        "case_id": CASE_DANA, "protected_identity": True}
    await cecilia.transport.call("PUT", PROTECT, {"protected": True})  # again: no change, no second row
    assert await flags(anna) == {**await flags(anna), CASE_DANA: True, CASE_ERIK: False}
    case = await anna.transport.call("GET", f"/api/cases/{CASE_DANA}")
    assert case["case"]["protected_identity"] is True

    try:
        # No TURN relay on this server: Dana's video call cannot be held, and both sides are told why.
        booking_id = await booking(anna, dana)
        details = await dana.transport.call("GET", f"/api/cases/{CASE_DANA}/calls/{booking_id}")
        assert (details["ice_transport_policy"], details["relay_available"]) == ("relay", False)
        socket = await dana.transport.open_socket()
        assert await refused(socket, call("call.join", booking_id)) == "relay_unavailable"
        # Erik is not protected: his call is as before.
        erik_booking = await booking(anna, erik, CASE_ERIK)
        erik_details = await erik.transport.call("GET", f"/api/cases/{CASE_ERIK}/calls/{erik_booking}")
        assert erik_details["ice_transport_policy"] == "all"
        erik_socket = await erik.transport.open_socket()
        answer = await erik_socket.request(call("call.join", erik_booking, CASE_ERIK))
        assert answer["t"] == "call.joined"
    finally:
        await cecilia.transport.call("PUT", PROTECT, {"protected": False})
    assert (await flags(anna))[CASE_DANA] is False
    assert audited(server) == [("citizen.protected", CASE_DANA, {"citizen": "dana"}),
                               ("citizen.unprotected", CASE_DANA, {"citizen": "dana"})]


def test_a_protected_identitys_call_goes_through_the_relay_when_there_is_one(monkeypatch):
    monkeypatch.setenv("SAMTAL_TURN_SECRET", "a" * 32)
    monkeypatch.setenv("SAMTAL_TURN_URLS", "turn:turn.example-kommun.se:3478")
    monkeypatch.delenv("SAMTAL_CALL_RELAY_ONLY", raising=False)
    settings = Settings()
    assert ice_config(settings, "dana", 10_000, protected=True)["ice_transport_policy"] == "relay"
    assert ice_config(settings, "erik", 10_000, protected=False)["ice_transport_policy"] == "all"
    assert ice_config(settings, "dana", 10_000, protected=True)["relay_available"] is True
