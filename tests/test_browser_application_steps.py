"""Kommunicering and withdrawal in Chromium, the citizen on a phone (360 px) and the caseworker at a desk: Anna
shares the basis of a refusal with Dana with a date to comment by, Dana reads it and comments in Samtal, and
Anna's decision form shows that kommunicering was done, when, and Dana's comments before she refuses; a refusal
without kommunicering asks for the reason; Dana withdraws an application after a confirmation and Anna sees it
withdrawn; Dana appeals a refusal in time, and Anna reconsiders it (not changed) and records it sent to the
court, steps Dana follows; a late appeal is shown late on both sides and dismissed. axe-core finds nothing on
the pages, and the database holds nothing of what was typed."""
from __future__ import annotations

import re
import time
from datetime import date, timedelta
from typing import Any

import pytest

from tests.conftest import RunningServer, server_fixture
from tests.helpers import CASE_DANA
from tests.test_browser_app import Person
from tests.test_browser_applications import anna, dana, fill_support_form  # noqa: F401 (fixtures)
from tests.test_browser_pages import axe, browser, check  # noqa: F401 (fixtures)

pytest.importorskip("playwright.sync_api", reason="browser tests need the playwright package")
from playwright.sync_api import expect  # noqa: E402

server = server_fixture()
TIMEOUT = 30_000
BASIS = "Hyresvärden uppger att hyran är betald till och med juni"
COMMENT = "Hyran för juni betalade min bror, jag ska betala tillbaka honom"
REFUSAL = "Avslag: behovet av stöd med hyran för juni är redan täckt"


def apply_for_support(dana: Person, situation: str) -> str:
    """Dana sends an Ansökan om stöd from her phone; its id."""
    page = dana.page
    dana.goto("/apply?lang=sv")
    page.get_by_role("button", name=re.compile("^Ansökan om stöd")).click()
    fill_support_form(page.locator("main"), situation, "070-111 22 33")
    page.get_by_role("button", name="Skicka ansökan").click()
    page.wait_for_url(re.compile(r".*/apply/[A-Za-z0-9_-]{22}$"), timeout=TIMEOUT)
    expect(page.locator("#application-status")).to_have_text("Status: Mottagen", timeout=TIMEOUT)
    return page.url.rsplit("/", 1)[1]


def open_for_staff(anna: Person, application_id: str) -> Any:
    anna.goto(f"/applications/{application_id}?lang=sv")
    staff = anna.page
    expect(staff.locator("#answers")).not_to_be_empty(timeout=TIMEOUT)
    return staff


def refuse(decision: Any) -> None:
    """The decision document's one item refused, with a legal basis (docs/applications.md, "The decision")."""
    item = decision.get_by_role("group", name="Post 1")
    item.get_by_label("Vad som söktes").fill("Samtalsstöd")
    item.get_by_label("Beslut om posten").select_option(label="Avslås")
    decision.get_by_role("checkbox", name=re.compile("bistånd utöver")).check()


