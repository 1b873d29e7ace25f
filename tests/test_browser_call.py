"""The built-in video call in Chromium with a fake camera and microphone: the citizen on a phone and the
caseworker at a desktop join a booked video meeting's call from the booking page and the calendar; both peer
connections reach "connected" and each side's remote video shows decoded frames; the microphone and camera
switches work; hanging up ends the call on both sides. The pages run under their real Content-Security-
Policy and nothing is refused. A relay that tampers with the signalling (played by Playwright's WebSocket
routing, standing in for a dishonest server) gets nowhere: the receiving browser refuses a signal whose
signature fails, and one signed by a device that is not the named participant's. The call page passes
axe-core in Swedish and English, on a phone and on a desktop, and fits a 360 px screen."""
from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from crypto.encoding import b64u, unb64u
from crypto.envelope import Header, new_msg_id, seal_message
from tests.browser import FAKE_MEDIA_ARGS, chromium
from tests.conftest import RunningServer, server_fixture
from tests.helpers import CASE_DANA
from tests.test_browser_app import DESKTOP, PHONE, WATCH_POLICY, Person, run_async, sign_in
from tests.test_browser_booking import UNIT, as_user
from tests.test_browser_pages import axe, check, new_person  # noqa: F401 (fixtures)
from web.client.session import ClientSession

pytest.importorskip("playwright.sync_api", reason="browser tests need the playwright package")
from playwright.sync_api import expect  # noqa: E402

server = server_fixture()
MINUTE = 60_000
CONNECT_MS = 60_000  # a loaded machine may take a while to gather candidates and finish DTLS
_slots = itertools.count()  # Anna's times in this module, 40 s apart so they never overlap
REMOTE_FRAMES = """() => {
  const video = document.getElementById("remote-video");
  return video.videoWidth > 0 && video.getVideoPlaybackQuality().totalVideoFrames > 0;
}"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium(FAKE_MEDIA_ARGS) as running:
        yield running


def video_booking(server: RunningServer) -> int:
    """Anna publishes a short video time starting within minutes (so its call is open); Dana books it."""
    start = int(time.time() * 1000) + MINUTE + 40_000 * next(_slots)
    with as_user(server, "anna") as anna:
        slot = anna.post(f"/api/units/{UNIT}/slots", json={"starts_at": start, "ends_at": start + 30_000,
                                                           "forms": ["video"]})
        slot.raise_for_status()
    with as_user(server, "dana") as dana:
        booked = dana.post(f"/api/cases/{CASE_DANA}/bookings", json={"slot_id": slot.json()["slot"]["id"],
                                                                      "form": "video"})
        booked.raise_for_status()
    return int(booked.json()["booking"]["id"])


@contextlib.contextmanager
def enforced(browser: Any, server: RunningServer, name: str, options: dict[str, Any],
             relay: Callable[[Any], None] | None = None) -> Iterator[Person]:
    """A signed-in page under the pages' real policy (violations are collected); `relay`, if given, sits
    between the page and the server's WebSocket."""
    context = browser.new_context(locale="sv-SE", **options)
    context.add_init_script(WATCH_POLICY)
    if relay is not None:
        context.route_web_socket(re.compile(r".*/ws\?.*"), relay)
    page = context.new_page()
    sign_in(page, server, name)
    try:
        yield Person(page, server)
    finally:
        context.close()


def join(person: Person) -> None:
    button = person.page.get_by_role("button", name="Anslut till samtalet")
    expect(button).to_be_enabled(timeout=20_000)
    button.click()
    expect(person.page.locator("#call[data-joined=true]")).to_have_count(1)


