"""Settings that are checked when the server starts, so that a mistake stops it at once instead of breaking
something later: here the STUN/TURN servers of the video call and its TURN credentials."""
from __future__ import annotations

import json

import pytest

from web.config import Settings

TURN = {"urls": ["turn:turn.example-kommun.se:3478", "turns:turn.example-kommun.se:5349"], "username": "samtal",
        "credential": "s3cret"}


def test_ice_servers_are_read_as_rtcpeerconnection_takes_them(monkeypatch):
    monkeypatch.delenv("SAMTAL_ICE_SERVERS", raising=False)
    assert Settings().ice_servers == []  # host candidates only
    monkeypatch.setenv("SAMTAL_ICE_SERVERS", json.dumps([{"urls": "stun:stun.example-kommun.se"}, TURN]))
    assert Settings().ice_servers == [{"urls": "stun:stun.example-kommun.se"}, TURN]


@pytest.mark.parametrize("value", [
    "stun:stun.example-kommun.se",  # not JSON
    '{"urls": "stun:x"}',  # not a list
    '[{"urls": "https://x"}]',  # not a STUN or TURN address
    '[{"urls": []}]',
    '[{"url": "stun:x"}]',  # the old, misspelt member
    '[{"urls": "turn:x", "credential": 5}]',
    '[{"urls": "turn:x", "credentialType": "oauth"}]',
])
def test_a_wrong_ice_server_setting_stops_the_server(monkeypatch, value):
    monkeypatch.setenv("SAMTAL_ICE_SERVERS", value)
    with pytest.raises(SystemExit) as stopped:
        Settings()
    assert "SAMTAL_ICE_SERVERS" in str(stopped.value)


TURN_ENV = ("SAMTAL_TURN_SECRET", "SAMTAL_TURN_URLS", "SAMTAL_CALL_RELAY_ONLY", "SAMTAL_ICE_SERVERS")


@pytest.mark.parametrize(("env", "says"), [
    ({"SAMTAL_TURN_SECRET": "a" * 32}, "go together"),
    ({"SAMTAL_TURN_URLS": "turn:turn.example-kommun.se:3478"}, "go together"),
    ({"SAMTAL_TURN_SECRET": "short", "SAMTAL_TURN_URLS": "turn:turn.example-kommun.se:3478"}, "16 characters"),
    ({"SAMTAL_TURN_SECRET": "a" * 32, "SAMTAL_TURN_URLS": "stun:turn.example-kommun.se"}, "SAMTAL_TURN_URLS"),
    ({"SAMTAL_TURN_SECRET": "a" * 32, "SAMTAL_TURN_URLS": "turn:a b"}, "SAMTAL_TURN_URLS"),
    ({"SAMTAL_CALL_RELAY_ONLY": "1"}, "needs a TURN server"),
    ({"SAMTAL_CALL_RELAY_ONLY": "1", "SAMTAL_ICE_SERVERS": '[{"urls": "stun:stun.example-kommun.se"}]'},
     "needs a TURN server"),
])
def test_a_wrong_turn_setting_stops_the_server(monkeypatch, env, says):
    for name in TURN_ENV:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SystemExit) as stopped:
        Settings().validate()
    assert says in str(stopped.value)


def test_relay_only_with_a_static_turn_server_or_time_limited_credentials_starts(monkeypatch):
    for name in TURN_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SAMTAL_CALL_RELAY_ONLY", "1")
    monkeypatch.setenv("SAMTAL_ICE_SERVERS", json.dumps([TURN]))
    Settings().validate()
    monkeypatch.delenv("SAMTAL_ICE_SERVERS")
    monkeypatch.setenv("SAMTAL_TURN_SECRET", "a" * 32)
    monkeypatch.setenv("SAMTAL_TURN_URLS", "turn:turn.example-kommun.se:3478, turns:turn.example-kommun.se:5349")
    settings = Settings()
    settings.validate()
    assert settings.turn_urls == ["turn:turn.example-kommun.se:3478", "turns:turn.example-kommun.se:5349"]