def test_kommunicering_before_a_refusal_with_the_citizens_comments_in_the_decision_form(
        dana: Person, anna: Person, server: RunningServer, axe: str) -> None:
    application_id = apply_for_support(dana, "Jag behöver hjälp med hyran för juni")
    staff = open_for_staff(anna, application_id)
    decision = staff.locator("#decision-form")
    expect(decision.locator("#decision-communication")).to_contain_text("Kommunicering har inte gjorts.")

    sharing = staff.locator("#communication-form")
    sharing.get_by_label("Sammanfattning av vad beslutet kommer att grunda sig på").fill(BASIS)
    expect(sharing.get_by_label("I Samtal")).to_be_checked()
    sharing.get_by_role("button", name="Dela underlaget").click()
    expect(sharing.locator("#communication-due-error")).to_have_text("Välj sista dag för synpunkter.")
    due = date.today() + timedelta(days=7)
    sharing.get_by_label("Synpunkter senast").fill(due.isoformat())
    check(anna, axe)
    sharing.get_by_role("button", name="Dela underlaget").click()
    expect(staff.locator("#application-status")).to_contain_text("Kommunicering, väntar på synpunkter",
                                                                 timeout=TIMEOUT)
    expect(decision.locator("#decision-communication")).to_contain_text("Kommunicering gjord")
    expect(decision.locator("#decision-communication")).to_contain_text("i Samtal")
    expect(decision.locator("#decision-communication")).to_contain_text("Inga synpunkter än.")

    # Dana reads the basis on her phone and comments on it.
    page = dana.page
    dana.goto(f"/apply/{application_id}?lang=sv")
    expect(page.locator("#timeline")).to_contain_text(BASIS, timeout=TIMEOUT)
    commenting = page.get_by_role("region", name="Lämna synpunkter före beslutet")
    expect(commenting).to_be_visible()
    expect(commenting).to_contain_text("Lämna synpunkter senast")
    check(dana, axe)
    commenting.get_by_label("Vad vill du säga om underlaget?").fill(COMMENT)
    commenting.get_by_role("button", name="Skicka dina synpunkter").click()
    expect(page.locator("#application-status")).to_have_text("Status: Synpunkter inkomna", timeout=TIMEOUT)
    expect(commenting).to_be_hidden()
    expect(page.locator("#timeline")).to_contain_text(COMMENT)

    # Anna's decision form shows it, live: done, when, how, and what Dana said; a refusal needs no reason then.
    expect(decision.locator("#decision-communication")).to_contain_text(COMMENT, timeout=TIMEOUT)
    entry = staff.locator(f"[data-application-id='{application_id}']")
    expect(entry).to_contain_text("Synpunkter")
    refuse(decision)
    expect(decision.locator("#no-communication-field")).to_be_hidden()
    decision.get_by_role("textbox", name="Motivering").fill(REFUSAL)
    check(anna, axe)
    decision.get_by_role("button", name="Förhandsgranska beslutet").click()
    staff.locator("#decision-preview").get_by_role("button", name="Signera och skicka beslutet").click()
    expect(staff.locator("#application-status")).to_have_text("Status: Beslutad", timeout=TIMEOUT)
    expect(page.locator("#decision-section")).to_contain_text(REFUSAL, timeout=TIMEOUT)
    assert dana.errors == [] and anna.errors == []
    content = server.stored_bytes()
    for typed in (BASIS, COMMENT, REFUSAL):
        assert typed.encode() not in content, f"{typed!r} in the database"


def test_a_refusal_without_kommunicering_asks_why_and_the_citizen_withdraws(dana: Person, anna: Person,
                                                                           axe: str) -> None:
    application_id = apply_for_support(dana, "Jag behöver samtalsstöd")
    staff = open_for_staff(anna, application_id)
    decision = staff.locator("#decision-form")
    refuse(decision)
    reason = decision.get_by_label("Varför fattas beslutet utan kommunicering?")
    expect(reason).to_be_visible()
    decision.get_by_role("textbox", name="Motivering").fill("Avslag")
    decision.get_by_role("button", name="Förhandsgranska beslutet").click()
    expect(reason).to_be_focused()
    expect(decision.locator("#decision-no-communication-error")).to_have_text(
        "Skriv varför beslutet fattas utan kommunicering.")
    check(anna, axe)
    decision.get_by_role("group", name="Post 1").get_by_label("Beslut om posten").select_option(label="Beviljas")
    expect(reason).to_be_hidden()  # a decision that does not go against the applicant

    page = dana.page
    section = page.get_by_role("region", name="Återkalla ansökan")
    expect(section).to_be_visible()
    section.get_by_role("button", name="Återkalla ansökan").click()
    dialog = page.get_by_role("dialog", name="Återkalla ansökan?")
    check(dana, axe)
    dialog.get_by_role("button", name="Avbryt").click()
    expect(page.locator("#application-status")).to_have_text("Status: Mottagen")
    section.get_by_role("button", name="Återkalla ansökan").click()
    dialog.get_by_role("button", name="Återkalla ansökan").click()
    expect(page.locator("#application-status")).to_have_text("Status: Återkallad", timeout=TIMEOUT)
    expect(page.locator("#timeline")).to_contain_text("Ansökan återkallades")
    expect(section).to_be_hidden()

    expect(staff.locator("#application-status")).to_have_text("Status: Återkallad", timeout=TIMEOUT)
    expect(decision).to_be_hidden()
    expect(staff.locator("#communication-form")).to_be_hidden()
    assert dana.errors == [] and anna.errors == []