def test_citizen_and_caseworker_see_and_hear_each_other_and_hang_up(browser, server):
    booking_id = video_booking(server)
    with enforced(browser, server, "Dana Karlsson", PHONE) as dana, \
            enforced(browser, server, "Anna Lind", DESKTOP) as anna:
        dana.goto(f"/cases/{CASE_DANA}/booking")
        dana.page.locator(f"[data-join-call='{booking_id}']").click()
        dana.page.wait_for_url(f"**/cases/{CASE_DANA}/calls/{booking_id}")
        anna.goto("/calendar")
        anna.page.get_by_label("Vecka").check()  # the time may fall on tomorrow, close to midnight
        anna.page.locator(f"[data-join-call='{booking_id}']").click()
        anna.page.wait_for_url(f"**/cases/{CASE_DANA}/calls/{booking_id}")
        expect(anna.page.locator("#call-meeting")).to_contain_text("Dana Karlsson")

        join(dana)
        expect(dana.page.locator("#call-state")).to_have_text("Väntar på att Anna Lind ansluter…")
        join(anna)
        for person, other in ((dana, "Anna Lind"), (anna, "Dana Karlsson")):
            expect(person.page.locator("#call[data-pc-state=connected]")).to_have_count(1, timeout=CONNECT_MS)
            expect(person.page.locator("#call-state")).to_have_text(f"Ansluten till {other}.")
            person.page.wait_for_function(REMOTE_FRAMES, timeout=CONNECT_MS)
        # The phone's page fits its screen: nothing to scroll sideways.
        assert dana.page.evaluate("document.documentElement.scrollWidth") <= PHONE["viewport"]["width"]

        mute = dana.page.get_by_role("button", name="Stäng av mikrofonen")
        mute.click()
        expect(mute).to_have_attribute("aria-pressed", "true")
        assert dana.page.evaluate("document.getElementById('local-video').srcObject.getAudioTracks()"
                                  ".every((track) => !track.enabled)")
        camera = anna.page.get_by_role("button", name="Stäng av kameran")
        camera.click()
        expect(camera).to_have_attribute("aria-pressed", "true")
        assert anna.page.evaluate("document.getElementById('local-video').srcObject.getVideoTracks()"
                                  ".every((track) => !track.enabled)")

        anna.page.get_by_role("button", name="Lägg på").click()
        expect(anna.page.locator("#call-state")).to_have_text("Du lämnade samtalet.")
        expect(dana.page.locator("#call-state")).to_have_text("Anna Lind avslutade samtalet.")
        for person in (dana, anna):
            expect(person.page.locator("#call[data-joined=false][data-pc-state=none]")).to_have_count(1)
            expect(person.page.get_by_role("button", name="Anslut till samtalet")).to_be_visible()
            assert person.page.evaluate("document.getElementById('local-video').srcObject") is None
            person.assert_clean()  # no script error, and the policy refused nothing
    # The database never saw the SDP: a fingerprint line is in every SDP, sealed before it left a browser.
    assert b"a=fingerprint" not in server.stored_bytes()
    assert "a=fingerprint" not in server.log_text()


def test_the_caseworker_joins_from_the_case_in_the_inbox(browser, server):
    """The open case in the inbox lists its booked meetings, and a video meeting's way into the call."""
    booking_id = video_booking(server)
    with enforced(browser, server, "Anna Lind", DESKTOP) as anna:
        anna.goto(f"/inbox/{CASE_DANA}")
        meetings = anna.page.locator("#case-meetings")
        expect(meetings).to_be_visible()
        meeting = meetings.locator(f"[data-booking-id='{booking_id}']")
        expect(meeting).to_contain_text("Videomöte")
        meeting.get_by_role("link", name="Anslut till videosamtalet").click()
        anna.page.wait_for_url(f"**/cases/{CASE_DANA}/calls/{booking_id}")
        expect(anna.page.locator("#call-meeting")).to_contain_text("Dana Karlsson")
        # From the case, booking a time for the citizen opens the calendar with the case chosen.
        anna.goto(f"/inbox/{CASE_DANA}")
        anna.page.get_by_role("link", name="Boka en tid åt den enskilde").click()
        anna.page.wait_for_url(f"**/calendar?case={CASE_DANA}")
        expect(anna.page.get_by_label("Ärende", exact=True)).to_have_value(CASE_DANA)
        expect(anna.page.get_by_role("heading", name="Boka åt en invånare")).to_be_focused()
        anna.assert_clean()


def test_a_protected_identitys_call_without_a_relay_is_not_offered(browser, server):
    """Dana flagged as having a protected identity, on a server with no TURN relay: her call page says to meet
    by phone or at the office, and there is nothing to join."""
    booking_id = video_booking(server)
    with as_user(server, "cecilia") as cecilia:
        cecilia.put(f"/api/cases/{CASE_DANA}/protected-identity", json={"protected": True}).raise_for_status()
        try:
            with enforced(browser, server, "Dana Karlsson", PHONE) as dana:
                dana.goto(f"/cases/{CASE_DANA}/calls/{booking_id}")
                expect(dana.page.locator("#call-state")).to_contain_text("per telefon eller på kontoret")
                expect(dana.page.get_by_role("button", name="Anslut till samtalet")).to_be_disabled()
                dana.assert_clean()
        finally:
            cecilia.put(f"/api/cases/{CASE_DANA}/protected-identity", json={"protected": False}).raise_for_status()


