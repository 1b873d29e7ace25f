"""The sweep of attachments no message uses, from the real page (issue #15 item 1; docs/protocol.md §14.2): the
browser's outbox uploads an attachment and then sends the message naming it (`blobs` in the send frame), so an
attachment sent from the page is bound to its message and kept; one the page uploaded but whose message never
reached the server (here the connection drops every send frame, as when the page closes between the two) is
removed once it is SAMTAL_ORPHAN_BLOB_SECONDS old. tests/test_orphan_blobs.py has the protocol-level cases."""
from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser import chromium
from tests.conftest import RunningServer, server_fixture
from tests.helpers import CASE_DANA, CASE_ERIK
from tests.test_browser_app import PHONE, Person, sign_in
from web.icon import png

from .waiting import eventually_blocking

pytest.importorskip("playwright.sync_api", reason="browser tests need the playwright package")
from playwright.sync_api import WebSocketRoute, expect  # noqa: E402

# As in test_orphan_blobs: long enough for the page to send its message after the upload on a loaded machine.
server = server_fixture(SAMTAL_ORPHAN_BLOB_SECONDS="30")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as running:
        yield running


def person(browser: Any, server: RunningServer, name: str) -> Person:
    signed_in = Person(browser.new_context(**PHONE).new_page(), server)
    sign_in(signed_in.page, server, name)
    return signed_in


def attach_and_send(someone: Person, text: str) -> str:
    """Send `text` with a picture from the composer; the id of the attachment the page uploaded."""
    page = someone.page
    page.locator("#attachment-input").set_input_files({"name": "kvitto.png", "mimeType": "image/png",
                                                       "buffer": png(64)})
    with page.expect_response(lambda r: r.request.method == "POST" and "/blobs" in r.url) as uploaded:
        someone.send(text)
    assert uploaded.value.status == 201
    blob_id: str = uploaded.value.json()["blob_id"]
    return blob_id


def drop_sends(socket: WebSocketRoute) -> None:
    """Pass the page's socket through, but never a message it sends: the server sees the upload only."""
    to_server = socket.connect_to_server()

    def from_page(message: str | bytes) -> None:
        if isinstance(message, bytes) or json.loads(message).get("t") != "send":
            to_server.send(message)

    socket.on_message(from_page)


def blob_status(someone: Person, case_id: str, blob_id: str) -> int:
    answer = someone.page.context.request.get(f"{someone.server.url}/api/cases/{case_id}/blobs/{blob_id}")
    return answer.status


def test_an_attachment_sent_from_the_page_stays_and_one_never_sent_is_swept(browser: Any, server: Any) -> None:
    dana = person(browser, server, "Dana Karlsson")
    dana.open_conversation(f"/cases/{CASE_DANA}")
    sent = attach_and_send(dana, "Kvittot från apoteket")
    expect(dana.message("Kvittot från apoteket").locator("img")).to_be_visible(timeout=20_000)

    # Erik's page uploads after Dana's, so when his attachment has been swept the sweep has also looked at hers.
    erik = Person(browser.new_context(**PHONE).new_page(), server)
    erik.page.route_web_socket("**/ws*", drop_sends)
    sign_in(erik.page, server, "Erik Nilsson")
    erik.open_conversation(f"/cases/{CASE_ERIK}")
    staged = attach_and_send(erik, "Lönebeskedet")
    assert blob_status(erik, CASE_ERIK, staged) == 200

    eventually_blocking(lambda: blob_status(erik, CASE_ERIK, staged) == 404, within=180,
                        what="the attachment whose message never reached the server removed")
    assert blob_status(dana, CASE_DANA, sent) == 200
    dana.open_conversation(f"/cases/{CASE_DANA}")
    expect(dana.message("Kvittot från apoteket").locator("img")).to_be_visible(timeout=20_000)
    assert dana.errors == [], "\n".join(dana.errors)
    for someone in (dana, erik):
        someone.page.context.close()
