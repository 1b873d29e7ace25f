"""Tidsbokning through the real server: publishing times, booking for one's own case, no double booking,
staff booking on the citizen's behalf, the change limit, the calendar, and the confirmation and reminder
e-mails with their iCalendar invitation (parsed here by the rules of RFC 5545) carrying nothing sensitive."""
from __future__ import annotations

import asyncio
import email
import email.policy
import json
import re
import time
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from web.cli.main import main as samtal
from web.client.transport import ClientError

from .conftest import free_port, server_fixture
from .helpers import CASE_DANA, CASE_ERIK, Mailbox, local_mailbox
from .waiting import eventually

UNIT = "ekonomiskt-bistand"
HOUR = 3600 * 1000
DAY = 24 * HOUR


SMTP_PORT = free_port()
server = server_fixture(SAMTAL_SMTP_HOST="127.0.0.1", SAMTAL_SMTP_PORT=str(SMTP_PORT),
                        SAMTAL_BOOKING_CHANGE_HOURS="24", SAMTAL_BOOKING_REMINDER_HOURS="2",
                        SAMTAL_BOOKING_REMINDER_CHECK_SECONDS="1",
                        SAMTAL_VIDEO_LINK_TEMPLATE="https://video.example.se/m/{booking}")


@pytest.fixture(scope="module", autouse=True)
def mailbox() -> Any:
    yield from local_mailbox(SMTP_PORT)


def day_start(days_ahead: int) -> int:
    today = int(time.time() * 1000) // DAY * DAY
    return today + days_ahead * DAY


async def publish(staff: Any, starts_at: int, forms: list[str], minutes: int = 60) -> dict[str, Any]:
    answer = await staff.transport.call("POST", f"/api/units/{UNIT}/slots", {
        "starts_at": starts_at, "ends_at": starts_at + minutes * 60 * 1000, "forms": forms})
    return answer["slot"]  # type: ignore[no-any-return]


async def refused(call: Any) -> ClientError:
    with pytest.raises(ClientError) as error:
        await call
    return error.value


async def test_a_citizen_books_a_time_for_her_own_case_and_a_time_is_booked_once(login):
    anna, dana, erik = await login("anna"), await login("dana"), await login("erik")
    slot = await publish(anna, day_start(3) + 9 * HOUR, ["in_person", "phone"])
    assert slot["address"] == "Storgatan 1, 111 22 Stockholm" and slot["forms"] == ["in_person", "phone"]

    view = await dana.transport.call("GET", f"/api/cases/{CASE_DANA}/bookings")
    assert slot["id"] in [s["id"] for s in view["open_slots"]] and view["change_limit_hours"] == 24
    # Another citizen's case answers as one that does not exist.
    assert (await refused(erik.transport.call("GET", f"/api/cases/{CASE_DANA}/bookings"))).status == 404
    not_hers = await refused(erik.transport.call("POST", f"/api/cases/{CASE_DANA}/bookings",
                                                 {"slot_id": slot["id"], "form": "phone"}))
    assert (not_hers.status, not_hers.code) == (404, "unknown_case")
    not_offered = await refused(dana.transport.call("POST", f"/api/cases/{CASE_DANA}/bookings",
                                                    {"slot_id": slot["id"], "form": "video"}))
    assert (not_offered.status, not_offered.code) == (400, "form_not_offered")

    booked = (await dana.transport.call("POST", f"/api/cases/{CASE_DANA}/bookings",
                                        {"slot_id": slot["id"], "form": "in_person"}))["booking"]
    assert booked["status"] == "booked" and booked["booked_by"] == "dana" and booked["on_behalf"] is False
    assert booked["may_change"] is True and booked["slot"]["address"] == "Storgatan 1, 111 22 Stockholm"
    taken = await refused(erik.transport.call("POST", f"/api/cases/{CASE_ERIK}/bookings",
                                              {"slot_id": slot["id"], "form": "phone"}))
    assert (taken.status, taken.code) == (409, "slot_taken")
    after = await erik.transport.call("GET", f"/api/cases/{CASE_ERIK}/bookings")
    assert slot["id"] not in [s["id"] for s in after["open_slots"]]

    # Two people asking for the same time at once: one gets it.
    contested = await publish(anna, day_start(3) + 11 * HOUR, ["phone"])
    results = await asyncio.gather(
        dana.transport.call("POST", f"/api/cases/{CASE_DANA}/bookings", {"slot_id": contested["id"], "form": "phone"}),
        erik.transport.call("POST", f"/api/cases/{CASE_ERIK}/bookings", {"slot_id": contested["id"], "form": "phone"}),
        return_exceptions=True)
    assert sorted(type(r).__name__ for r in results) == ["ClientError", "dict"]
    assert next(r for r in results if isinstance(r, ClientError)).code == "slot_taken"


