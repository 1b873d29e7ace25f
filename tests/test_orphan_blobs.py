"""Case attachments no message uses are removed (issue #15 item 1): the sender names a message's attachments
beside the envelope (`blobs` in the send frame, docs/protocol.md §14.2), the server binds them to the message
as it stores it, and sweeps what no message was sent with once it is SAMTAL_ORPHAN_BLOB_SECONDS old. Only the
sender's own uploads to that case, not yet bound, may be named."""
from __future__ import annotations

from typing import Any

import pytest

from crypto.encoding import b64u
from web.client.session import Attachment
from web.client.transport import ClientError

from .conftest import server_fixture
from .helpers import CASE_DANA
from .waiting import eventually

# Long enough for a message to be sent after its upload on a loaded machine; the sweep looks twice as often.
server = server_fixture(SAMTAL_ORPHAN_BLOB_SECONDS="30")
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


async def status_of_blob(session: Any, blob_id: str) -> int:
    answer = await session.transport.http.get(f"/api/cases/{CASE_DANA}/blobs/{blob_id}")
    return answer.status_code


async def test_an_attachment_no_message_uses_is_removed_and_a_used_one_stays(login: Any, server: Any) -> None:
    dana = await login("dana")
    case = await dana.case(CASE_DANA)
    socket = await dana.transport.open_socket()
    try:
        await dana.send(socket, case, "Här är hyresavtalet.", Attachment("avtal.png", "image/png", PNG))
    finally:
        await socket.close()
    read = await dana.read(case)
    used = read.messages[-1].body["blob_id"]
    unused = (await dana.transport.upload(f"/api/cases/{CASE_DANA}/blobs", b"\x01" * 40))["blob_id"]
    assert await status_of_blob(dana, unused) == 200

    async def removed() -> bool:  # after 30 to 45 seconds here; the machine may be slow
        return await status_of_blob(dana, unused) == 404

    await eventually(removed, within=180, what="the unused attachment removed")
    assert await status_of_blob(dana, used) == 200


async def test_only_the_senders_own_unbound_uploads_can_be_named(login: Any) -> None:
    dana, anna = await login("dana"), await login("anna")
    case = await dana.case(CASE_DANA)
    annas = (await anna.transport.upload(f"/api/cases/{CASE_DANA}/blobs", b"\x02" * 40))["blob_id"]
    socket = await dana.transport.open_socket()
    try:
        msg_id, env = await dana.seal(case, "med Annas bilaga")
        with pytest.raises(ClientError) as refused:
            await socket.request({"t": "send", "env": b64u(env), "blobs": [annas]})
        assert refused.value.code == "unknown_blob"
        dana._counter[CASE_DANA] -= 1  # nothing was stored: the next message takes that place

        ack = await dana.send(socket, case, "första", Attachment("a.png", "image/png", PNG))
        first = next(m for m in (await dana.read(case)).messages if m.msg_id == ack["msg_id"]).body["blob_id"]
        _, again = await dana.seal(case, "samma bilaga igen")
        with pytest.raises(ClientError) as twice:
            await socket.request({"t": "send", "env": b64u(again), "blobs": [first]})
        assert twice.value.code == "unknown_blob"
    finally:
        await socket.close()
    assert msg_id not in {m.msg_id for m in (await dana.read(case)).messages}
