"""The browser apps end to end, in Debian's Chromium with the real crypto: a citizen on a phone and a
caseworker at a desktop talk live both ways; history survives a reload; a message written offline goes
out when the connection is back; attachments; a Python client and a browser talk; the inbox's filters and
"handled"; devices; message text is only ever text; and the database never holds what was typed.

One server, one browser, and one signed-in page per person for the module (tests build on each other's
conversation, each with its own words)."""
from __future__ import annotations

import asyncio
import re
import secrets
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser import chromium
from tests.conftest import RunningServer, server_fixture
from tests.helpers import CASE_DANA, CASE_ERIK
from web.client.session import ClientSession
from web.icon import png

from .waiting import eventually

pytest.importorskip("playwright.sync_api", reason="browser tests need the playwright package")
from playwright.sync_api import Page, expect  # noqa: E402

MAX_ATTACHMENT = 256 * 1024
server = server_fixture(SAMTAL_MAX_ATTACHMENT_BYTES=str(MAX_ATTACHMENT))
PHONE = {"viewport": {"width": 360, "height": 740}, "has_touch": True, "is_mobile": True, "device_scale_factor": 2}
DESKTOP = {"viewport": {"width": 1280, "height": 800}}
# Collects what the page's policy refused, for the checks that nothing ever was.
WATCH_POLICY = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (e) => window.__violations.push(
  `${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`));
"""
TYPED: list[str] = []  # everything typed in this module, to look for in the database at the end


def words(label: str) -> str:
    text = f"{label} {secrets.token_hex(4)}"
    TYPED.append(text)
    return text


class Person:
    """A signed-in page, with what went wrong in it (script errors, dialogs) kept for the checks."""

    def __init__(self, page: Page, server: RunningServer) -> None:
        self.page = page
        self.server = server
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.on("console", self._console)
        page.on("dialog", lambda dialog: (self.dialogs.append(dialog.message), dialog.dismiss()))

    def _console(self, message: Any) -> None:
        # A resource that fails to load (offline, or /api/me before sign-in) is the network's doing.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            self.errors.append(message.text)

    def goto(self, path: str) -> None:
        self.page.goto(self.server.url + path)

    def open_conversation(self, path: str) -> None:
        self.goto(path)
        self.wait_ready()

    def wait_ready(self) -> None:
        expect(self.page.locator("#messages[data-state=ready]")).to_have_count(1, timeout=20_000)
        assert self.errors == []

    def send(self, text: str) -> None:
        self.page.locator("#message-text").fill(text)
        self.page.locator("#send").click()

    def message(self, text: str) -> Any:
        return self.page.locator("#messages .message", has_text=text)

    def assert_clean(self) -> None:
        assert self.errors == [], "\n".join(self.errors)
        assert self.dialogs == []
        assert self.page.evaluate("window.__violations") == []


def sign_in(page: Page, server: RunningServer, name: str) -> None:
    page.goto(server.url + "/")
    page.get_by_role("button", name=name).click()
    page.wait_for_url("**/cases" if name in {"Dana Karlsson", "Erik Nilsson"} else "**/inbox")


class InThread:
    """Run a coroutine (a Python client) in a thread of its own: Playwright's sync API owns the loop of
    the test's thread. result() waits for it and re-raises what it raised."""

    def __init__(self, coroutine: Any) -> None:
        self._result: dict[str, Any] = {}
        self._thread = threading.Thread(target=self._run, args=(coroutine,))
        self._thread.start()

    def _run(self, coroutine: Any) -> None:
        try:
            self._result["value"] = asyncio.run(coroutine)
        except BaseException as exc:  # noqa: BLE001 (re-raised in the test's thread)
            self._result["error"] = exc

    def result(self, timeout: float = 60) -> Any:
        self._thread.join(timeout)
        if "error" in self._result:
            raise self._result["error"]
        return self._result.get("value")


def run_async(coroutine: Any) -> Any:
    return InThread(coroutine).result()


def asked_first(page: Page, button: Any, dialog: str, says: str, action: str, unchanged: Any) -> None:
    """A final act asks first: `button` opens the dialog named `dialog` that `says` what follows; Avbryt
    leaves things as they were (`unchanged()` checks it), and the dialog's `action` does it."""
    button.click()
    asked = page.get_by_role("dialog", name=dialog)
    expect(asked).to_contain_text(says)
    asked.get_by_role("button", name="Avbryt").click()
    expect(asked).to_have_count(0)
    unchanged()
    button.click()
    page.get_by_role("dialog", name=dialog).get_by_role("button", name=action, exact=True).click()