async def test_staff_book_on_the_citizens_behalf_and_see_it_in_the_calendar(login):
    anna, bo, erik = await login("anna"), await login("bo"), await login("erik")
    slot = await publish(anna, day_start(4) + 13 * HOUR, ["phone", "video"])
    later = await publish(anna, day_start(6) + 13 * HOUR, ["phone"])
    booked = (await bo.transport.call("POST", f"/api/cases/{CASE_ERIK}/bookings",
                                      {"slot_id": slot["id"], "form": "video"}))["booking"]
    assert booked["on_behalf"] is True and booked["booked_by"] == "bo" and booked["citizen_id"] == "erik"
    # The room is named by a keyed hash of the booking, not its sequential id, so it cannot be guessed.
    prefix, room = booked["video_link"].rsplit("/", 1)
    assert prefix == "https://video.example.se/m" and room != str(booked["id"])
    assert re.fullmatch(r"[A-Za-z0-9_-]{22}", room)
    mine = (await erik.transport.call("GET", f"/api/cases/{CASE_ERIK}/bookings"))["bookings"]
    assert [b["id"] for b in mine if b["status"] == "booked" and b["on_behalf"]] == [booked["id"]]

    day = await anna.transport.call("GET", f"/api/units/{UNIT}/calendar", params={"start": day_start(4), "days": 1})
    assert [s["id"] for s in day["slots"]] == [slot["id"]]
    entry = day["slots"][0]["booking"]
    assert entry["citizen_name"] == "Erik Nilsson" and entry["form"] == "video" and entry["on_behalf"] is True
    week = await anna.transport.call("GET", f"/api/units/{UNIT}/calendar", params={"start": day_start(4), "days": 7})
    assert {slot["id"], later["id"]} <= {s["id"] for s in week["slots"]}
    assert week["offices"] == [{"id": week["offices"][0]["id"], "address": "Storgatan 1, 111 22 Stockholm",
                                "phone": "031-390 06 00"}]
    bos_own = await bo.transport.call("GET", f"/api/units/{UNIT}/calendar", params={"start": day_start(4), "days": 7})
    assert bos_own["slots"] == []  # his own times: none
    bad = await refused(anna.transport.call("GET", f"/api/units/{UNIT}/calendar", params={"days": 3}))
    assert bad.code == "invalid_field"


