"""The video call through a TURN relay only, with time-limited credentials: a real TURN server (Debian's
coturn, on 127.0.0.1, with `use-auth-secret`) and Samtal configured with SAMTAL_TURN_SECRET, SAMTAL_TURN_URLS
and SAMTAL_CALL_RELAY_ONLY=1. Both browsers connect, every candidate either of them gathered or was sent is a
relay candidate (so neither learned the other's address: what a citizen with a protected identity needs),
and the path they use is relay to relay. That coturn lets them through proves the credentials are made the
way it checks them; each person's username carries the call's closing time and no user id."""
from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import socket
import subprocess
from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import free_port, server_fixture
from tests.helpers import CASE_DANA
from tests.test_browser_app import DESKTOP, PHONE
from tests.test_browser_call import CONNECT_MS, browser, enforced, join, video_booking  # noqa: F401 (fixture)

from .waiting import eventually_blocking

pytest.importorskip("playwright.sync_api", reason="browser tests need the playwright package")
from playwright.sync_api import expect  # noqa: E402

TURNSERVER = shutil.which("turnserver") or "/usr/bin/turnserver"
TURN_PORT = free_port()
RELAY_PORTS = (40000 + TURN_PORT % 20000, 40000 + TURN_PORT % 20000 + 40)
SECRET = secrets.token_hex(24)
server = server_fixture(SAMTAL_TURN_SECRET=SECRET, SAMTAL_TURN_URLS=f"turn:127.0.0.1:{TURN_PORT}?transport=udp",
                        SAMTAL_CALL_RELAY_ONLY="1")

# Every RTCPeerConnection the page makes, so the test can read its statistics.
CAPTURE = """(() => {
  const Original = window.RTCPeerConnection;
  window.__peerConnections = [];
  window.RTCPeerConnection = class extends Original {
    constructor(...args) { super(...args); window.__peerConnections.push(this); }
  };
})();"""
CANDIDATES = """async () => {
  const pc = window.__peerConnections.filter((p) => p.connectionState === "connected").pop();
  const stats = await pc.getStats();
  const all = [...stats.values()];
  const transport = all.find((r) => r.type === "transport" && r.selectedCandidatePairId);
  const pair = stats.get(transport.selectedCandidatePairId);
  return {
    policy: pc.getConfiguration().iceTransportPolicy,
    local: all.filter((r) => r.type === "local-candidate").map((r) => r.candidateType),
    remote: all.filter((r) => r.type === "remote-candidate").map((r) => r.candidateType),
    chosen: [stats.get(pair.localCandidateId).candidateType, stats.get(pair.remoteCandidateId).candidateType],
  };
}"""


def stun_answers(port: int) -> bool:
    """A STUN binding request (RFC 5389) to the TURN server gets an answer: it is listening."""
    request = bytes.fromhex("0001000021122442") + secrets.token_bytes(12)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(0.5)
        try:
            sock.sendto(request, ("127.0.0.1", port))
            answer, _ = sock.recvfrom(2048)
        except OSError:
            return False
    return answer[:2] == b"\x01\x01" and answer[8:20] == request[8:20]


@pytest.fixture(scope="module", autouse=True)
def turn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    if not os.path.exists(TURNSERVER):
        pytest.skip("the relay test needs Debian's coturn (python3 dev.py test installs it)")
    log = tmp_path_factory.mktemp("turn") / "turn.log"
    process = subprocess.Popen(
        [TURNSERVER, "-n", "--listening-ip=127.0.0.1", "--relay-ip=127.0.0.1", f"--listening-port={TURN_PORT}",
         f"--min-port={RELAY_PORTS[0]}", f"--max-port={RELAY_PORTS[1]}", "--use-auth-secret",
         f"--static-auth-secret={SECRET}", "--realm=samtal.test", "--no-tls", "--no-dtls", "--no-tcp", "--no-cli",
         "--allow-loopback-peers", "--fingerprint", "--simple-log", f"--log-file={log}", "--pidfile=",
         f"--userdb={log.parent / 'turndb'}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        def answers() -> bool:
            if process.poll() is not None:
                raise RuntimeError("coturn exited")
            return stun_answers(TURN_PORT)
        try:
            eventually_blocking(answers, within=20, what="coturn's STUN answer")
        except (AssertionError, RuntimeError):
            raise AssertionError("coturn did not start:\n"
                                 + (log.read_text(errors="replace") if log.exists() else "")) from None
        yield
    finally:
        process.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(10)
        if process.poll() is None:
            process.kill()


def test_a_relay_only_call_connects_through_turn_and_no_address_is_shared(browser, server):
    booking_id = video_booking(server)
    with httpx.Client(base_url=server.url, timeout=10) as dana:
        dana.post("/api/demo/login", json={"username": "dana"}).raise_for_status()
        details = dana.get(f"/api/cases/{CASE_DANA}/calls/{booking_id}").json()
    assert details["ice_transport_policy"] == "relay"
    (relay,) = details["ice_servers"]
    expiry, pseudonym = relay["username"].split(":")
    assert int(expiry) == -(-details["call"]["closes_at"] // 1000) and "dana" not in pseudonym
    assert relay["urls"] == [f"turn:127.0.0.1:{TURN_PORT}?transport=udp"]

    with enforced(browser, server, "Dana Karlsson", PHONE) as dana, \
            enforced(browser, server, "Anna Lind", DESKTOP) as anna:
        for person in (dana, anna):
            person.page.add_init_script(CAPTURE)
            person.goto(f"/cases/{CASE_DANA}/calls/{booking_id}")
        join(dana)
        join(anna)
        for person in (dana, anna):
            expect(person.page.locator("#call[data-pc-state=connected]")).to_have_count(1, timeout=CONNECT_MS)
        for person in (dana, anna):
            seen = person.page.evaluate(CANDIDATES)
            assert seen["policy"] == "relay"
            assert seen["chosen"] == ["relay", "relay"], seen
            assert set(seen["local"]) == {"relay"} and set(seen["remote"]) == {"relay"}, seen
            person.assert_clean()