def client_sends(server: RunningServer, folder: Path, username: str, case_id: str, text: str) -> None:
    """A Python client (web.client) signs in as `username` and sends `text` in the case."""
    async def send() -> None:
        async with ClientSession(server.url, folder, username) as client:
            await client.start()
            socket = await client.transport.open_socket()
            try:
                await client.send(socket, await client.case(case_id), text)
            finally:
                await socket.close()

    run_async(send())


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as running:
        yield running


def person(browser: Any, server: RunningServer, name: str, options: dict[str, Any]) -> Iterator[Person]:
    context = browser.new_context(locale="sv-SE", **options)
    context.add_init_script(WATCH_POLICY)
    page = context.new_page()
    sign_in(page, server, name)
    yield Person(page, server)
    context.close()


@pytest.fixture(scope="module")
def citizen(browser, server) -> Iterator[Person]:  # type: ignore[no-untyped-def]
    yield from person(browser, server, "Dana Karlsson", PHONE)


@pytest.fixture(scope="module")
def caseworker(browser, server) -> Iterator[Person]:  # type: ignore[no-untyped-def]
    yield from person(browser, server, "Anna Lind", DESKTOP)


def test_citizen_and_caseworker_talk_live_both_ways(citizen, caseworker):
    citizen.page.get_by_role("link", name="Ansökan om ekonomiskt bistånd").click()
    citizen.wait_ready()
    caseworker.open_conversation(f"/inbox/{CASE_DANA}")
    question = words("Hej! När får jag besked om min ansökan?")
    citizen.send(question)
    expect(caseworker.message(question)).to_be_visible(timeout=10_000)
    answer = words("Hej Dana, beslutet kommer på fredag.")
    caseworker.page.locator("#message-text").fill(answer)
    caseworker.page.keyboard.press("Enter")  # Enter sends on a desktop
    expect(citizen.message(answer)).to_be_visible(timeout=10_000)
    # Both pages are open and visible, so each side sees the other read its message, in words.
    expect(citizen.message(question).locator(".state")).to_have_text("Läst", timeout=10_000)
    expect(caseworker.message(answer).locator(".state")).to_have_text("Läst", timeout=10_000)
    expect(citizen.message(answer).locator(".sender")).to_have_text("Anna Lind")
    citizen.assert_clean()
    caseworker.assert_clean()


def test_reload_keeps_the_history_decrypted_from_stored_ciphertext(citizen, caseworker):
    before = citizen.page.locator("#messages .message .text").all_inner_texts()
    assert len(before) >= 2
    citizen.page.reload()
    citizen.wait_ready()
    expect(citizen.page.locator("#messages .message .text")).to_have_text(before)
    caseworker.page.reload()
    caseworker.wait_ready()
    for text in before:
        expect(caseworker.message(text)).to_be_visible()


def test_message_written_offline_goes_out_when_back_online(citizen, caseworker):
    page, context = citizen.page, citizen.page.context
    page.wait_for_function("navigator.serviceWorker.controller !== null", timeout=10_000)
    context.set_offline(True)
    expect(page.locator("#connection")).to_contain_text("offline")
    offline = words("Skrivet utan nät i tunnelbanan")
    citizen.send(offline)
    expect(citizen.message(offline).locator(".state")).to_have_text("Väntar på anslutning")
    # The outbox survives a reload without a network (the service worker serves the page).
    page.reload()
    expect(citizen.message(offline).locator(".state")).to_have_text("Väntar på anslutning", timeout=10_000)
    expect(caseworker.message(offline)).to_have_count(0)
    context.set_offline(False)
    expect(caseworker.message(offline)).to_be_visible(timeout=15_000)
    expect(citizen.message(offline).locator(".state")).to_have_text("Läst", timeout=15_000)
    assert page.evaluate("window.__violations") == []


CACHED = """async () => {
  const out = [];
  for (const name of await caches.keys()) {
    const cache = await caches.open(name);
    for (const request of await cache.keys()) {
      out.push([new URL(request.url).pathname, await (await cache.match(request)).text()]);
    }
  }
  return out;
}"""


def test_the_service_worker_keeps_only_the_app_never_content(citizen):
    cached = citizen.page.evaluate(CACHED)
    paths = {path for path, _ in cached}
    assert f"/cases/{CASE_DANA}" in paths and any(p.startswith("/static/js/") for p in paths)
    # Besides pages and static files: the signed release's file list and the pinned release key (templates/sw.js).
    assert all(re.fullmatch(r"/(cases|inbox|devices)?(/[\w-]+)?|/static/.+\.[0-9a-f]{12}\.\w+|/release-files|/pin", p)
               for p in paths), paths
    for text in TYPED:
        assert not any(text in body for _, body in cached)


