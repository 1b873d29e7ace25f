"""Tidsbokning in a real browser: the citizen on a phone books a time with a meeting form, sees it, cancels
it, and finds change turned off (with the reason in words) for a meeting that starts too soon; the
caseworker publishes a time on /calendar, sees it in the day and week views and books a time for a citizen
on their behalf. axe-core finds nothing on either page."""
from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.conftest import RunningServer, server_fixture
from tests.helpers import CASE_DANA, CASE_ERIK
from tests.test_browser_app import DESKTOP, PHONE, Person, asked_first
from tests.test_browser_pages import axe, browser, check  # noqa: F401 (fixtures)
from tests.test_browser_staff_pages import signed_in

pytest.importorskip("playwright.sync_api", reason="browser tests need the playwright package")
from playwright.sync_api import expect  # noqa: E402

server = server_fixture()
UNIT = "ekonomiskt-bistand"
HOUR = 3600 * 1000


@contextlib.contextmanager
def as_user(server: RunningServer, username: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=10) as client:
        client.post("/api/demo/login", json={"username": username}).raise_for_status()
        yield client


def publish(server: RunningServer, starts_at: int, forms: list[str]) -> dict[str, Any]:
    with as_user(server, "anna") as anna:
        answer = anna.post(f"/api/units/{UNIT}/slots", json={"starts_at": starts_at, "ends_at": starts_at + HOUR,
                                                            "forms": forms})
        answer.raise_for_status()
        return answer.json()["slot"]  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def dana(browser, server) -> Iterator[Person]:  # type: ignore[no-untyped-def]
    person = signed_in(browser, server, "Dana Karlsson", "/cases", options=PHONE)
    yield person
    person.page.context.close()


def test_the_citizen_books_cancels_and_cannot_change_too_late(dana, server, axe):
    days_ahead = int(time.time() * 1000) + 3 * 24 * HOUR
    publish(server, days_ahead, ["in_person", "phone"])
    soon = publish(server, int(time.time() * 1000) + 2 * HOUR, ["phone"])
    dana.goto(f"/cases/{CASE_DANA}")
    dana.page.get_by_role("link", name="Boka möte").click()
    dana.page.wait_for_url(f"**/cases/{CASE_DANA}/booking")
    slots = dana.page.locator("#open-slots li.slot")
    expect(slots).to_have_count(2, timeout=20_000)
    later = slots.nth(1)
    expect(later).to_contain_text("Storgatan 1, 111 22 Stockholm")  # in person shows the office
    check(dana, axe)
    later.get_by_label("Telefonmöte").check()
    later.get_by_role("button", name="Boka den här tiden").click()
    booked = dana.page.locator("#my-bookings li.booking")
    expect(booked).to_have_count(1)
    expect(booked).to_contain_text("Telefonmöte · Bokad")

    # A meeting in two hours: within the 24 hours, so change is off and the page says why.
    dana.page.locator(f"#open-slots li[data-slot-id='{soon['id']}']").get_by_role(
        "button", name="Boka den här tiden").click()
    expect(dana.page.locator("#my-bookings li.booking")).to_have_count(2)
    near = dana.page.locator("#my-bookings li.booking").last  # latest start first
    expect(near).to_contain_text("mindre än 24 timmar")
    expect(near.get_by_role("button", name="Avboka")).to_be_disabled()
    expect(near.get_by_role("button", name="Byt tid")).to_be_disabled()
    check(dana, axe)

    far = dana.page.locator("#my-bookings li.booking").first
    # Asked first, with when (#14 "No lost input"): Avbryt keeps the booking.
    asked_first(dana.page, far.get_by_role("button", name="Avboka"), "Avboka mötet?",
                "avbokas, och tiden kan bokas av någon annan", "Avboka mötet",
                lambda: expect(far).to_contain_text("Bokad"))
    expect(dana.page.locator("#my-bookings li.booking").first).to_contain_text("Avbokad")
    expect(dana.page.locator("#booking-error")).to_be_empty()
    assert dana.errors == []


def test_the_caseworker_publishes_times_and_books_for_a_citizen(browser, server, axe):
    anna = signed_in(browser, server, "Anna Lind", "/inbox")
    try:
        anna.page.get_by_role("link", name="Kalender").click()
        anna.page.wait_for_url("**/calendar")
        # A date typed early is kept (#14 "Lost input": typed before the page was ready, it became today's;
        # this run types it after the page has loaded, which does not always reproduce that race).
        tomorrow = (datetime.now() + timedelta(days=5)).strftime("%Y-%m-%d")
        publish_form = anna.page.locator("#publish")
        publish_form.get_by_label("Datum").fill(tomorrow)
        expect(anna.page.locator("#calendar-summary")).not_to_be_empty(timeout=20_000)  # the page is ready
        expect(publish_form.get_by_label("Datum")).to_have_value(tomorrow)
        publish_form.get_by_label("Börjar").fill("13:00")
        publish_form.get_by_label("Slutar").fill("13:45")
        publish_form.get_by_label("Video").check()
        publish_form.get_by_role("button", name="Publicera").click()
        expect(anna.page.locator("#publish-status")).to_have_text("Tiden är publicerad.")
        day = anna.page.locator("#calendar-days li.calendar-slot")
        expect(day).to_have_count(1)
        expect(day).to_contain_text("13:00")
        expect(day).to_contain_text("Ledig")

        behalf = anna.page.locator("#behalf")
        behalf.get_by_label("Ärende").select_option(CASE_ERIK)
        ours = behalf.locator("#b-slot option", has_text="13:00")
        expect(ours).to_have_count(1)
        behalf.get_by_label("Tid").select_option(ours.get_attribute("value"))
        behalf.get_by_label("Mötesform").select_option("video")
        behalf.get_by_role("button", name="Boka", exact=True).click()
        expect(anna.page.locator("#behalf-status")).to_have_text("Bokad åt invånaren.")
        expect(day).to_contain_text("Erik Nilsson")
        expect(day).to_contain_text("Bokad av personal åt invånaren (anna)")

        anna.page.get_by_label("Vecka").check()
        expect(anna.page.locator("#calendar-days section.calendar-day")).to_have_count(7)
        check(anna, axe)
        with as_user(server, "erik") as erik:
            mine = erik.get(f"/api/cases/{CASE_ERIK}/bookings").json()["bookings"]
        assert any(b["on_behalf"] and b["booked_by"] == "anna" and b["form"] == "video" for b in mine)
    finally:
        anna.page.context.close()


@pytest.mark.parametrize(("name", "home", "path", "heading", "options"), [
    ("Dana Karlsson", "/cases", f"/cases/{CASE_DANA}/booking", "Book a meeting", PHONE),
    ("Anna Lind", "/inbox", "/calendar", "Calendar", DESKTOP)])
def test_the_booking_pages_in_english(browser, server, axe, name, home, path, heading, options):
    person = signed_in(browser, server, name, home, "en", options)
    try:
        person.goto(path)
        expect(person.page.get_by_role("heading", level=1)).to_have_text(heading)
        expect(person.page.locator("#booking-limit, #calendar-summary")).not_to_be_empty(timeout=20_000)
        expect(person.page.locator("html")).to_have_attribute("lang", "en")
        check(person, axe)
    finally:
        person.page.context.close()
