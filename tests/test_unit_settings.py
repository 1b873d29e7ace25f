"""A unit's own meeting link for video meetings, through a running server: the supervisor sets it, other roles
may not, a link that is not https with {booking} (or reaches into the template's objects) is refused, a
video booking's link on the page and in the confirmation mail then comes from it, the change is in the audit
log with the new link, it outlasts a restart, and removing it brings back the server's."""
from __future__ import annotations

import email
import email.policy
import json
import re
import time
from typing import Any

import pytest

from web.client.session import ClientSession

from .conftest import free_port, start_server, stop_server
from .helpers import CASE_ERIK, local_mailbox
from .test_booking import refused
from .waiting import eventually

UNIT = "ekonomiskt-bistand"
SETTINGS = f"/api/units/{UNIT}/settings"
SMTP_PORT = free_port()
ENV = {"SAMTAL_VIDEO_LINK_TEMPLATE": "https://video.example.se/global/{booking}", "SAMTAL_SMTP_HOST": "127.0.0.1",
       "SAMTAL_SMTP_PORT": str(SMTP_PORT)}
OWN = "https://mote.example-kommun.se/{unit}/{booking}"
REFUSED = ["http://mote.example-kommun.se/{booking}", "https://mote.example-kommun.se/rum",
           "https://mote.example-kommun.se/{booking.__class__}", "https://mote.example-kommun.se/{0}/{booking}",
           "https://mote.example-kommun.se/{booking", "https://mote.example-kommun.se/{booking!r}",
           "https://mote.example-kommun.se/{booking:>40}", "https://anna@mote.example-kommun.se/{booking}",
           "https://mote.example-kommun.se/a b/{booking}", "javascript:alert(1)//{booking}"]


@pytest.fixture(scope="module")
def mailbox() -> Any:
    yield from local_mailbox(SMTP_PORT)


def audited_changes(server: Any) -> list[tuple[str, dict[str, Any]]]:
    with server.db() as db:
        return [(actor, json.loads(detail)) for actor, detail in db.execute(
            "SELECT actor, detail FROM audit_log WHERE action = 'unit.settings.change' ORDER BY id")]


async def wait_for_mail(box: Any, address: str) -> Any:
    found = await eventually(lambda: [m for m in box.messages if address in m.rcpt_tos], what="the confirmation")
    return email.message_from_bytes(found[0].content, policy=email.policy.default)


async def test_a_supervisor_sets_the_units_meeting_link_and_bookings_use_it(tmp_path, mailbox):
    server = start_server(tmp_path, **ENV)
    clients = tmp_path / "clients"
    try:
        async with ClientSession(server.url, clients, "cecilia") as cecilia, \
                ClientSession(server.url, clients, "anna") as anna, ClientSession(server.url, clients, "erik") as erik:
            for person in (cecilia, anna, erik):
                await person.start()
            before = await cecilia.transport.call("GET", SETTINGS)
            assert (before["video_link_template"], before["server_video_link_template"]) == (
                None, "https://video.example.se/global/{booking}")
            assert (await anna.transport.call("GET", SETTINGS))["video_link_template"] is None  # staff read it
            assert (await refused(anna.transport.call("PUT", SETTINGS, {"video_link_template": OWN}))).status == 403
            assert (await refused(erik.transport.call("GET", SETTINGS))).status == 403
            missing = await refused(cecilia.transport.call("PUT", SETTINGS, {"link": OWN}))
            assert (missing.status, missing.code) == (400, "invalid_field")
            for template in REFUSED:
                error = await refused(cecilia.transport.call("PUT", SETTINGS, {"video_link_template": template}))
                assert (error.status, error.code) == (400, "invalid_link"), template

            saved = await cecilia.transport.call("PUT", SETTINGS, {"video_link_template": OWN})
            assert saved["video_link_template"] == OWN and saved["updated_by"] == "cecilia"
            await erik.transport.call("PUT", "/api/me/contact", {"email": "erik.video@example.se"})
            start = int(time.time() * 1000) + 4 * 24 * 3600 * 1000
            slot = (await anna.transport.call("POST", f"/api/units/{UNIT}/slots", {
                "starts_at": start, "ends_at": start + 3600 * 1000, "forms": ["video"]}))["slot"]
            booking = (await erik.transport.call("POST", f"/api/cases/{CASE_ERIK}/bookings",
                                                 {"slot_id": slot["id"], "form": "video"}))["booking"]
            room = booking["video_link"].removeprefix(f"https://mote.example-kommun.se/{UNIT}/")
            assert re.fullmatch(r"[A-Za-z0-9_-]{22}", room), booking["video_link"]
            confirmation = await wait_for_mail(mailbox, "erik.video@example.se")
            assert booking["video_link"] in confirmation.get_body(("plain",)).get_content()
    finally:
        stop_server(server)
    assert audited_changes(server) == [("cecilia", {"video_link_template": OWN})]

    server = start_server(tmp_path, **ENV)  # the same data folder: the unit's link outlasts a restart
    try:
        async with ClientSession(server.url, clients, "cecilia") as cecilia, \
                ClientSession(server.url, clients, "erik") as erik:
            await cecilia.start()
            await erik.start()
            assert (await cecilia.transport.call("GET", SETTINGS))["video_link_template"] == OWN
            reset = await cecilia.transport.call("PUT", SETTINGS, {"video_link_template": None})
            assert reset["video_link_template"] is None
            (mine,) = (await erik.transport.call("GET", f"/api/cases/{CASE_ERIK}/bookings"))["bookings"]
            assert mine["video_link"].startswith("https://video.example.se/global/")
    finally:
        stop_server(server)
    assert audited_changes(server)[-1] == ("cecilia", {"video_link_template": None})