class TamperingRelay:
    """Stands in for a dishonest server between a browser and Samtal: every frame of `frame_type` (call.signal
    unless told) it passes to the browser is first changed by `tamper`."""

    def __init__(self, tamper: Callable[[dict[str, Any]], dict[str, Any]], frame_type: str = "call.signal") -> None:
        self.tamper = tamper
        self.frame_type = frame_type
        self.changed = 0

    def __call__(self, ws: Any) -> None:
        server = ws.connect_to_server()
        ws.on_message(server.send)
        server.on_message(lambda message: ws.send(self._pass(message)))

    def _pass(self, message: str | bytes) -> str | bytes:
        frame = json.loads(message)
        if frame.get("t") != self.frame_type:
            return message
        self.changed += 1
        return json.dumps(self.tamper(frame))


def flip_signature(frame: dict[str, Any]) -> dict[str, Any]:
    env = bytearray(unb64u(frame["env"]))
    env[-10] ^= 1  # in the signature: the envelope still parses
    return {**frame, "env": b64u(bytes(env))}


def bo_signed_offer(server: RunningServer, folder: Path, booking_id: int) -> tuple[str, str]:
    """An offer that Bo, a colleague with the case key but not in the call, sealed and signed: (env, device)."""
    async def seal() -> tuple[str, str]:
        async with ClientSession(server.url, folder, "bo") as bo:
            await bo.start()
            case = await bo.case(CASE_DANA)
            epoch, key = await bo.case_key(case)
            assert bo.device is not None
            header = Header(CASE_DANA, new_msg_id(), bo.device_id, epoch, int(time.time() * 1000))
            body = {"type": "call.signal", "booking": booking_id, "to": "x", "kind": "offer", "call": new_msg_id(),
                    "sdp": "v=0"}
            return b64u(seal_message(key, header, body, bo.device.keys)), bo.device_id
    return run_async(asyncio.wait_for(seal(), 60))


@pytest.mark.parametrize("attack", ["flipped signature", "a colleague's device named as Anna's"])
def test_a_tampering_relay_gets_nowhere(browser, server, tmp_path, attack):
    booking_id = video_booking(server)
    if attack == "flipped signature":
        tamper, why = flip_signature, "signature does not verify"
    else:
        env, device = bo_signed_offer(server, tmp_path, booking_id)
        tamper, why = (lambda frame: {**frame, "env": env, "from_device": device}), "does not belong to the named"
    relay = TamperingRelay(tamper)
    path = f"/cases/{CASE_DANA}/calls/{booking_id}"
    with enforced(browser, server, "Dana Karlsson", PHONE, relay) as dana, \
            enforced(browser, server, "Anna Lind", DESKTOP) as anna:
        dana.goto(path)
        anna.goto(path)
        join(dana)
        join(anna)
        # Anna's offer reaches Dana only through the relay: refused, so no peer connection is ever made.
        expect(dana.page.locator("#call:not([data-rejected='0'])")).to_have_count(1, timeout=CONNECT_MS)
        assert why in dana.page.locator("#call").get_attribute("data-refused-why")
        expect(dana.page.locator("#call-error")).to_have_text(
            "Ett meddelande i samtalet kunde inte verifieras och användes inte.")
        assert relay.changed >= 1
        expect(dana.page.locator("#call")).to_have_attribute("data-pc-state", "none")
        expect(anna.page.locator("#call")).not_to_have_attribute("data-pc-state", "connected")
        anna.page.get_by_role("button", name="Lägg på").click()  # and the call is over for both
        for person in (anna, dana):
            expect(person.page.locator("#call[data-joined=false]")).to_have_count(1)
        anna.assert_clean()
        assert dana.page.evaluate("window.__violations") == []


@pytest.mark.parametrize(("lang", "name", "home", "options", "join_label"), [
    ("sv", "Dana Karlsson", "/cases", PHONE, "Anslut till samtalet"),
    ("en", "Dana Karlsson", "/cases", PHONE, "Join the call"),
    ("sv", "Anna Lind", "/inbox", DESKTOP, "Anslut till samtalet"),
    ("en", "Anna Lind", "/inbox", DESKTOP, "Join the call")])
def test_the_call_page_passes_axe_before_and_in_the_call(browser, server, axe, lang, name, home, options,
                                                          join_label):
    booking_id = video_booking(server)
    person = new_person(browser, server, options, lang)
    try:
        person.goto("/")
        person.page.get_by_role("button", name=name).click()
        person.page.wait_for_url(f"**{home}")
        person.goto(f"/cases/{CASE_DANA}/calls/{booking_id}")
        expect(person.page.locator("html")).to_have_attribute("lang", lang)
        button = person.page.get_by_role("button", name=join_label)
        expect(button).to_be_enabled(timeout=20_000)
        check(person, axe)
        button.click()
        expect(person.page.locator("#call[data-phase=waiting]")).to_have_count(1, timeout=20_000)
        check(person, axe)
        if options is PHONE:
            assert person.page.evaluate("document.documentElement.scrollWidth") <= PHONE["viewport"]["width"]
    finally:
        person.page.context.close()
