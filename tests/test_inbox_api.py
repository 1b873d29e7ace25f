"""The inbox's metadata (waiting, unread, handled, usual answer time) and encrypted attachments."""
from __future__ import annotations

import os

import httpx

from chat.messaging.inbox import reply_times
from chat.model import MessageMeta
from web.client.transport import ClientError

from .conftest import server_fixture
from .helpers import CASE_DANA, CASE_ERIK

server = server_fixture(SAMTAL_MAX_ATTACHMENT_BYTES="4096")


def meta(seq: int, citizen: bool, at: int) -> MessageMeta:
    return MessageMeta("c", seq, "dana" if citizen else "anna", citizen, at)


def test_reply_time_runs_from_the_first_unanswered_citizen_message_to_the_staff_reply():
    messages = [meta(1, True, 1000), meta(2, True, 5000), meta(3, False, 11000),  # waited 10 s
                meta(4, False, 12000), meta(5, True, 20000), meta(6, False, 50000),  # waited 30 s
                meta(7, True, 60000)]  # still waiting: no reply time yet
    assert reply_times(messages) == [10000, 30000]


async def test_waiting_unread_and_handled_follow_the_conversation(login):
    dana, anna = await login("dana"), await login("anna")
    socket = await dana.transport.open_socket()
    try:
        first = await dana.send(socket, await dana.case(CASE_DANA), "väntar på svar")
        await dana.send(socket, await dana.case(CASE_DANA), "och en fråga till")
    finally:
        await socket.close()
    view = await anna.case(CASE_DANA)
    assert view["waiting_since"] == first["stored_at"] and view["unread"] >= 2 and view["handled"] is False
    await anna.transport.call("POST", f"/api/cases/{CASE_DANA}/handled", {"handled": True})
    assert (await anna.case(CASE_DANA))["handled"] is True
    socket = await anna.transport.open_socket()
    try:
        await anna.send(socket, await anna.case(CASE_DANA), "svar från Anna")
        await socket.request({"t": "receipt", "case_id": CASE_DANA, "read_seq": (await anna.case(CASE_DANA))[
            "last_seq"]})
    finally:
        await socket.close()
    view = await anna.case(CASE_DANA)
    assert view["waiting_since"] is None and view["unread"] == 0
    assert view["assigned_usual_reply_seconds"] is None  # one reply is no "usual" answer time yet
    assert (await dana.case(CASE_DANA))["unread"] >= 1  # anna's reply is unread for dana
    socket = await dana.transport.open_socket()
    try:
        await dana.send(socket, await dana.case(CASE_DANA), "en ny fråga")
    finally:
        await socket.close()
    assert (await anna.case(CASE_DANA))["handled"] is False  # a new citizen message waits again
    for n in range(4):  # answered four more times: now there is a usual answer time
        socket = await anna.transport.open_socket()
        try:
            await anna.send(socket, await anna.case(CASE_DANA), f"svar {n}")
        finally:
            await socket.close()
        socket = await dana.transport.open_socket()
        try:
            await dana.send(socket, await dana.case(CASE_DANA), f"fråga {n}")
        finally:
            await socket.close()
    assert (await dana.case(CASE_DANA))["assigned_usual_reply_seconds"] is not None
    try:
        await dana.transport.call("POST", f"/api/cases/{CASE_DANA}/handled", {"handled": True})
        raise AssertionError("a citizen marked the conversation handled")
    except ClientError as error:
        assert error.status == 403


async def test_encrypted_attachment_is_stored_and_returned_byte_for_byte(login, server):
    dana, anna, erik = await login("dana"), await login("anna"), await login("erik")
    blob = os.urandom(3000)
    http = dana.transport.http
    upload = await http.post(f"/api/cases/{CASE_DANA}/blobs", content=blob,
                             headers={"content-type": "application/octet-stream"})
    assert upload.status_code == 201 and upload.json()["size"] == 3000
    blob_id = upload.json()["blob_id"]
    assert (await anna.transport.http.get(f"/api/cases/{CASE_DANA}/blobs/{blob_id}")).content == blob
    other = await erik.transport.http.get(f"/api/cases/{CASE_DANA}/blobs/{blob_id}")
    assert other.status_code == 404  # another person's case: as if it did not exist
    wrong_case = await erik.transport.http.get(f"/api/cases/{CASE_ERIK}/blobs/{blob_id}")
    assert wrong_case.status_code == 404  # a blob belongs to one case only


async def test_attachment_over_the_limit_is_refused_with_413_and_not_stored(login, server):
    dana = await login("dana")
    http = dana.transport.http
    too_big = await http.post(f"/api/cases/{CASE_DANA}/blobs", content=os.urandom(5000),
                              headers={"content-type": "application/octet-stream"})
    assert too_big.status_code == 413 and too_big.json()["code"] == "too_large"

    async def chunks():  # no Content-Length: the limit is enforced while streaming
        for _ in range(10):
            yield os.urandom(1000)
    streamed = await http.post(f"/api/cases/{CASE_DANA}/blobs", content=chunks(),
                               headers={"content-type": "application/octet-stream"})
    assert streamed.status_code == 413
    wrong_type = await http.post(f"/api/cases/{CASE_DANA}/blobs", content=b"x" * 100,
                                 headers={"content-type": "image/png"})
    assert wrong_type.status_code == 400
    config = httpx.get(f"{server.url}/api/config").json()
    assert config["max_attachment_bytes"] == 4096
