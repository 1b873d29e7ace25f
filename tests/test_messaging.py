"""Case messaging end to end: real server, real storage, real clients that encrypt and sign."""
from __future__ import annotations

import asyncio
import json

from crypto.encoding import b64u
from web.client.transport import ClientError

from .engines import ON_POSTGRES
from .helpers import CASE_DANA, CASE_ERIK, frames_of, next_frame


async def test_citizen_and_caseworker_exchange_messages_live_both_ways(login):
    dana, anna = await login("dana"), await login("anna")
    case_for_dana, case_for_anna = await dana.case(CASE_DANA), await anna.case(CASE_DANA)
    dana_socket, anna_socket = await dana.transport.open_socket(), await anna.transport.open_socket()
    try:
        ack = await dana.send(dana_socket, case_for_dana, "Hej Anna! Kan vi ses på torsdag?")
        pushed = await next_frame(anna_socket, "msg", case_id=CASE_DANA)
        assert (pushed["seq"], pushed["msg_id"], pushed["sender"]) == (ack["seq"], ack["msg_id"], "dana")
        assert (await anna.open(case_for_anna, pushed)).body == {"type": "text",
                                                                  "text": "Hej Anna! Kan vi ses på torsdag?"}

        reply = await anna.send(anna_socket, case_for_anna, "Hej Dana, torsdag kl. 10 passar bra.")
        back = await next_frame(dana_socket, "msg", case_id=CASE_DANA)
        assert back["seq"] == reply["seq"] == ack["seq"] + 1
        assert (await dana.open(case_for_dana, back)).body["text"] == "Hej Dana, torsdag kl. 10 passar bra."
    finally:
        await dana_socket.close()
        await anna_socket.close()


async def test_second_caseworker_of_the_unit_reads_the_case_history(login):
    dana = await login("dana")
    case = await dana.case(CASE_DANA)
    socket = await dana.transport.open_socket()
    try:
        sent = await dana.send(socket, case, "Till enheten: jag har skickat hyresavtalet.")
    finally:
        await socket.close()
    bo = await login("bo")  # bo is not assigned; he reads through the unit key
    history = await bo.history(await bo.case(CASE_DANA))
    mine = [m for m in history if m.msg_id == sent["msg_id"]]
    assert len(mine) == 1 and mine[0].body["text"] == "Till enheten: jag har skickat hyresavtalet."
    assert mine[0].sender == "dana"


async def test_other_citizen_cannot_read_or_resume_someone_elses_case(login, server):
    erik = await login("erik")
    for call in (erik.case(CASE_DANA), erik.transport.call("GET", f"/api/cases/{CASE_DANA}/messages"),
                 erik.transport.call("GET", f"/api/cases/{CASE_DANA}/keys")):
        try:
            await call
            raise AssertionError("erik read dana's case")
        except ClientError as error:
            # Answered exactly as a case that does not exist: case ids cannot be counted.
            assert (error.status, error.code) == (404, "unknown_case")
    cases = [c["id"] for c in await erik.cases()]
    assert cases == [CASE_ERIK]
    socket = await erik.transport.open_socket()
    try:
        try:
            await socket.request({"t": "resume", "cursors": {CASE_DANA: 0}})
            raise AssertionError("erik resumed dana's case")
        except ClientError as error:
            assert error.code == "unknown_case"
        assert (await socket.request({"t": "ping"}))["t"] == "pong"  # the connection stays usable
    finally:
        await socket.close()


async def test_database_and_wal_hold_no_plaintext_of_sent_messages(login, server):
    dana, anna = await login("dana"), await login("anna")
    secrets_sent = ["Mitt personnummer är 19850101-1234 och jag bor på Storgatan 5",
                    "Skuld till Kronofogden: 48 000 kr, hemlig anteckning ÅÄÖ-markör"]
    sockets = [await dana.transport.open_socket(), await anna.transport.open_socket()]
    try:
        await dana.send(sockets[0], await dana.case(CASE_DANA), secrets_sent[0])
        await anna.send(sockets[1], await anna.case(CASE_DANA), secrets_sent[1])
    finally:
        for socket in sockets:
            await socket.close()
    files = server.database_files
    assert ON_POSTGRES or any(f.name.endswith("-wal") for f in files), "the WAL should exist while the server runs"
    blob = server.stored_bytes()
    for text in secrets_sent:
        for fragment in (text, text[:20], text[-20:]):
            for encoding in ("utf-8", "utf-16-le"):
                assert fragment.encode(encoding) not in blob
    # The messages are there, as ciphertext: readable only with the keys the clients hold.
    with server.db() as db:
        assert db.execute("SELECT count(*) FROM messages").fetchone()[0] >= 2


