"""The less-travelled paths (issue 20), each as the person would meet it: the citizen on a 360 px phone,
staff at a desktop, pages driven by their accessible names, mail caught by a local SMTP sink. Each test
names the finding it proves."""
from __future__ import annotations

import email
import email.policy
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import free_port, server_fixture, start_server, stop_server
from tests.helpers import CASE_DANA, CASE_ERIK, local_mailbox
from tests.test_browser_app import PHONE, Person, client_sends
from tests.test_browser_booking import HOUR, UNIT, as_user, publish
from tests.test_browser_exchange import show_agency_mail
from tests.test_browser_pages import axe, browser, check  # noqa: F401 (fixtures)
from tests.test_browser_staff_pages import signed_in

from .waiting import eventually_blocking

pytest.importorskip("playwright.sync_api", reason="browser tests need the playwright package")
from playwright.sync_api import expect  # noqa: E402

SMTP_PORT = free_port()
# One minute's grace and interval, and a one-hour change limit: the singulars ("1 minuter" was shown).
server = server_fixture(SAMTAL_SMTP_HOST="127.0.0.1", SAMTAL_SMTP_PORT=str(SMTP_PORT),
                        SAMTAL_NOTIFY_GRACE_SECONDS="60", SAMTAL_NOTIFY_MIN_INTERVAL_SECONDS="60",
                        SAMTAL_BOOKING_CHANGE_HOURS="1")
# The citizen's phone is in Sweden: its clock is the one the mail must agree with.
SWEDISH_PHONE = {**PHONE, "timezone_id": "Europe/Stockholm"}


@pytest.fixture(scope="module")
def anna(browser, server) -> Iterator[Person]:  # type: ignore[no-untyped-def]
    person = signed_in(browser, server, "Anna Lind", "/inbox")
    yield person
    person.page.context.close()


@pytest.fixture(scope="module")
def mailbox() -> Any:
    yield from local_mailbox(SMTP_PORT)


@pytest.fixture(scope="module")
def dana(browser, server) -> Iterator[Person]:  # type: ignore[no-untyped-def]
    person = signed_in(browser, server, "Dana Karlsson", "/cases", options=SWEDISH_PHONE)
    yield person
    person.page.context.close()


def mails_to(mailbox: Any, address: str, count: int) -> list[Any]:
    eventually_blocking(lambda: [m for m in mailbox.messages if address in m.rcpt_tos][count - 1:],
                        within=10, what=f"{count} mails to {address}")
    return [email.message_from_bytes(m.content, policy=email.policy.default)
            for m in mailbox.messages if address in m.rcpt_tos]


