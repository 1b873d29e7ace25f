"""/metrics through a real server: Prometheus text with the service's figures, for loopback or a token only,
and no case id, user id or content in any label."""
from __future__ import annotations

import httpx
import pytest

from web.client.transport import ClientError

from .conftest import RunningServer, server_fixture
from .helpers import CASE_DANA, next_frame

server = server_fixture(SAMTAL_METRICS_TOKEN="")


def value(text: str, name: str) -> float:
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith(name) and not line.startswith("#"))


async def test_metrics_count_messages_refusals_and_sockets_and_name_nobody(server: RunningServer, login) -> None:
    before = httpx.get(f"{server.url}/metrics").text
    dana, anna = await login("dana"), await login("anna")
    case = await dana.case(CASE_DANA)
    socket, anna_socket = await dana.transport.open_socket(), await anna.transport.open_socket()
    try:
        await dana.send(socket, case, "Hej, jag behöver hjälp med hyran")
        await next_frame(anna_socket, "msg", case_id=CASE_DANA)
        live = httpx.get(f"{server.url}/metrics").text
        assert value(live, "samtal_open_sockets") >= 2
    finally:
        await socket.close()
        await anna_socket.close()
    with pytest.raises(ClientError):
        await anna.transport.call("GET", "/api/cases/no-such-case")
    answer = httpx.get(f"{server.url}/metrics")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/plain")
    after = answer.text
    assert value(after, "samtal_messages_accepted_total") >= value(before, "samtal_messages_accepted_total") + 1
    assert value(after, "samtal_messages_delivered_total") >= value(before, "samtal_messages_delivered_total") + 1
    assert value(after, "samtal_refusals_total") >= value(before, "samtal_refusals_total") + 1
    assert "samtal_open_sockets" in after and "samtal_message_fanout_seconds_bucket" in after
    for secret in (CASE_DANA, "dana", "anna", "hyran", "Dana Karlsson"):
        assert secret not in after


async def test_metrics_are_for_the_operator_only(tmp_path) -> None:
    from .conftest import start_server, stop_server

    running = start_server(tmp_path, SAMTAL_METRICS_TOKEN="s3cret-token")
    try:
        assert httpx.get(f"{running.url}/metrics").status_code == 403  # loopback alone is not enough then
        assert httpx.get(f"{running.url}/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 403
        ok = httpx.get(f"{running.url}/metrics", headers={"Authorization": "Bearer s3cret-token"})
        assert ok.status_code == 200 and "samtal_open_sockets" in ok.text
    finally:
        stop_server(running)


def test_every_answer_has_a_request_id_that_log_lines_carry(server: RunningServer) -> None:
    import logging

    from web.logs import REQUEST_ID, JsonFormatter

    fresh = httpx.get(f"{server.url}/healthz").headers["x-request-id"]
    assert len(fresh) == 16
    kept = httpx.get(f"{server.url}/healthz", headers={"X-Request-Id": "proxy-4711-abcdef"})
    assert kept.headers["x-request-id"] == "proxy-4711-abcdef"
    forged = httpx.get(f"{server.url}/healthz", headers={"X-Request-Id": 'x", "level": "error'})
    assert forged.headers["x-request-id"] != 'x", "level": "error' and len(forged.headers["x-request-id"]) == 16
    token = REQUEST_ID.set("proxy-4711-abcdef")
    try:
        line = JsonFormatter().format(logging.LogRecord("samtal.test", logging.INFO, "", 0, "refused", None, None))
    finally:
        REQUEST_ID.reset(token)
    assert '"request_id": "proxy-4711-abcdef"' in line