async def test_order_is_kept_over_1000_messages(login):
    erik, anna = await login("erik"), await login("anna")
    case_e, case_a = await erik.case(CASE_ERIK), await anna.case(CASE_ERIK)
    sealed = [await erik.seal(case_e, f"meddelande {i:04d}") for i in range(1000)]
    erik_socket, anna_socket = await erik.transport.open_socket(), await anna.transport.open_socket()
    try:
        # All 1,000 in flight at once over one connection: the server must keep their order.
        acks = await asyncio.gather(*(erik_socket.request({"t": "send", "env": b64u(env)}, timeout=60)
                                      for _, env in sealed))
        assert [a["msg_id"] for a in acks] == [msg_id for msg_id, _ in sealed]
        seqs = [a["seq"] for a in acks]
        assert seqs == list(range(seqs[0], seqs[0] + 1000))
        received = await frames_of(anna_socket, "msg", 1000, timeout=60, case_id=CASE_ERIK)
        assert [f["seq"] for f in received] == seqs
        opened = [await anna.open(case_a, f) for f in received[:5] + received[-5:]]
        assert [m.body["text"] for m in opened] == [f"meddelande {i:04d}" for i in [*range(5), *range(995, 1000)]]
    finally:
        await erik_socket.close()
        await anna_socket.close()
    history = await anna.history(case_a, after=seqs[0] - 1)
    assert [m.body["text"] for m in history] == [f"meddelande {i:04d}" for i in range(1000)]


async def test_reconnecting_client_resumes_everything_it_missed_in_order(login):
    dana, anna = await login("dana"), await login("anna")
    case_d, case_a = await dana.case(CASE_DANA), await anna.case(CASE_DANA)
    held = (await anna.case(CASE_DANA))["last_seq"]  # what anna's device has, before going offline
    dana_socket = await dana.transport.open_socket()
    try:
        missed = [await dana.send(dana_socket, case_d, f"medan du var borta {i}") for i in range(5)]
    finally:
        await dana_socket.close()
    anna_socket = await anna.transport.open_socket()
    try:
        resumed = await anna_socket.request({"t": "resume", "cursors": {CASE_DANA: held}})
        replay = await frames_of(anna_socket, "msg", 5, case_id=CASE_DANA)
        assert [f["seq"] for f in replay] == [a["seq"] for a in missed]
        assert resumed["cursors"] == {CASE_DANA: missed[-1]["seq"]} and resumed["more"] == []
        assert [(await anna.open(case_a, f)).body["text"] for f in replay] == [
            f"medan du var borta {i}" for i in range(5)]
        # After resuming, the case is followed live.
        dana_socket = await dana.transport.open_socket()
        live = await dana.send(dana_socket, case_d, "nu är du tillbaka")
        await dana_socket.close()
        assert (await next_frame(anna_socket, "msg", case_id=CASE_DANA))["seq"] == live["seq"]
    finally:
        await anna_socket.close()


async def test_resume_of_a_long_backlog_comes_in_pages_without_gaps(login):
    erik, bo = await login("erik"), await login("bo")
    case_e = await erik.case(CASE_ERIK)
    start = case_e["last_seq"]
    socket = await erik.transport.open_socket()
    try:
        sealed = [await erik.seal(case_e, f"backlog {i}") for i in range(700)]
        await asyncio.gather(*(socket.request({"t": "send", "env": b64u(env)}, timeout=60) for _, env in sealed))
    finally:
        await socket.close()
    bo_socket = await bo.transport.open_socket()
    try:
        cursor, seen = start, []
        for _ in range(5):  # bounded: 700 messages need two pages of at most 500
            answer = await bo_socket.request({"t": "resume", "cursors": {CASE_ERIK: cursor}})
            page = await frames_of(bo_socket, "msg", answer["cursors"][CASE_ERIK] - cursor, case_id=CASE_ERIK)
            seen += [f["seq"] for f in page]
            cursor = answer["cursors"][CASE_ERIK]
            if not answer["more"]:
                break
        assert seen == list(range(start + 1, start + 701))
    finally:
        await bo_socket.close()