def test_3_booking_mail_says_swedish_time_as_the_phone_shows_it_and_reveals_nothing(dana, server, mailbox):
    # 16:35 UTC in December is 17:35 in Stockholm: the mail said "16:35 UTC" while the phone showed 17:35.
    start = (int(time.time() * 1000) // (24 * HOUR) + 4) * 24 * HOUR + 16 * HOUR + 35 * 60 * 1000
    publish(server, start, ["phone"])
    dana.goto(f"/cases/{CASE_DANA}/booking")
    ours = dana.page.locator("#open-slots li.slot")
    expect(ours).to_have_count(1, timeout=20_000)
    shown = ours.locator("time").text_content()
    ours.get_by_role("button", name="Boka den här tiden").click()
    expect(dana.page.locator("#my-bookings li.booking")).to_have_count(1, timeout=10_000)
    (mail,) = mails_to(mailbox, "dana@demo.samtal.invalid", 1)
    text = mail.get_body(("plain",)).get_content()
    (calendar,) = [p for p in mail.iter_attachments() if p.get_content_type() == "text/calendar"]
    ics = calendar.get_payload(decode=True).decode("utf-8")
    clock = shown.split("–")[0].split()[-1]  # "fredag 11 december 2026 17:35–18:35": the start's clock
    assert f"kl. {clock}" in text and "svensk tid" in text and "Swedish time (Europe/Stockholm)" in text, text
    assert "UTC" not in text
    assert "DTSTART;TZID=Europe/Stockholm:" in ics and clock.replace(":", "") + "00" in ics
    assert "BEGIN:VTIMEZONE" in ics
    for word in ("socialtjänst", "Socialtjänst", "social services", "Ekonomiskt", "bistånd", "Anna", "Dana"):
        assert word not in text and word not in ics and word not in str(mail["Subject"]), word


def test_10_counts_of_one_are_singular_on_the_phone(dana, axe):
    dana.goto("/settings")
    expect(dana.page.locator("#notify-timing")).to_have_text(
        "Det kommer tidigast 1 minut efteråt, och högst ett e-postmeddelande per minut.", timeout=10_000)
    dana.goto(f"/cases/{CASE_DANA}/booking")
    expect(dana.page.locator("#booking-limit")).to_have_text(
        "Du kan ändra eller avboka här fram till 1 timme innan mötet börjar.", timeout=10_000)
    check(dana, axe)


def test_7_a_colleagues_message_is_shown_with_her_name_everywhere(dana, anna, server, tmp_path: Path):
    # Cecilia, the supervisor, answers in Anna's case: it showed as "Ekonomiskt bistånd" to all.
    text = "Jag svarar medan Anna är på möte."
    client_sends(server, tmp_path, "cecilia", CASE_DANA, text)
    dana.open_conversation(f"/cases/{CASE_DANA}")
    expect(dana.message(text).locator(".sender")).to_have_text("Cecilia Berg", timeout=10_000)
    anna.open_conversation(f"/inbox/{CASE_DANA}")
    expect(anna.message(text).locator(".sender")).to_have_text("Cecilia Berg", timeout=10_000)
    dana.goto(f"/cases/{CASE_DANA}/documentation")
    with dana.page.expect_download(timeout=20_000) as download:
        dana.page.get_by_role("button", name="Exportera min akt").click()
    saved = tmp_path / "akt.html"
    download.value.save_as(saved)
    document = saved.read_text(encoding="utf-8")
    message = document[:document.index(text)].rsplit("<li", 1)[1]
    assert "Cecilia Berg" in message and "Ekonomiskt bistånd" not in message


def test_6_and_2_a_substitute_finds_the_cases_as_hers_and_a_reader_is_told_who_answers(browser, server, axe):
    day = 24 * HOUR
    today = int(time.time() * 1000) // day * day
    with as_user(server, "cecilia") as cecilia:
        answer = cecilia.post(f"/api/units/{UNIT}/substitutes", json={
            "absent_user": "anna", "substitute": "bo", "starts_at": today, "ends_at": today + 7 * day})
        answer.raise_for_status()
        substitution = answer.json()["id"]
    bo = signed_in(browser, server, "Bo Ek", "/inbox")
    try:
        # Mina ärenden (the default list) holds Anna's cases while Bo stands in for her (#20 item 6).
        expect(bo.page.get_by_label("Ärenden", exact=True)).to_have_value("mine")
        for case_id in (CASE_DANA, CASE_ERIK):
            expect(bo.page.locator(f"#case-list [data-case-id='{case_id}']")).to_contain_text(
                "Du är vikarie för Anna Lind till och med", timeout=20_000)
        bo.page.locator(f"#case-list [data-case-id='{CASE_DANA}']").click()
        bo.wait_ready()
        expect(bo.page.locator("#case-meta")).to_contain_text("Du är vikarie för Anna Lind till och med")
        expect(bo.page.get_by_role("textbox", name="Meddelande")).to_be_visible()
        check(bo, axe)

        # The substitution ends: Bo may still read the case, but gets no composer the server would refuse,
        # and is told who answers and what to do (#20 item 2).
        with as_user(server, "cecilia") as cecilia:
            cecilia.delete(f"/api/units/{UNIT}/substitutes/{substitution}").raise_for_status()
        bo.open_conversation(f"/inbox/{CASE_DANA}")
        expect(bo.page.locator("#composer-closed")).to_have_text(
            "Du kan läsa ärendet men inte svara i det: Anna Lind svarar, eller en arbetsledare. Be en arbetsledare "
            "tilldela dig ärendet eller göra dig till vikarie om du ska svara.", timeout=10_000)
        expect(bo.page.get_by_role("textbox", name="Meddelande")).to_be_hidden()
        expect(bo.page.locator(f"#case-list [data-case-id='{CASE_DANA}']")).to_have_count(0)  # not in Mina ärenden
        check(bo, axe)
    finally:
        bo.page.context.close()


def test_4_a_protected_identity_is_offered_no_video_call_that_would_be_refused(dana, anna, server, axe):
    # No TURN relay on this server: a protected identity's video call is refused (relay_unavailable).
    slot = publish(server, int(time.time() * 1000) + 5 * 24 * HOUR, ["video"])
    choice = publish(server, int(time.time() * 1000) + 6 * 24 * HOUR, ["video", "in_person"])
    with as_user(server, "dana") as client:
        client.post(f"/api/cases/{CASE_DANA}/bookings", json={"slot_id": slot["id"], "form": "video"}).raise_for_status()
    with as_user(server, "cecilia") as cecilia:
        cecilia.put(f"/api/cases/{CASE_DANA}/protected-identity", json={"protected": True}).raise_for_status()
    try:
        dana.goto(f"/cases/{CASE_DANA}/booking")
        video = dana.page.locator("#my-bookings li.booking", has_text="Videomöte")
        expect(video).to_contain_text("Ring enheten för att ses per telefon eller på kontoret", timeout=20_000)
        expect(video.get_by_role("link", name="Anslut till videosamtalet")).to_have_count(0)
        offered = dana.page.locator(f"#open-slots li[data-slot-id='{choice['id']}']")
        expect(offered.get_by_label("Besök")).to_have_count(1)
        expect(offered.get_by_label("Videomöte")).to_have_count(0)
        expect(dana.page.locator("#video-unavailable")).to_be_visible()
        check(dana, axe)

        anna.goto(f"/inbox/{CASE_DANA}")
        meeting = anna.page.locator("#case-meeting-list li[data-booking-id]", has_text="Videomöte")
        expect(meeting).to_contain_text("Ring den enskilde", timeout=20_000)
        expect(meeting.get_by_role("link", name="Anslut till videosamtalet")).to_have_count(0)

        # Booking for her by phone from the calendar: no video choice there either, and a line says why.
        anna.goto(f"/calendar?case={CASE_DANA}")
        expect(anna.page.get_by_label("Ärende")).to_have_value(CASE_DANA, timeout=20_000)
        time_choice = anna.page.get_by_label("Tid", exact=True)
        expect(time_choice.locator(f"option[value='{choice['id']}']")).to_have_count(1, timeout=20_000)
        time_choice.select_option(str(choice["id"]))
        form = anna.page.get_by_label("Mötesform")
        expect(form.locator("option")).to_have_text(["Besök på kontoret"])
        expect(anna.page.get_by_text("Inget videomöte erbjuds")).to_be_visible()
        check(anna, axe)
    finally:
        with as_user(server, "cecilia") as cecilia:
            cecilia.put(f"/api/cases/{CASE_DANA}/protected-identity", json={"protected": False}).raise_for_status()


def test_8_the_agency_form_says_when_there_is_no_one_to_send_to(anna):
    # This server registers no exchange addresses (SAMTAL_DEMO_EXCHANGE=0): "Signera och skicka" did nothing.
    anna.goto("/inbox")
    show_agency_mail(anna.page)
    anna.page.get_by_role("button", name="Nytt dokument till myndighet").click()
    expect(anna.page.locator("#compose-status")).to_contain_text("har ingen funktionsadress", timeout=20_000)
    expect(anna.page.get_by_role("button", name="Signera och skicka")).to_be_disabled()


def test_8_the_demo_sends_to_an_agency_on_first_try(browser, tmp_path: Path):
    """`serve --demo` as `python3 dev.py serve` runs it: the steward registers the demo agencies and shares the
    unit address's keys, and Anna's first document to Polisen goes out."""
    from web.client.exchange import AgencyClient

    demo = start_server(tmp_path, SAMTAL_DEMO_EXCHANGE="1")
    try:
        shared = demo.data_dir / "demo-exchange" / "shared"
        try:
            eventually_blocking(shared.exists, within=60, what="the demo exchange's keys")
        except AssertionError:
            raise AssertionError(demo.log_text()) from None
        anna = signed_in(browser, demo, "Anna Lind", "/inbox")
        page = anna.page
        show_agency_mail(page)  # agency mail has its own place in the inbox's list, behind its switch
        page.get_by_role("button", name="Nytt dokument till myndighet").click()
        page.get_by_label("Mottagare").select_option(label="Polisen")
        page.get_by_label("Dokumenttyp").select_option(label="Meddelande")
        page.locator("#doc-subject").fill("Kontaktuppgifter")
        page.locator("#doc-text").fill("Vi behöver nå er handläggare.")
        page.get_by_role("button", name="Signera och skicka").click()
        expect(page.locator("#agency-doc-status")).to_contain_text("Skickat", timeout=30_000)
        polisen = AgencyClient(demo.url, demo.data_dir / "demo-exchange" / "polisen.json")
        assert [m["type"] for m in polisen.fetch()] == ["message/v1"]
        anna.page.context.close()
    finally:
        stop_server(demo)


def test_2_refusals_on_other_pages_say_what_happened_and_what_to_do(anna, dana, server, axe):
    # The calendar: a time that ends before it starts (the server refuses it; it said "Något gick fel").
    anna.goto("/calendar")
    expect(anna.page.get_by_label("Börjar")).to_be_visible(timeout=20_000)
    anna.page.get_by_label("Börjar").fill("10:00")
    anna.page.get_by_label("Slutar").fill("09:00")
    anna.page.get_by_role("button", name="Publicera").click()
    expect(anna.page.locator("#calendar-error")).to_have_text(
        "Tiden publicerades inte: den måste sluta efter att den börjar och vara högst 8 timmar. Ändra start "
        "eller slut.", timeout=10_000)
    expect(anna.page.get_by_label("Slutar")).to_be_focused()
    check(anna, axe)

    # The citizen's booking page: a time withdrawn while she looked at it ("Det gick inte att hitta").
    slot = publish(server, int(time.time() * 1000) + 8 * 24 * HOUR, ["phone"])
    dana.goto(f"/cases/{CASE_DANA}/booking")
    offered = dana.page.locator(f"#open-slots li[data-slot-id='{slot['id']}']")
    expect(offered).to_have_count(1, timeout=20_000)
    with as_user(server, "anna") as client:
        client.delete(f"/api/units/{UNIT}/slots/{slot['id']}").raise_for_status()
    offered.get_by_role("button", name="Boka den här tiden").click()
    expect(dana.page.locator("#booking-error")).to_have_text(
        "Den tiden finns inte längre: den har tagits bort eller bokats. Välj en annan tid.", timeout=10_000)
    check(dana, axe)