APPEAL_CHANGE = "Jag vill få samtalsstöd varannan vecka"
APPEAL_WHY = "Jag har inget annat stöd och mår sämre sedan i våras"
NOT_CHANGED = "Omprövning: beslutet står fast, behovet tillgodoses av vårdcentralen"


def refuse_without_kommunicering(staff: Any) -> None:
    """Anna refuses the open application (no kommunicering: the reason is asked for), previews and signs it."""
    decision = staff.locator("#decision-form")
    refuse(decision)
    decision.get_by_label("Varför fattas beslutet utan kommunicering?").fill("Uppenbart obehövligt: inga nya uppgifter")
    decision.get_by_role("textbox", name="Motivering").fill("Avslag på ansökan om samtalsstöd")
    decision.get_by_role("button", name="Förhandsgranska beslutet").click()
    staff.locator("#decision-preview").get_by_role("button", name="Signera och skicka beslutet").click()
    expect(staff.locator("#application-status")).to_have_text("Status: Beslutad", timeout=TIMEOUT)


def received(server: RunningServer, application_id: str, days_ago: int) -> None:
    """The day Dana received the decision (delgivning), as her device records it when it first opens it."""
    with server.db() as db:
        db.execute("UPDATE application_decisions SET received_at = ?, received_via = 'app' WHERE application_id = ?",
                   (int(time.time() * 1000) - days_ago * 24 * 3600 * 1000, application_id))


def refused_and_received(dana: Person, anna: Person, server: RunningServer, situation: str, days_ago: int
                         ) -> tuple[str, Any]:
    """Dana's application, refused by Anna, received by Dana `days_ago` days ago: (its id, Anna's page)."""
    application_id = apply_for_support(dana, situation)
    staff = open_for_staff(anna, application_id)
    refuse_without_kommunicering(staff)
    received(server, application_id, days_ago)
    return application_id, staff


def write_appeal(form: Any) -> None:
    form.get_by_label("Vilken ändring vill du ha?").fill(APPEAL_CHANGE)
    form.get_by_label("Varför ska beslutet ändras?").fill(APPEAL_WHY)


def appeal(dana: Person, application_id: str, axe: str) -> None:
    page = dana.page
    dana.goto(f"/apply/{application_id}?lang=sv")
    section = page.get_by_role("region", name="Överklaga beslutet")
    expect(section).to_be_visible(timeout=TIMEOUT)
    section.get_by_role("button", name="Överklaga", exact=True).click()
    write_appeal(section)
    check(dana, axe)
    section.get_by_role("button", name="Skicka överklagandet").click()
    expect(page.locator("#application-status")).to_have_text("Status: Överklagat, väntar på omprövning",
                                                             timeout=TIMEOUT)
    expect(page.locator("#timeline")).to_contain_text(APPEAL_CHANGE)
    expect(section).to_be_hidden()