def test_message_of_html_and_script_is_shown_as_text(citizen, caseworker):
    payload = "<img src=x onerror=alert(1)><script>alert(2)</script>"
    caseworker.send(payload)
    shown = citizen.message("onerror=alert(1)")
    expect(shown).to_be_visible(timeout=10_000)
    expect(shown.locator(".text")).to_have_text(payload)
    assert shown.locator("img, script").count() == 0
    assert caseworker.message("onerror=alert(1)").locator("img, script").count() == 0
    citizen.page.wait_for_timeout(300)  # an onerror would have fired by now
    assert citizen.dialogs == [] and caseworker.dialogs == []


def test_trusted_types_refuse_html_from_strings(citizen):
    refused = citizen.page.evaluate("""() => {
        try { document.body.insertAdjacentHTML("beforeend", "<b>x</b>"); return false; }
        catch (e) { return e instanceof TypeError; } }""")
    assert refused
    violations = citizen.page.evaluate("window.__violations.splice(0)")
    assert [v.split()[0] for v in violations] == ["require-trusted-types-for"]
    assert [e for e in citizen.errors if "TrustedHTML" in e]
    citizen.errors.clear()


def test_attachments_are_encrypted_in_the_browser_and_opened_by_the_other(citizen, caseworker):
    image = png(192)
    citizen.page.locator("#attachment-input").set_input_files(
        {"name": "kvitto.png", "mimeType": "image/png", "buffer": image})
    expect(citizen.page.locator("#attachment-name")).to_contain_text("kvitto.png")
    caption = words("Här är kvittot")
    citizen.send(caption)
    received = caseworker.message(caption).locator("img[alt='kvitto.png']")
    expect(received).to_be_visible(timeout=15_000)
    assert received.evaluate("img => img.naturalWidth") == 192
    assert received.get_attribute("src").startswith("blob:")
    TYPED.append(image[-40:].hex())

    pdf = b"%PDF-1.4\n" + secrets.token_bytes(2000) + b"\n%%EOF\n"
    caseworker.page.locator("#attachment-input").set_input_files(
        {"name": "beslut.pdf", "mimeType": "application/pdf", "buffer": pdf})
    caseworker.send(words("Beslutet bifogas"))
    button = citizen.page.get_by_role("button", name="Ladda ner beslut.pdf")
    expect(button).to_be_visible(timeout=15_000)
    with citizen.page.expect_download() as download:
        button.click()
    assert Path(download.value.path()).read_bytes() == pdf
    TYPED.append(pdf[100:140].hex())


def test_a_file_over_the_limit_gets_a_clear_message(citizen):
    citizen.page.locator("#attachment-input").set_input_files(
        {"name": "stor.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-" + bytes(MAX_ATTACHMENT)})
    error = citizen.page.locator("#composer-error")
    expect(error).to_contain_text("stor.pdf")
    expect(error).to_contain_text("för stort")
    expect(error).to_have_attribute("role", "alert")
    expect(citizen.page.locator("#attachment-chosen")).to_be_hidden()


def test_python_client_and_browser_exchange_both_ways(citizen, server, tmp_path):
    from_python = words("Hej från Python-klienten")
    from_browser = words("Svar från webbläsaren")
    # Dana's conversation is open before Anna's client sends (so its message arrives live), whichever
    # tests ran before: alone, this test starts on the citizen's list of cases.
    citizen.open_conversation(f"/cases/{CASE_DANA}")

    async def python_side() -> list[str]:
        # Anna, the assigned caseworker: only she (or her substitute, or a supervisor) may answer.
        async with ClientSession(server.url, tmp_path, "anna") as anna:
            await anna.start()
            case = await anna.case(CASE_DANA)
            socket = await anna.transport.open_socket()
            try:
                await anna.send(socket, case, from_python)
            finally:
                await socket.close()
            async def with_the_browsers() -> list[Any]:
                texts = [m.body.get("text") for m in await anna.history(case)]
                return texts if from_browser in texts else []
            return await eventually(with_the_browsers, within=10, what="the browser's message in the history")

    python = InThread(python_side())
    expect(citizen.message(from_python)).to_be_visible(timeout=30_000)
    expect(citizen.message(from_python).locator(".sender")).to_have_text("Anna Lind")  # the assigned caseworker
    citizen.send(from_browser)
    assert from_browser in python.result()