async def test_a_citizen_changes_a_booking_until_the_limit_and_staff_after_it(login):
    anna, cecilia, dana = await login("anna"), await login("cecilia"), await login("dana")
    soon = await publish(anna, int(time.time() * 1000) + 5 * HOUR, ["phone"])
    first = await publish(anna, day_start(5) + 9 * HOUR, ["phone"])
    second = await publish(anna, day_start(5) + 10 * HOUR, ["phone", "in_person"])

    near = (await dana.transport.call("POST", f"/api/cases/{CASE_DANA}/bookings",
                                      {"slot_id": soon["id"], "form": "phone"}))["booking"]
    assert (near["may_change"], near["why_not"]) == (False, "too_late_to_change")
    late = await refused(dana.transport.call("POST", f"/api/cases/{CASE_DANA}/bookings/{near['id']}/cancel"))
    assert (late.status, late.code) == (409, "too_late_to_change")
    cancelled = (await cecilia.transport.call("POST", f"/api/cases/{CASE_DANA}/bookings/{near['id']}/cancel"))
    assert cancelled["booking"]["status"] == "cancelled"
    assert cancelled["booking"]["changed_by"] == "cecilia" and cancelled["booking"]["changed_on_behalf"] is True

    booking = (await dana.transport.call("POST", f"/api/cases/{CASE_DANA}/bookings",
                                         {"slot_id": first["id"], "form": "phone"}))["booking"]
    moved = (await dana.transport.call("POST", f"/api/cases/{CASE_DANA}/bookings/{booking['id']}/reschedule",
                                       {"slot_id": second["id"], "form": "in_person"}))["booking"]
    assert moved["slot"]["id"] == second["id"] and moved["status"] == "booked"
    listed = {b["id"]: b for b in (await dana.transport.call("GET", f"/api/cases/{CASE_DANA}/bookings"))["bookings"]}
    assert listed[booking["id"]]["status"] == "rescheduled" and listed[booking["id"]]["replaced_by"] == moved["id"]
    again = await refused(dana.transport.call("POST", f"/api/cases/{CASE_DANA}/bookings/{booking['id']}/cancel"))
    assert again.code == "booking_not_active"
    # The first time is open again; the second cannot be withdrawn while booked.
    assert first["id"] in [s["id"] for s in (await dana.transport.call(
        "GET", f"/api/cases/{CASE_DANA}/bookings"))["open_slots"]]
    busy = await refused(anna.transport.call("DELETE", f"/api/units/{UNIT}/slots/{second['id']}"))
    assert (busy.status, busy.code) == (409, "slot_booked")
    await anna.transport.call("DELETE", f"/api/units/{UNIT}/slots/{first['id']}")
    gone = await refused(dana.transport.call("POST", f"/api/cases/{CASE_DANA}/bookings",
                                             {"slot_id": first["id"], "form": "phone"}))
    assert gone.code == "unknown_slot"


async def test_only_the_units_staff_publish_times_and_times_do_not_overlap(login):
    anna, dana, greta = await login("anna"), await login("dana"), await login("greta")
    start = day_start(8) + 9 * HOUR
    body = {"starts_at": start, "ends_at": start + HOUR, "forms": ["phone"]}
    assert (await refused(dana.transport.call("POST", f"/api/units/{UNIT}/slots", body))).status == 403
    assert (await refused(greta.transport.call("POST", f"/api/units/{UNIT}/slots", body))).status == 403
    assert (await refused(dana.transport.call("GET", f"/api/units/{UNIT}/calendar"))).status == 403
    await publish(anna, start, ["phone"])
    overlap = await refused(publish(anna, start + 30 * 60 * 1000, ["phone"]))
    assert (overlap.status, overlap.code) == (409, "slot_overlaps")
    for bad in ({**body, "forms": []}, {**body, "forms": ["teleport"]}, {**body, "ends_at": start},
                {**body, "starts_at": 1000, "ends_at": 2000}):
        assert (await refused(anna.transport.call("POST", f"/api/units/{UNIT}/slots", bad))).status == 400


# -- e-mail ----------------------------------------------------------------------------------------------
def unfold(ics: str) -> list[str]:
    assert "\n" not in ics.replace("\r\n", ""), "every line ends with CRLF"
    raw = ics.split("\r\n")
    assert raw[-1] == ""
    for line in raw:
        assert len(line.encode("utf-8")) <= 75, line
    lines: list[str] = []
    for line in raw[:-1]:
        if line.startswith((" ", "\t")):
            lines[-1] += line[1:]
        else:
            lines.append(line)
    return lines


