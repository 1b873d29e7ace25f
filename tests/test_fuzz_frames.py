"""Property tests of the WebSocket frames (web/frames.py, web/ws.py; issue #15 item 2), with a fixed seed: any
text is a frame of the declared shape or a typed FrameError, never another exception; and on a real server,
whatever a signed-in citizen sends over one socket (frames of every type with values of any kind, missing
and extra fields, someone else's case, junk), the socket stays open, answers the next ping, and no answer is
an internal error."""
from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from websockets.sync.client import ClientConnection, connect

from crypto.encoding import b64u
from web.client.session import ClientSession
from web.frames import CLIENT_FRAMES, SEQ_MAX, FrameError, parse_client_frame
from web.sessions import COOKIE

from .conftest import server_fixture
from .fuzzing import examples
from .helpers import CASE_DANA, CASE_ERIK

server = server_fixture(SAMTAL_SEND_RATE="100000", SAMTAL_SEND_BURST="100000")

scalars = (st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False)
           | st.text(max_size=30) | st.sampled_from([CASE_DANA, CASE_ERIK, "", "x" * 65, "\u00e5\u00e4\u00f6"]))
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3)
                           | st.dictionaries(st.text(max_size=8), inner, max_size=3), max_leaves=8)


def field_values(kind: type) -> st.SearchStrategy[Any]:
    """Mostly values of the field's own kind (so that frames get past the shape check), sometimes anything."""
    own = {str: st.text(max_size=30) | st.sampled_from([CASE_DANA, CASE_ERIK, "A" * 22])
                | st.binary(max_size=200).map(b64u),
           int: st.integers(0, SEQ_MAX) | st.integers(-(2**64), 2**64),
           dict: st.dictionaries(st.sampled_from([CASE_DANA, CASE_ERIK, "", "nope"]) | st.text(max_size=70),
                                 st.integers(-5, 2**60) | json_values, max_size=4),
           list: st.lists(st.text(max_size=70) | json_values, max_size=12)}[kind]
    return own | json_values if kind is not dict else own


@st.composite
def frames(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(sorted(CLIENT_FRAMES)) | st.text(max_size=12))
    fields = CLIENT_FRAMES.get(kind, ({}, None))[0]
    frame: dict[str, Any] = {"t": kind}
    for name, spec in fields.items():
        if name != "ref" and draw(st.integers(0, 9)) > 0:  # a required field is left out now and then
            frame[name] = draw(field_values(spec.kind))
    if draw(st.integers(0, 9)) == 0:
        frame[draw(st.text(min_size=1, max_size=8))] = draw(json_values)
    return frame


texts = (frames().map(json.dumps) | json_values.map(json.dumps) | st.text(max_size=60)
         | st.sampled_from(["[" * 40, "{}", '{"t":"ping","ref":"\\ud800"}', '{"t":"send","t":"ping"}', "1e999"]))


@examples(600)
@given(texts)
def test_any_text_is_a_frame_of_its_declared_shape_or_a_frame_error(text: str) -> None:
    try:
        frame = parse_client_frame(text)
    except FrameError as refused:
        assert refused.code and refused.message
        return
    fields, _ = CLIENT_FRAMES[frame["t"]]
    for name, value in frame.items():
        if name != "t":
            spec = fields[name]
            assert type(value) is spec.kind
            assert spec.max_len is None or len(value) <= spec.max_len
            assert spec.kind is not int or 0 <= value <= SEQ_MAX
    assert all(name in frame for name, spec in fields.items() if spec.required)


@pytest.fixture(scope="module")
def dana_socket(server: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClientConnection]:
    async def sign_in() -> tuple[str, str]:
        session = ClientSession(server.url, Path(tmp_path_factory.mktemp("dana")), "dana")
        await session.start()
        cookie = session.transport.http.cookies.get(COOKIE)
        await session.close()
        return cookie, session.device_id

    cookie, device_id = asyncio.run(sign_in())
    url = server.url.replace("http://", "ws://")
    with connect(f"{url}/ws?device={device_id}", additional_headers={"Cookie": f"{COOKIE}={cookie}"},
                 max_size=2**22) as socket:
        assert json.loads(socket.recv(10))["t"] == "hello"
        yield socket


def answered(socket: ClientConnection, ref: str) -> list[dict[str, Any]]:
    """Every frame the server sent up to the pong of `ref` (pushed frames, answers, errors)."""
    seen = []
    while True:
        frame = json.loads(socket.recv(30))
        if frame.get("t") == "pong" and frame.get("ref") == ref:
            return seen
        seen.append(frame)


def test_a_socket_survives_any_frame_a_citizen_sends(server: Any, dana_socket: ClientConnection) -> None:
    sent = 0

    @examples(300)
    @given(texts)
    def one(text: str) -> None:
        nonlocal sent
        sent += 1
        dana_socket.send(text)
        dana_socket.send(json.dumps({"t": "ping", "ref": f"after-{sent}"}))
        for frame in answered(dana_socket, f"after-{sent}"):
            assert frame.get("code") != "internal_error", (text, frame)

    one()
    assert sent >= 200
    assert "frame handler failed" not in server.log_text()
