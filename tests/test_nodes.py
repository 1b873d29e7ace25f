"""Three nodes on one PostgreSQL database and one bus (chat/messaging/cluster.py), with real processes: citizens
and caseworkers spread over the nodes, a node killed with SIGKILL in the middle of a burst, the bus restarted in
the middle of a burst, a sign-out on one node that ends the session's socket on another, and the socket caps and
the sign-in rate limit held across nodes. Counted: every acknowledged message stored once, and delivered to
every person following its case, in seq order, none lost and none twice; the audit chain verifies."""
from __future__ import annotations

import asyncio
import signal
import time

import httpx
import pytest

from crypto.encoding import b64u, unb64u
from tests import conftest, engines
from tests.helpers import CASE_DANA, CASE_ERIK, next_frame, refusal_of_a_send
from tests.nodes import FAST, burst_through, on_nodes, start_cluster, wait_for, wait_for_async, with_case_keys
from tests.test_calls import booking, call, seal_signal
from tests.test_journal import draft, journal, request, snapshot, upload_body
from web.client.session import ClientSession
from web.client.transport import ClientError

# Several nodes share one PostgreSQL database: these run in .ci/run's PostgreSQL part (SAMTAL_TEST_DATABASE),
# not again in the SQLite pass.
pytestmark = pytest.mark.skipif(not engines.ON_POSTGRES, reason="several nodes need SAMTAL_TEST_DATABASE (PostgreSQL)")



# One cluster for the module (three nodes take a while to start on a busy machine); the tests run in this
# order, the node kill last. Caps and the sign-in limit are low so that a test can reach them.
LIMITS = {"SAMTAL_MAX_SOCKETS_PER_DEVICE": "2", "SAMTAL_LOGIN_RATE": "3"}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    conftest.STARTUP_SECONDS, before = 180, conftest.STARTUP_SECONDS
    try:
        running = start_cluster(tmp_path_factory.mktemp("nodes"), 3, **FAST, **LIMITS)
    finally:
        conftest.STARTUP_SECONDS = before
    yield running
    running.stop()


async def test_socket_caps_and_the_sign_in_limit_hold_across_nodes(cluster, tmp_path):
    dana = ClientSession(cluster.urls[:2], tmp_path / "clients", "dana")
    try:
        await dana.start()
        first = await dana.transport.open_socket()  # node 1
        dana.transport.next_server()
        second = await dana.transport.open_socket()  # node 2
        dana.transport.next_server()

        async def third_refused() -> bool:
            try:
                extra = await dana.transport.open_socket()  # node 1 again: the cap counts node 2's socket
            except ClientError as error:
                return error.code == "ws_refused"
            await extra.close()
            return False

        # The other node's count comes with its notice on the bus.
        assert await wait_for(third_refused, 30), cluster.logs()[-4000:]
        await second.close()
        answers = []
        async with httpx.AsyncClient() as http:
            for url in [cluster.urls[0], cluster.urls[1], cluster.urls[0], cluster.urls[1]]:
                answers.append((await http.get(f"{url}/login/citizen")).status_code)
        print(f"\nsign-in attempts on nodes 1, 2, 1, 2 with a limit of 3 a minute: {answers}")
        assert answers[-1] == 429 and 429 not in answers[:3]
        await first.close()
    finally:
        await dana.close()


async def test_sign_out_on_one_node_closes_the_sessions_socket_on_another(cluster, tmp_path):
    dana = ClientSession(cluster.urls[1:], tmp_path / "clients", "dana")
    await dana.start()
    try:
        socket = await dana.transport.open_socket()  # on node 2
        await socket.request({"t": "ping"})
        dana.transport.server = cluster.urls[0]
        dana.transport.http.base_url = httpx.URL(cluster.urls[0])
        await dana.transport.call("POST", "/api/logout")  # on node 1
        # Well within the 30 s a socket takes to notice a sign-out by re-reading its session itself.
        await asyncio.wait_for(socket.ws.wait_closed(), 10)
        print(f"\nsigned out on node 1: dana's socket on node 2 closed with {socket.ws.close_code}")
        assert socket.ws.close_code == 1008
    finally:
        await dana.close()


