"""Shared helpers for tests in a real browser: Debian's Chromium driven by Playwright, a loopback HTTP
server for static files (WebCrypto needs a secure context, and http://127.0.0.1 is one), and the crypto test
page that the browser vector tests share (the `page` fixture and `run`).

    from tests.browser import chromium, serve_static

    with serve_static(ROOT / "web" / "static", extra={"/test.html": page_html}) as base_url, chromium() as browser:
        page = browser.new_page()
        page.goto(base_url + "/test.html")

The crypto vector tests take one page for their module, with the crypto modules loaded as `C`:

    from tests.browser import page, run  # noqa: F401 (the page fixture)

    def test_x(page):
        assert run(page, "return hex(await C.messageHash(unhex(arg)));", "00") == ...

Nothing is downloaded: the browser is /usr/bin/chromium from apt, never `playwright install`.
"""
from __future__ import annotations

import contextlib
import http.server
import io
import mimetypes
import os
import subprocess
import threading
from collections.abc import Iterator, Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]
_install_lock = threading.Lock()
_install_tried = False


def _ensure_chromium() -> None:
    """Skip when Chromium is missing and cannot be installed; as root, apt-get install it (once)."""
    global _install_tried
    with _install_lock:
        if CHROMIUM.exists():
            return
        if os.geteuid() != 0:
            pytest.skip(f"browser tests need Debian's Chromium at {CHROMIUM} (apt-get install chromium, as root)")
        if not _install_tried:
            _install_tried = True
            subprocess.run(["apt-get", "install", "-y", "chromium"], check=False,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=1800)
        if not CHROMIUM.exists():
            pytest.fail(f"apt-get install -y chromium did not provide {CHROMIUM}")


# For the video call: a fake camera and microphone (a test pattern and a tone), the permission prompt
# answered yes, and peer connections allowed over the loopback interface (a host with no other network).
FAKE_MEDIA_ARGS = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
                   "--allow-loopback-in-peer-connection"]


@contextlib.contextmanager
def chromium(extra_args: Sequence[str] = (), **launch_options: Any) -> Iterator[Any]:
    """A headless Chromium (a playwright.sync_api.Browser), closed on exit; `extra_args` are added to its
    command line (e.g. FAKE_MEDIA_ARGS). Sync API: use it from sync tests and fixtures, not inside a running
    asyncio loop."""
    _ensure_chromium()
    sync_api = pytest.importorskip("playwright.sync_api", reason="browser tests need the playwright package")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=[*CHROMIUM_ARGS, *extra_args],
                                    **launch_options)
        try:
            yield browser
        finally:
            browser.close()


class _Handler(http.server.SimpleHTTPRequestHandler):
    """Static files from `directory`, plus in-memory `extra` pages; no caching, no request log."""

    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map, ".js": "text/javascript",
                      ".mjs": "text/javascript"}

    def __init__(self, *args: Any, extra: Mapping[str, tuple[bytes, str]], **kwargs: Any) -> None:
        self.extra = extra
        super().__init__(*args, **kwargs)

    def send_head(self) -> Any:
        path = self.path.split("?", 1)[0]
        if path in self.extra:
            body, content_type = self.extra[path]
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            return io.BytesIO(body)
        return super().send_head()

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (stdlib signature)
        pass


def _content_type(path: str) -> str:
    guessed = _Handler.extensions_map.get(Path(path).suffix) or mimetypes.guess_type(path)[0]
    return f"{guessed or 'application/octet-stream'}; charset=utf-8"


@contextlib.contextmanager
def serve_static(root: Path | str, extra: Mapping[str, str | bytes] | None = None) -> Iterator[str]:
    """Serve the folder `root` (and `extra` in-memory files, URL path -> content, typed by extension)
    from a thread on a free 127.0.0.1 port; yields the base URL, no trailing slash."""
    pages = {path: (body.encode("utf-8") if isinstance(body, str) else body, _content_type(path))
             for path, body in (extra or {}).items()}
    handler = partial(_Handler, directory=str(root), extra=pages)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="serve_static", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


# The page: the crypto modules as `C`, hex helpers, and `outcome` to turn a rejection into its error name.
CRYPTO_HARNESS = """<!doctype html>
<meta charset="utf-8"><title>Samtal browser crypto tests</title>
<script type="module">
import * as C from "/js/crypto/index.js";
const hex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
const unhex = (h) => new Uint8Array((h.match(/../g) ?? []).map((x) => parseInt(x, 16)));
async function outcome(fn) {
  try { return { ok: true, value: await fn() }; } catch (e) { return { ok: false, error: e?.name ?? String(e) }; }
}
const golden = async (d) => C.importDeviceKeysForTest(unhex(d.sign_seed_hex), unhex(d.kem_priv_hex));
// The golden devices by device id, as the envelopes and wrap records name them.
const goldenDevices = async (docs) => Object.fromEntries(await Promise.all(Object.values(docs).map(
  async (d) => [d.device_id, await golden(d)])));
window.T = { C, hex, unhex, outcome, golden, goldenDevices };
</script>
"""
CRYPTO_PAGE = "/crypto-test.html"


_PAGE_ERRORS: list[str] = []


def load_crypto(page: Any) -> None:
    """Wait for the harness; a syntax error in a module leaves only a console message behind, so show those."""
    try:
        page.wait_for_function("window.T !== undefined", timeout=15_000)
    except Exception as exc:
        raise AssertionError(f"the crypto modules did not load: {_PAGE_ERRORS}") from exc


@pytest.fixture(scope="module")
def page() -> Iterator[Any]:
    """One Chromium page for the module with the crypto test harness loaded (`run` evaluates in it)."""
    with serve_static(ROOT / "web" / "static", extra={CRYPTO_PAGE: CRYPTO_HARNESS}) as base, chromium() as browser:
        pg = browser.new_page()
        pg.on("pageerror", lambda e: _PAGE_ERRORS.append(str(e)))
        pg.on("console", lambda m: _PAGE_ERRORS.append(m.text) if m.type == "error" else None)
        pg.goto(base + CRYPTO_PAGE)
        load_crypto(pg)
        assert pg.evaluate("window.isSecureContext"), "WebCrypto needs a secure context"
        yield pg


def run(page: Any, body: str, arg: Any = None) -> Any:
    """Run an async JS function body in the page with `arg`, the crypto modules as `C` and the helpers."""
    prelude = "const { C, hex, unhex, outcome, golden, goldenDevices } = window.T;"
    return page.evaluate(f"async (arg) => {{ {prelude} {body} }}", arg)


__all__ = ["CHROMIUM", "CHROMIUM_ARGS", "CRYPTO_HARNESS", "CRYPTO_PAGE", "FAKE_MEDIA_ARGS", "chromium", "load_crypto",
           "page", "run", "serve_static"]
