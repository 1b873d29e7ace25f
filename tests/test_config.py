"""Settings that are checked when the server starts, so that a mistake stops it at once instead of breaking
something later: here the STUN/TURN servers of the video call."""
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