async def test_a_substitution_set_on_one_node_holds_on_the_others_and_so_does_its_end(cluster, tmp_path):
    """Who may answer a case is decided from the substitutions each node keeps in memory: a supervisor's change
    on node 1 reaches node 2 (where the substitute works) and node 3 (where the citizen writes, and which picks
    who is sent the message live) over the bus, and so does its end."""
    cecilia = ClientSession(cluster.urls[0], tmp_path / "clients", "cecilia")
    bo = ClientSession(cluster.urls[1], tmp_path / "clients", "bo")
    erik = ClientSession(cluster.urls[2], tmp_path / "clients", "erik")
    sessions = [cecilia, bo, erik]
    try:
        for session in sessions:
            await session.start()
        await with_case_keys(bo, [CASE_ERIK])
        await with_case_keys(erik, [CASE_ERIK])
        # Nodes 2 and 3 have read the unit's substitutions (none) before the change.
        assert (await bo.case(CASE_ERIK))["may_answer"] is False
        assert (await erik.case(CASE_ERIK))["answering"]["user"] == "anna"
        now = int(time.time() * 1000)
        created = await cecilia.transport.call("POST", "/api/units/ekonomiskt-bistand/substitutes", {
            "absent_user": "anna", "substitute": "bo", "starts_at": now - 3_600_000, "ends_at": now + 3_600_000})

        async def answering(session: ClientSession, user: str) -> bool:
            view = await session.case(CASE_ERIK)
            return view["answering"]["user"] == user and (session is not bo or view["may_answer"] == (user == "bo"))

        assert await wait_for(lambda: answering(bo, "bo"), 10), "node 2 did not hear of the substitution"
        assert await wait_for(lambda: answering(erik, "bo"), 10), "node 3 did not hear of the substitution"
        bo_socket, erik_socket = await bo.transport.open_socket(), await erik.transport.open_socket()
        try:
            sent = await erik.send(erik_socket, await erik.case(CASE_ERIK), "Är Anna borta?")
            live = await next_frame(bo_socket, "msg", case_id=CASE_ERIK)  # chosen on node 3, relayed by node 2
            assert live["seq"] == sent["seq"]
            await bo.send(bo_socket, await bo.case(CASE_ERIK), "Ja, jag svarar under tiden.")
        finally:
            await bo_socket.close()
            await erik_socket.close()
        await cecilia.transport.call("DELETE", f"/api/units/ekonomiskt-bistand/substitutes/{created['id']}")
        assert await wait_for(lambda: answering(bo, "anna"), 10), "node 2 still lets the substitute answer"
        assert await refusal_of_a_send(bo, CASE_ERIK, "perioden är slut") == "forbidden"
        print("\nsubstitution set and ended on node 1: the substitute answered on node 2, the citizen's message"
              " from node 3 reached him live, and once it ended node 2 refused him")
    finally:
        for session in sessions:
            await session.close()


async def test_a_draft_shared_live_on_one_node_is_shown_and_commented_on_through_another(cluster, tmp_path):
    """Anna shares a journal draft live on node 1; Dana's page is served by node 2: a page she opens late shows
    the draft as it is now (each snapshot), she may comment on it, and once the share ends, neither."""
    async with on_nodes(cluster, tmp_path, CASE_DANA, anna=0, dana=1) as (anna, dana):
        staff_socket = await anna.transport.open_socket()
        entry_id = await draft(anna)

        async def shown(env: str | None) -> bool:
            live = (await journal(dana))["live"]
            return [(d["entry_id"], d["env"]) for d in live] == ([(entry_id, env)] if env else [])

        async def comment() -> dict:  # type: ignore[type-arg]
            _, body = await upload_body(dana, "journal.remark", {"type": "journal.remark", "text": "Stämmer"}, True)
            return await dana.transport.call("POST", f"/api/journal/{entry_id}/remarks", request(body))  # type: ignore[no-any-return]

        try:
            for rev, text in enumerate(("Utkast", "Utkast, rättat"), start=1):
                env = await snapshot(anna, entry_id, text, rev)
                await staff_socket.request({"t": "journal.live", "case_id": CASE_DANA, "entry_id": entry_id,
                                            "env": env})
                assert await wait_for(lambda env=env: shown(env), 10), f"node 2 does not show snapshot {rev}"
            assert (await comment())["remark"]["entry_id"] == entry_id
            await staff_socket.request({"t": "journal.live_end", "case_id": CASE_DANA, "entry_id": entry_id})
            assert await wait_for(lambda: shown(None), 10), "node 2 still shows the ended share"
            with pytest.raises(ClientError) as ended:
                await comment()
            assert ended.value.code == "unknown_entry"
        finally:
            await staff_socket.close()
        print("\njournal draft shared live on node 1: its two snapshots shown by node 2 to a page opened late,"
              " commented on through node 2, and neither once the share ended")