def inbox_cases(caseworker: Person) -> list[str]:
    return caseworker.page.locator("#case-list .case-link").evaluate_all(
        "links => links.map(a => a.dataset.caseId)")


def test_inbox_puts_unanswered_first_filters_and_marks_handled(caseworker, server, tmp_path):
    page = caseworker.page
    caseworker.goto("/inbox")
    expect(page.locator("#case-list .case-link")).to_have_count(2, timeout=10_000)
    waiting = words("Erik undrar också något")
    client_sends(server, tmp_path, "erik", CASE_ERIK, waiting)
    erik = page.locator(f"[data-case-id={CASE_ERIK}]")
    expect(erik).to_contain_text("Obesvarat", timeout=10_000)  # live, without a reload
    expect(erik).to_contain_text("1 oläst")
    # Dana has waited longer (for an answer to her last message), so her case comes first; once she
    # has an answer, Erik's unanswered case does.
    assert inbox_cases(caseworker) == [CASE_DANA, CASE_ERIK]
    page.locator(f"[data-case-id={CASE_DANA}]").click()
    caseworker.wait_ready()
    caseworker.send(words("Tack, jag återkommer"))
    expect(page.locator(f"[data-case-id={CASE_DANA}]")).to_contain_text("Besvarat")
    assert inbox_cases(caseworker) == [CASE_ERIK, CASE_DANA]

    page.get_by_label("Sök namn, ärende eller rubrik").fill("karlsson")
    expect(page.locator("#case-list .case-link")).to_have_count(1)
    assert inbox_cases(caseworker) == [CASE_DANA]
    page.get_by_label("Sök namn, ärende eller rubrik").fill("")
    page.get_by_label("Visa").select_option("unanswered")
    assert inbox_cases(caseworker) == [CASE_ERIK]

    erik.click()
    expect(caseworker.message(waiting)).to_be_visible(timeout=10_000)
    expect(erik).not_to_contain_text("oläst")
    expect(page.locator("#conversation-title")).to_be_focused()
    page.get_by_role("button", name="Markera som hanterat").click()
    expect(page.get_by_role("button", name="Markera som ej hanterat")).to_be_visible()
    expect(page.locator("#case-list .case-link")).to_have_count(0)  # no longer unanswered
    page.get_by_label("Visa").select_option("handled")
    expect(page.locator(f"[data-case-id={CASE_ERIK}]")).to_contain_text("Hanterat")
    page.reload()
    caseworker.wait_ready()
    expect(page.locator(f"[data-case-id={CASE_ERIK}]")).to_contain_text("Hanterat")
    caseworker.assert_clean()


def test_devices_show_the_safety_number_and_revoke_another_device(citizen, server, tmp_path):
    async def second_device() -> str:
        async with ClientSession(server.url, tmp_path, "dana") as other:
            await other.start()
            return other.device_id

    other_id = run_async(second_device())
    page = citizen.page
    citizen.goto("/devices")
    number = page.locator("#this-fingerprint")
    expect(number).to_have_text(re.compile(r"^\d{5}( \d{5}){5}$"), timeout=10_000)
    me = page.evaluate("fetch('/api/me').then(r => r.json())")
    device_id = page.locator("#this-id").inner_text()
    server_view = next(d for d in me["devices"] if d["id"] == device_id)
    assert server_view["fingerprint"] == number.inner_text()
    expect(page.locator("#fingerprint-mismatch")).to_be_hidden()
    qr = page.get_by_role("img", name=f"QR-kod för säkerhetsnumret {number.inner_text()}")
    expect(qr).to_be_visible()
    page.wait_for_function("document.querySelector('#this-qr').naturalWidth > 0")

    others = page.locator("#other-devices .device")
    expect(others).to_have_count(1)
    label = others.locator(".device-label").inner_text()
    others.get_by_role("button").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Ta bort enheten").click()
    expect(page.locator("#other-devices .device")).to_have_count(0)
    expect(page.locator("#removed-devices")).to_contain_text(label)
    me = page.evaluate("fetch('/api/me').then(r => r.json())")
    assert next(d for d in me["devices"] if d["id"] == other_id)["revoked_at"]
    citizen.assert_clean()


def test_the_database_holds_none_of_what_was_typed(server):
    assert len(TYPED) >= 8
    with server.db() as db:
        assert db.execute("select count(*) from messages").fetchone()[0] >= 8
    stored = server.stored_bytes()
    for text in TYPED:
        needle = bytes.fromhex(text) if all(c in "0123456789abcdef" for c in text) else text.encode()
        assert needle not in stored, f"found in the database: {text!r}"