async def test_replayed_msg_id_returns_the_original_ack_and_stores_nothing_twice(login, server):
    dana = await login("dana")
    case = await dana.case(CASE_DANA)
    msg_id, env = await dana.seal(case, "skickas två gånger")
    socket = await dana.transport.open_socket()
    try:
        first = await socket.request({"t": "send", "env": b64u(env)})
        again = await socket.request({"t": "send", "env": b64u(env)})
        assert again["seq"] == first["seq"] and again["stored_at"] == first["stored_at"]
        assert (first["duplicate"], again["duplicate"]) == (False, True)
        # The same msg_id over a new connection (a client retrying after a reconnect) too.
        await socket.close()
        socket = await dana.transport.open_socket()
        assert (await socket.request({"t": "send", "env": b64u(env)}))["seq"] == first["seq"]
    finally:
        await socket.close()
    with server.db() as db:
        count = db.execute("SELECT count(*) FROM messages WHERE msg_id = ?", (msg_id,)).fetchone()[0]
    assert count == 1


async def test_same_msg_id_with_different_content_is_refused(login):
    dana = await login("dana")
    case = await dana.case(CASE_DANA)
    msg_id, env = await dana.seal(case, "original")
    from crypto.envelope import Header, parse_envelope, seal_message
    header = parse_envelope(env).header
    _, key = await dana.case_key(case)
    other = seal_message(key, Header(header.case_id, msg_id, header.sender_device, header.epoch,
                                     header.sent_at_ms + 1), {"type": "text", "text": "ändrad"}, dana.device.keys)
    socket = await dana.transport.open_socket()
    try:
        await socket.request({"t": "send", "env": b64u(env)})
        try:
            await socket.request({"t": "send", "env": b64u(other)})
            raise AssertionError("a different message under a used msg_id was accepted")
        except ClientError as error:
            assert error.code == "msg_id_conflict"
    finally:
        await socket.close()
    assert [m.body["text"] for m in await dana.history(case) if m.msg_id == msg_id] == ["original"]


async def test_receipts_reach_the_other_side_and_never_go_backwards(login):
    dana, anna = await login("dana"), await login("anna")
    case = await dana.case(CASE_DANA)
    dana_socket, anna_socket = await dana.transport.open_socket(), await anna.transport.open_socket()
    try:
        ack = await dana.send(dana_socket, case, "har du läst?")
        await next_frame(anna_socket, "msg", case_id=CASE_DANA)
        await anna_socket.request({"t": "receipt", "case_id": CASE_DANA, "read_seq": ack["seq"]})
        receipt = await next_frame(dana_socket, "receipt")
        assert receipt == {"t": "receipt", "case_id": CASE_DANA, "user": "anna", "delivered_seq": ack["seq"],
                           "read_seq": ack["seq"]}
        await anna_socket.request({"t": "receipt", "case_id": CASE_DANA, "read_seq": 1})
        assert (await next_frame(dana_socket, "receipt"))["read_seq"] == ack["seq"]
        try:
            await anna_socket.request({"t": "receipt", "case_id": CASE_DANA, "read_seq": ack["seq"] + 1000})
            raise AssertionError("a receipt for a message that does not exist was accepted")
        except ClientError as error:
            assert error.code == "invalid_field"
    finally:
        await dana_socket.close()
        await anna_socket.close()


async def test_server_log_carries_no_message_content(login, server):
    dana = await login("dana")
    socket = await dana.transport.open_socket()
    marker = "loggtest-innehåll-som-aldrig-får-loggas"
    try:
        await dana.send(socket, await dana.case(CASE_DANA), marker)
    finally:
        await socket.close()
    text = server.log_text()
    assert marker not in text
    for line in text.splitlines():
        if line.startswith("{"):
            json.loads(line)  # structured: every log line of ours is one JSON object