def test_an_appeal_in_time_is_reconsidered_and_forwarded(dana: Person, anna: Person, server: RunningServer,
                                                         axe: str) -> None:
    application_id, staff = refused_and_received(dana, anna, server, "Jag behöver samtalsstöd varannan vecka", 2)
    dana.goto(f"/apply/{application_id}?lang=sv")
    expect(dana.page.locator("#appeal-deadline")).to_contain_text("Socialtjänsten måste ha fått ditt överklagande senast",
                                                                  timeout=TIMEOUT)
    appeal(dana, application_id, axe)

    panel = staff.get_by_role("region", name="Överklagandet")
    expect(panel).to_contain_text("Kom in i tid", timeout=TIMEOUT)
    expect(staff.locator(f"[data-application-id='{application_id}']")).to_contain_text("Överklagande väntar")
    expect(staff.locator("#timeline")).to_contain_text(APPEAL_WHY)
    expect(panel.get_by_role("button", name=re.compile("^Avvisa"))).to_be_hidden()  # in time: not the unit's to dismiss
    panel.get_by_label("Beslutet ändras inte", exact=True).check()
    panel.get_by_label("Motivering").fill(NOT_CHANGED)
    check(anna, axe)
    panel.get_by_role("button", name="Registrera omprövningen").click()
    expect(staff.locator("#application-status")).to_have_text("Status: Överklagandet omprövat", timeout=TIMEOUT)
    panel.get_by_label("Förvaltningsrätt").fill("Förvaltningsrätten i Göteborg")
    panel.get_by_role("button", name="Registrera att överklagandet är skickat till domstolen").click()
    expect(staff.locator("#application-status")).to_have_text(
        "Status: Överklagandet skickat till förvaltningsrätten", timeout=TIMEOUT)

    # Dana follows the steps, with their dates.
    timeline = dana.page.locator("#timeline")
    expect(timeline).to_contain_text("Socialtjänsten omprövade beslutet", timeout=TIMEOUT)
    expect(timeline).to_contain_text("Beslutet ändras inte.")
    expect(timeline).to_contain_text(NOT_CHANGED)
    expect(timeline).to_contain_text("Skickat till Förvaltningsrätten i Göteborg.")
    check(dana, axe)
    assert dana.errors == [] and anna.errors == []
    content = server.stored_bytes()
    for typed in (APPEAL_CHANGE, APPEAL_WHY, NOT_CHANGED):
        assert typed.encode() not in content, f"{typed!r} in the database"


def test_a_late_appeal_is_shown_late_and_dismissed(dana: Person, anna: Person, server: RunningServer,
                                                   axe: str) -> None:
    application_id, staff = refused_and_received(dana, anna, server, "Jag behöver stöd i kontakten med hyresvärden", 35)
    appeal(dana, application_id, axe)
    expect(dana.page.locator("#timeline")).to_contain_text("Kom in för sent")

    panel = staff.get_by_role("region", name="Överklagandet")
    expect(panel).to_contain_text("Kom in för sent: sista dagen var", timeout=TIMEOUT)
    check(anna, axe)
    panel.get_by_role("button", name="Avvisa överklagandet som för sent (45 § FL)").click()
    staff.get_by_role("dialog", name="Avvisa överklagandet?").get_by_role("button", name="Avvisa överklagandet").click()
    expect(staff.locator("#application-status")).to_have_text("Status: Överklagandet avvisat, för sent",
                                                              timeout=TIMEOUT)
    expect(dana.page.locator("#application-status")).to_have_text("Status: Överklagandet avvisat, för sent",
                                                                  timeout=TIMEOUT)
    assert dana.errors == [] and anna.errors == []


def test_staff_register_an_appeal_that_came_on_paper(dana: Person, anna: Person, server: RunningServer,
                                                     axe: str) -> None:
    application_id, staff = refused_and_received(dana, anna, server, "Jag behöver stöd med ekonomin", 3)
    on_paper = staff.locator("#paper-appeal")
    on_paper.get_by_text("Registrera ett överklagande som kom på papper").click()
    on_paper.get_by_label("Dagen det kom in").fill(date.today().isoformat())
    write_appeal(on_paper)
    check(anna, axe)
    on_paper.get_by_role("button", name="Registrera överklagandet").click()
    expect(staff.locator("#application-status")).to_have_text("Status: Överklagat, väntar på omprövning",
                                                              timeout=TIMEOUT)
    expect(staff.get_by_role("region", name="Överklagandet")).to_contain_text("Kom in i tid")
    anna.goto("/inbox?lang=sv")
    expect(staff.locator(f"[data-case-id='{CASE_DANA}'] .badge.appeal")).to_have_text("Överklagande väntar",
                                                                                    timeout=TIMEOUT)
    dana.goto(f"/apply/{application_id}?lang=sv")
    expect(dana.page.locator("#timeline")).to_contain_text(APPEAL_CHANGE, timeout=TIMEOUT)
    assert dana.errors == [] and anna.errors == []