def parse_ics(ics: str) -> dict[str, str]:
    lines = unfold(ics)
    assert lines[0] == "BEGIN:VCALENDAR" and lines[-1] == "END:VCALENDAR"
    assert lines.count("BEGIN:VEVENT") == 1 and lines.count("END:VEVENT") == 1
    fields: dict[str, str] = {}
    for line in lines:
        name, _, value = line.partition(":")
        fields.setdefault(name, value)
    return fields


async def mails_to(mailbox: Mailbox, address: str, count: int, timeout: float = 10, skip: int = 0) -> list[Any]:
    def arrived() -> list[Any]:
        found = [m for m in mailbox.messages if address in m.rcpt_tos][skip:]
        return found if len(found) >= count else []
    return await eventually(arrived, within=timeout, what=f"{count} mails to {address}")


def parts(envelope: Any) -> tuple[Any, str, str]:
    mail = email.message_from_bytes(envelope.content, policy=email.policy.default)
    text = mail.get_body(("plain",)).get_content()
    (calendar,) = [p for p in mail.iter_attachments() if p.get_content_type() == "text/calendar"]
    return mail, text, calendar.get_payload(decode=True).decode("utf-8")


SENSITIVE = ("socialtjänst", "Socialtjänst", "Ansökan", "bistånd", "Ekonomiskt", "Dana", "Karlsson", "Erik", "Nilsson", "Anna", "Lind", "Bo Ek",
             "eb-2026", "Cecilia")