async def test_a_video_call_between_two_nodes_joins_relays_signals_and_hangs_up(cluster, tmp_path):
    sockets = []
    async with on_nodes(cluster, tmp_path, CASE_DANA, anna=0, dana=1) as (anna, dana):
        try:
            booking_id = await booking(anna, dana)
            dana_socket = await dana.transport.open_socket()
            anna_socket = await anna.transport.open_socket()
            sockets += [dana_socket, anna_socket]
            assert (await dana_socket.request(call("call.join", booking_id)))["peers"] == []
            second = await anna_socket.request(call("call.join", booking_id))
            if not second["peers"]:  # dana's join had not reached node 1 yet: it comes as a call.peer frame
                peer = await next_frame(anna_socket, "call.peer")
                second["peers"] = [{"user": peer["user"], "device": peer["device"]}]
            assert second["peers"] == [{"user": "dana", "device": dana.device_id}]
            peer = await next_frame(dana_socket, "call.peer")
            assert (peer["event"], peer["user"], peer["device"]) == ("joined", "anna", anna.device_id)

            env = await seal_signal(anna, CASE_DANA, booking_id, dana.device_id)
            await anna_socket.request(call("call.signal", booking_id, to=dana.device_id, env=b64u(env)))
            relayed = await next_frame(dana_socket, "call.signal")
            assert (relayed["from_user"], relayed["from_device"], unb64u(relayed["env"])) == ("anna", anna.device_id, env)
            back = await seal_signal(dana, CASE_DANA, booking_id, anna.device_id, kind="answer")
            await dana_socket.request(call("call.signal", booking_id, to=anna.device_id, env=b64u(back)))
            assert unb64u((await next_frame(anna_socket, "call.signal"))["env"]) == back

            await dana_socket.request(call("call.hangup", booking_id))
            left = await next_frame(anna_socket, "call.peer")
            assert (left["event"], left["user"], left["reason"]) == ("left", "dana", "hangup")
            print("\nvideo call: anna on node 1, dana on node 2: joined, an offer and an answer relayed, hung up")
            await anna_socket.request(call("call.hangup", booking_id))
        finally:
            for socket in sockets:
                await socket.close()


async def test_a_node_started_mid_call_learns_who_is_in_it(cluster, tmp_path):
    """Anna waits in a call on node 1; node 3 restarts (a new process knows no calls) and Dana joins through
    it: she is told Anna is there, because the running nodes say again who is in their calls when a node joins."""
    sockets = []
    async with on_nodes(cluster, tmp_path, CASE_DANA, anna=0, dana=2) as (anna, dana):
        try:
            booking_id = await booking(anna, dana)
            anna_socket = await anna.transport.open_socket()
            sockets.append(anna_socket)
            assert (await anna_socket.request(call("call.join", booking_id)))["peers"] == []
            await asyncio.to_thread(cluster.restart, 2)
            dana_socket = await dana.transport.open_socket()
            sockets.append(dana_socket)

            async def anna_is_there() -> bool:
                peers = (await dana_socket.request(call("call.join", booking_id)))["peers"]
                return peers == [{"user": "anna", "device": anna.device_id}]

            assert await wait_for(anna_is_there, 15), "the restarted node does not know Anna is in the call"
            peer = await next_frame(anna_socket, "call.peer")
            assert (peer["event"], peer["user"]) == ("joined", "dana")
            print("\nnode 3 restarted while anna waited in a call on node 1: dana, joining through node 3, was told"
                  " anna is there, and anna that dana joined")
            await dana_socket.request(call("call.hangup", booking_id))
            await anna_socket.request(call("call.hangup", booking_id))
        finally:
            for socket in sockets:
                await socket.close()


async def test_the_bus_restarted_mid_burst_loses_nothing_and_nobody_reconnects(cluster, tmp_path):
    async def restart_the_bus() -> None:
        cluster.broker.stop()  # SIGKILL: the nodes lose the bus and what was on its way
        async with httpx.AsyncClient() as http:  # a node off the bus is not ready (it serves late, from the db)
            assert await wait_for_async(lambda: http.get(f"{cluster.urls[0]}/readyz"), 503, 30)
        cluster.broker.start()

    followers = await burst_through(cluster, tmp_path, restart_the_bus, "bus restarted mid-burst")
    assert all(f.reconnects == 0 for f in followers.values())  # caught up by the nodes, not the clients
    assert "caught up after missed wake-ups" in cluster.logs()


async def test_a_node_killed_mid_burst_loses_nothing(cluster, tmp_path):
    async def kill_node_2() -> None:
        cluster.nodes[1].process.send_signal(signal.SIGKILL)

    followers = await burst_through(cluster, tmp_path, kill_node_2, "node 2 of 3 killed (SIGKILL) mid-burst")
    assert followers["erik"].reconnects >= 1 and followers["bo"].reconnects >= 1