def test_a_reconsideration_that_changes_the_decision_leads_to_a_new_one(dana: Person, anna: Person,
                                                                        server: RunningServer, axe: str) -> None:
    """FL 37-39 §§: the unit changes its decision on the appeal; the new decision replaces the old, which stays."""
    application_id, staff = refused_and_received(dana, anna, server, "Jag behöver samtalsstöd i vår", 1)
    appeal(dana, application_id, axe)
    panel = staff.get_by_role("region", name="Överklagandet")
    panel.get_by_label("Beslutet ändras (ett nytt beslut följer)").check()
    panel.get_by_label("Motivering").fill("Omprövning: nya uppgifter i överklagandet")
    panel.get_by_role("button", name="Registrera omprövningen").click()
    expect(staff.locator("#application-status")).to_have_text("Status: Under utredning", timeout=TIMEOUT)
    decision = staff.locator("#decision-form")
    expect(decision).to_be_visible()
    item = decision.get_by_role("group", name="Post 1")
    item.get_by_label("Vad som söktes").fill("Samtalsstöd")
    item.get_by_label("Beslut om posten").select_option(label="Beviljas")
    decision.get_by_role("checkbox", name=re.compile("bistånd utöver")).check()
    decision.get_by_role("textbox", name="Motivering").fill("Beviljas efter omprövning")
    decision.get_by_role("button", name="Förhandsgranska beslutet").click()
    staff.locator("#decision-preview").get_by_role("button", name="Signera och skicka beslutet").click()
    expect(staff.locator("#application-status")).to_have_text("Status: Beslutad", timeout=TIMEOUT)
    expect(staff.locator("#decisions .decision-card")).to_have_count(2)  # the old one stays readable
    # Changed, but perhaps not as asked: the unit can still send the appeal on (FL 39 §).
    expect(panel.get_by_role("button", name="Registrera att överklagandet är skickat till domstolen")).to_be_visible()
    timeline = dana.page.locator("#timeline")
    expect(timeline).to_contain_text("Beslutet kommer att ändras.", timeout=TIMEOUT)
    expect(dana.page.locator("#decision-section")).to_contain_text("Beviljas efter omprövning", timeout=TIMEOUT)
    check(dana, axe)
    assert dana.errors == [] and anna.errors == []


def test_the_appeal_parts_in_english(dana: Person, anna: Person, server: RunningServer, axe: str) -> None:
    application_id, staff = refused_and_received(dana, anna, server, "Jag behöver stöd i vardagen", 1)
    try:
        dana.goto(f"/apply/{application_id}?lang=en")
        section = dana.page.get_by_role("region", name="Appeal the decision")
        expect(section).to_contain_text("The unit must have your appeal no later than", timeout=TIMEOUT)
        section.get_by_role("button", name="Appeal", exact=True).click()
        expect(section.get_by_label("Which change do you want?")).to_be_visible()
        check(dana, axe)
        anna.goto(f"/applications/{application_id}?lang=en")
        expect(staff.locator("#application-status")).to_have_text("Status: Decided", timeout=TIMEOUT)
        staff.get_by_text("Register an appeal that came on paper").click()
        expect(staff.get_by_label("The day it came in")).to_be_visible()
        check(anna, axe)
    finally:  # the module's browsers stay in Swedish for the tests after this one
        dana.goto("/apply?lang=sv")
        anna.goto("/applications?lang=sv")