async def test_a_booking_is_confirmed_by_mail_with_an_invitation_and_nothing_sensitive(login, mailbox, server):
    anna, dana = await login("anna"), await login("dana")
    invalid = await refused(dana.transport.call("PUT", "/api/me/contact", {"email": "not an address"}))
    assert invalid.code == "invalid_field"
    assert (await dana.transport.call("GET", "/api/me/contact"))["email"] == "dana@demo.samtal.invalid"
    await dana.transport.call("PUT", "/api/me/contact", {"email": "dana.k@example.se"})
    start = day_start(9) + 14 * HOUR
    slot = await publish(anna, start, ["in_person", "phone"], minutes=45)
    booking = (await dana.transport.call("POST", f"/api/cases/{CASE_DANA}/bookings",
                                         {"slot_id": slot["id"], "form": "in_person"}))["booking"]
    (envelope,) = await mails_to(mailbox, "dana.k@example.se", 1)
    mail, text, ics = parts(envelope)
    assert mail["Subject"] == "Bokad tid i Samtal"
    fields = parse_ics(ics)
    assert fields["METHOD"] == "REQUEST" and fields["VERSION"] == "2.0" and fields["PRODID"]
    assert fields["UID"] == f"booking-{booking['id']}@samtal.invalid"
    stockholm = ZoneInfo("Europe/Stockholm")
    assert fields["DTSTART;TZID=Europe/Stockholm"] == datetime.fromtimestamp(start / 1000, stockholm).strftime(
        "%Y%m%dT%H%M%S")
    assert fields["DTEND;TZID=Europe/Stockholm"] == datetime.fromtimestamp(
        (start + 45 * 60 * 1000) / 1000, stockholm).strftime("%Y%m%dT%H%M%S")
    assert fields["TZID"] == "Europe/Stockholm"  # the VTIMEZONE the TZID names
    assert abs(datetime.strptime(fields["DTSTAMP"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC).timestamp()
               - time.time()) < 120
    assert fields["SUMMARY"] == "Bokad tid i Samtal"
    assert fields["LOCATION"] == "Storgatan 1\\, 111 22 Stockholm" and fields["URL"] == server.url + "/"
    for word in SENSITIVE:
        assert word not in ics and word not in text and word not in str(mail["Subject"]), word

    # Moved: the old time is cancelled in the person's calendar, the new one is sent.
    later = await publish(anna, start + DAY, ["phone"], minutes=45)
    moved = (await dana.transport.call("POST", f"/api/cases/{CASE_DANA}/bookings/{booking['id']}/reschedule",
                                       {"slot_id": later["id"], "form": "phone"}))["booking"]
    found = await mails_to(mailbox, "dana.k@example.se", 3)
    by_uid = {parse_ics(parts(m)[2])["UID"]: parse_ics(parts(m)[2])["METHOD"] for m in found[1:]}
    assert by_uid == {f"booking-{booking['id']}@samtal.invalid": "CANCEL",
                      f"booking-{moved['id']}@samtal.invalid": "REQUEST"}

    await dana.transport.call("POST", f"/api/cases/{CASE_DANA}/bookings/{moved['id']}/cancel")
    cancel = (await mails_to(mailbox, "dana.k@example.se", 4))[3]
    mail, _, ics = parts(cancel)
    assert mail["Subject"] == "Avbokad tid i Samtal"
    assert parse_ics(ics)["METHOD"] == "CANCEL" and parse_ics(ics)["UID"] == f"booking-{moved['id']}@samtal.invalid"
    await dana.transport.call("PUT", "/api/me/contact", {"email": None})
    assert (await dana.transport.call("GET", "/api/me/contact"))["email"] is None


async def test_a_reminder_goes_before_the_time(login, mailbox):
    anna = await login("anna")
    await asyncio.sleep(1)  # mails of earlier tests are out
    before = len([m for m in mailbox.messages if "erik@demo.samtal.invalid" in m.rcpt_tos])
    slot = await publish(anna, int(time.time() * 1000) + HOUR, ["video"])
    await anna.transport.call("POST", f"/api/cases/{CASE_ERIK}/bookings", {"slot_id": slot["id"], "form": "video"})
    found = await mails_to(mailbox, "erik@demo.samtal.invalid", 2, skip=before)
    subjects = sorted(parts(m)[0]["Subject"] for m in found)
    assert subjects == ["Bokad tid i Samtal", "Påminnelse om bokad tid i Samtal"]
    reminder = next(m for m in found if parts(m)[0]["Subject"].startswith("Påminnelse"))
    _, text, ics = parts(reminder)
    assert parse_ics(ics)["LOCATION"].startswith("https://video.example.se/m/")
    for word in SENSITIVE:
        assert word not in ics and word not in text, word
    await asyncio.sleep(2.5)  # sent once
    assert len([m for m in mailbox.messages if "erik@demo.samtal.invalid" in m.rcpt_tos]) == before + 2


async def test_an_operator_adds_an_office_that_times_in_person_then_offer(login, server, capsys):
    assert samtal(["booking", "office", "--data-dir", str(server.data_dir), "--unit", UNIT,
                   "--address", "Kungsgatan 5, 411 19 Göteborg", "--phone", "031-390 06 01"]) == 0
    listed = json.loads(capsys.readouterr().out)["offices"]
    offices = {o["address"]: o["id"] for o in listed}
    assert set(offices) == {"Storgatan 1, 111 22 Stockholm", "Kungsgatan 5, 411 19 Göteborg"}
    assert {o["address"]: o["phone"] for o in listed}["Kungsgatan 5, 411 19 Göteborg"] == "031-390 06 01"
    assert samtal(["booking", "office", "--data-dir", str(server.data_dir), "--unit", UNIT,
                   "--address", "Kungsgatan 7", "--phone", "ring mig"]) == 2  # not a phone number
    assert samtal(["booking", "office", "--data-dir", str(server.data_dir), "--unit", "no-such-unit"]) == 2
    anna = await login("anna")
    start = day_start(10) + 9 * HOUR
    slot = (await anna.transport.call("POST", f"/api/units/{UNIT}/slots", {
        "starts_at": start, "ends_at": start + HOUR, "forms": ["in_person"],
        "office_id": offices["Kungsgatan 5, 411 19 Göteborg"]}))["slot"]
    assert slot["address"] == "Kungsgatan 5, 411 19 Göteborg"
    other = await refused(anna.transport.call("POST", f"/api/units/{UNIT}/slots", {
        "starts_at": start + 2 * HOUR, "ends_at": start + 3 * HOUR, "forms": ["in_person"], "office_id": 9999}))
    assert other.code == "no_office"
