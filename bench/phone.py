"""The citizen's conversation on a slow phone (#14 item 5): time to a usable conversation and bytes transferred,
cold and warm, in Chromium with 4x CPU throttling and a slow 4G network. docs/benchmarks.md has the figures.

    .venv/bin/python bench/phone.py                  # 3 cold and 3 warm loads, both ways of shaping the network
    .venv/bin/python bench/phone.py --runs 5 --shaping proxy

What is measured. A demo server (`samtal serve --demo`, temporary data folder) with Dana's case holding
`--messages` messages (sent beforehand with the Python client). Dana is signed in on a 360 px phone context
and her device has its keys (set up unthrottled, not measured). Then each load:

- *usable*: from the navigation's start (`performance.timeOrigin`) to the moment the conversation shows its
  history (`#messages[data-state=ready]`) with the newest message decrypted and on screen: a
  MutationObserver in the page notes `performance.now()` then, so no polling is measured;
- *bytes*: every byte that crossed the TCP connections between Chromium and the server in both directions
  (a counting proxy in front of the server): page, scripts, styles, API, WebSocket, and the service worker's
  own fetches, which the page's DevTools events do not show;
- *cold*: no HTTP cache, no service worker, no Cache Storage (cleared over CDP before each load); the
  session cookie and the device keys in IndexedDB stay, as for a returning citizen whose browser evicted
  the app's files;
- *warm*: the service worker installed by the cold load is active and holds the release's files.

CPU: `Emulation.setCPUThrottlingRate` 4 on the page. Network, Chrome DevTools' "Slow 4G" preset (562.5 ms
latency, 1.44 Mbit/s down, 675 kbit/s up: 1.6 Mbit/s and 750 kbit/s times DevTools' 0.9), applied one of two
ways (`--shaping`):

- `cdp`: `Network.emulateNetworkConditions` on the page's target. Chromium applies it to the page's own
  requests only: the service worker's fetches (the page shell in a warm load goes through it) and
  WebSocket frames are not slowed, so warm figures come out optimistic;
- `proxy`: the counting proxy delays every chunk by half the latency each way and shares the bandwidth per
  direction, for everything on the wire (service worker and WebSocket included). The stricter of the two.

One JSON line on stdout (progress on stderr). Benchmark figures, never test thresholds."""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.relay import Server, free_port, git_commit, machine, sign_in  # noqa: E402
from tests.browser import chromium  # noqa: E402
from web.client.session import ClientSession  # noqa: E402

CASE = "eb-2026-0001"  # Dana's case in the demo
CITIZEN, CASEWORKER = "dana", "anna"
PHONE = {"viewport": {"width": 360, "height": 740}, "has_touch": True, "is_mobile": True, "device_scale_factor": 2}
# Chrome DevTools' "Slow 4G" (front_end/core/sdk/NetworkManager.ts): 1.6 Mbit/s down, 750 kbit/s up, each times
# 0.9, and 150 ms x 3.75 latency.
SLOW_4G = {"offline": False, "latency": 562.5, "downloadThroughput": 1.6e6 / 8 * 0.9,
           "uploadThroughput": 750e3 / 8 * 0.9}
CPU_SLOWDOWN = 4
LOAD_TIMEOUT_MS = 120_000

# In the page before any of its scripts: note when the conversation is usable (history shown, newest message
# decrypted), and nothing else.
WATCH_USABLE = """
(() => {
  const newest = %s;
  const usable = () => {
    const list = document.getElementById("messages");
    return list && list.dataset.state === "ready" && list.textContent.includes(newest);
  };
  new MutationObserver((_, observer) => {
    if (window.__usable === undefined && usable()) {
      window.__usable = performance.now();
      observer.disconnect();
    }
  }).observe(document, { subtree: true, childList: true, attributes: true, characterData: true });
})();
"""


def progress(text: str) -> None:
    print(f"[phone] {text}", file=sys.stderr, flush=True)


class ShapingProxy:
    """A TCP proxy in front of the server that counts bytes each way and, when `shape` is set, delays them as a
    slow link would: half the latency each way, and the bandwidth of each direction shared by all connections."""

    def __init__(self, target_port: int, shape: dict[str, Any] | None) -> None:
        self.target_port = target_port
        self.port = free_port()
        self.shape = shape
        self.down = self.up = 0  # bytes: server to browser, browser to server
        self.connections = 0
        self._link_free = {"down": 0.0, "up": 0.0}
        self.loop = asyncio.new_event_loop()
        self._started = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self.thread.start()
        self._started.wait(10)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        server = self.loop.run_until_complete(asyncio.start_server(self._accept, "127.0.0.1", self.port))
        self._started.set()
        self.loop.run_forever()
        server.close()

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)

    def reset(self) -> None:
        self.down = self.up = self.connections = 0

    async def _accept(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            server_r, server_w = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            client_w.close()
            return
        await asyncio.gather(self._pipe(client_r, server_w, "up"), self._pipe(server_r, client_w, "down"),
                             return_exceptions=True)

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, direction: str) -> None:
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

        async def deliver() -> None:
            while True:
                due, chunk = await queue.get()
                if not chunk:
                    break
                wait = due - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                writer.write(chunk)
                await writer.drain()
            with contextlib.suppress(OSError):
                writer.close()

        sender = asyncio.create_task(deliver())
        try:
            while chunk := await reader.read(16384):
                if direction == "down":
                    self.down += len(chunk)
                else:
                    self.up += len(chunk)
                queue.put_nowait((self._due(len(chunk), direction), chunk))
        except OSError:
            pass
        queue.put_nowait((0.0, b""))
        with contextlib.suppress(OSError):
            await sender

    def _due(self, size: int, direction: str) -> float:
        now = time.monotonic()
        if not self.shape:
            return now
        rate = self.shape["downloadThroughput" if direction == "down" else "uploadThroughput"]
        sent = max(now, self._link_free[direction]) + size / rate
        self._link_free[direction] = sent
        return sent + self.shape["latency"] / 2000


async def seed_messages(url: str, keys: Path, count: int) -> str:
    """Dana's conversation with `count` messages, the caseworker's and hers in turn; returns the newest text."""
    anna, dana = ClientSession(url, keys, CASEWORKER), ClientSession(url, keys, CITIZEN)
    try:
        await sign_in(anna)
        await sign_in(dana)
        newest = ""
        sockets = {CASEWORKER: await anna.transport.open_socket(), CITIZEN: await dana.transport.open_socket()}
        cases = {CASEWORKER: await anna.case(CASE), CITIZEN: await dana.case(CASE)}
        for i in range(count):
            who, session = (CASEWORKER, anna) if i % 2 == 0 else (CITIZEN, dana)
            newest = f"Meddelande {i + 1} av {count}: hyran för december och tiden på torsdag"
            await session.send(sockets[who], cases[who], newest)
        for socket in sockets.values():
            await socket.close()
        return newest
    finally:
        await anna.close()
        await dana.close()


class Phone:
    """Dana's phone: one browser context, kept between the loads (cookie and device keys stay)."""

    def __init__(self, browser: Any, base: str, newest: str, shaping: str, trace: bool = False) -> None:
        self.base, self.shaping, self.trace = base, shaping, trace
        self.context = browser.new_context(base_url=base, **PHONE)
        self.context.add_init_script(WATCH_USABLE % json.dumps(newest))
        self.page = self.context.new_page()
        self.cdp = self.context.new_cdp_session(self.page)
        self.cdp.send("Network.enable")
        self.requests: list[Any] = []
        self.page.on("requestfinished", lambda request: self.requests.append(request))

    def sign_in(self) -> None:
        self.page.goto("/")
        self.page.get_by_role("button", name="Dana Karlsson").click()
        self.page.wait_for_url("**/cases")
        self.open_conversation()  # the device registers and gets its keys: setup, not measured

    def open_conversation(self) -> float:
        self.page.goto(f"/cases/{CASE}", wait_until="commit")
        # Polled from here: the page's CSP (script-src 'self') refuses Playwright's wait_for_function.
        deadline = time.monotonic() + LOAD_TIMEOUT_MS / 1000
        while (usable := self.page.evaluate("window.__usable")) is None:
            if time.monotonic() > deadline:
                raise TimeoutError("the conversation did not become usable")
            time.sleep(0.1)
        return float(usable)

    def throttle(self, on: bool) -> None:
        self.cdp.send("Emulation.setCPUThrottlingRate", {"rate": CPU_SLOWDOWN if on else 1})
        if self.shaping == "cdp":
            conditions = SLOW_4G if on else {"offline": False, "latency": 0, "downloadThroughput": -1,
                                             "uploadThroughput": -1}
            self.cdp.send("Network.emulateNetworkConditions", conditions)

    def forget_app(self) -> None:
        """Cold: no HTTP cache, no service worker, no Cache Storage; cookies and IndexedDB stay."""
        self.page.goto("about:blank")
        self.cdp.send("Network.clearBrowserCache")
        self.cdp.send("Storage.clearDataForOrigin", {"origin": self.base, "storageTypes": "service_workers,cache_storage"})

    def service_worker_ready(self) -> bool:
        return bool(self.page.evaluate("""async () => {
            const registration = await navigator.serviceWorker.ready;
            const names = await caches.keys();
            return Boolean(registration.active) && names.some((n) => n.startsWith("samtal-static-"));
        }"""))

    def load(self, proxy: ShapingProxy, cold: bool) -> dict[str, Any]:
        if cold:
            self.forget_app()
        else:
            self.page.goto("about:blank")
        time.sleep(0.5)  # let the last load's socket close before counting
        self.requests.clear()
        proxy.reset()
        self.throttle(True)
        try:
            usable = self.open_conversation()
            timing = self.page.evaluate("""() => {
                const n = performance.getEntriesByType("navigation")[0];
                return { dom_content_loaded_ms: n.domContentLoadedEventEnd, load_ms: n.loadEventEnd };
            }""")
            down, up, connections = proxy.down, proxy.up, proxy.connections
        finally:
            self.throttle(False)
        origin = self.page.evaluate("performance.timeOrigin")
        trace = sorted((round(r.timing["startTime"] - origin), round(r.timing["startTime"] - origin + r.timing["responseEnd"]),
                        r.method, r.url.split("/", 3)[-1][:60]) for r in self.requests
                       if r.timing["startTime"] > 0 and not r.url.startswith("data:"))
        from_sw = sum(1 for r in self.requests if (resp := r.response()) is not None and resp.from_service_worker)
        scripts = sum(1 for r in self.requests if r.resource_type == "script")
        return {"usable_ms": round(usable), **{k: round(v) for k, v in timing.items()},
                "bytes_down": down, "bytes_up": up, "connections": connections,
                "requests": len(self.requests), "from_service_worker": from_sw, "scripts": scripts,
                **({"trace": trace} if self.trace else {})}


def summary(loads: list[dict[str, Any]]) -> dict[str, Any]:
    return {"median_usable_ms": round(statistics.median(x["usable_ms"] for x in loads)),
            "median_bytes": round(statistics.median(x["bytes_down"] + x["bytes_up"] for x in loads)),
            "loads": loads}


def measure(base: str, proxy: ShapingProxy, newest: str, shaping: str, runs: int, trace: bool) -> dict[str, Any]:
    with chromium() as browser:
        phone = Phone(browser, base, newest, shaping, trace)
        phone.sign_in()
        cold, warm = [], []
        for i in range(runs):
            cold.append(phone.load(proxy, cold=True))
            deadline = time.monotonic() + 60
            while not phone.service_worker_ready() and time.monotonic() < deadline:
                time.sleep(0.5)
            warm.append(phone.load(proxy, cold=False))
            progress(f"{shaping} run {i + 1}: cold {cold[-1]['usable_ms']} ms, {cold[-1]['bytes_down']} B down; "
                     f"warm {warm[-1]['usable_ms']} ms, {warm[-1]['bytes_down']} B down")
        phone.context.close()
    return {"cold": summary(cold), "warm": summary(warm)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="cold and warm loads each (default 3)")
    parser.add_argument("--messages", type=int, default=40, help="messages in the conversation (default 40)")
    parser.add_argument("--shaping", choices=("cdp", "proxy", "both"), default="both")
    parser.add_argument("--trace", action="store_true", help="list each load's requests (start, end ms, path)")
    args = parser.parse_args()
    result: dict[str, Any] = {"bench": "phone", "git": git_commit(), "machine": machine(),
                              "profile": {"cpu_slowdown": CPU_SLOWDOWN, "network": SLOW_4G, "viewport": "360x740"},
                              "messages": args.messages, "runs": args.runs}
    with tempfile.TemporaryDirectory(prefix="samtal-phone-") as folder:
        data = Path(folder)
        server = Server(data, "FULL", data / "samtal.db")
        try:
            asyncio.run(server.wait_ready())
            progress(f"server on {server.url}; seeding {args.messages} messages")
            newest = asyncio.run(seed_messages(server.url, data / "keys", args.messages))
            for shaping in (("cdp", "proxy") if args.shaping == "both" else (args.shaping,)):
                proxy = ShapingProxy(server.port, SLOW_4G if shaping == "proxy" else None)
                proxy.start()
                try:
                    result[shaping] = measure(f"http://127.0.0.1:{proxy.port}", proxy, newest, shaping, args.runs,
                                              args.trace)
                finally:
                    proxy.stop()
        finally:
            server.stop()
    result["load_average_1m_at_end"] = round(os.getloadavg()[0], 2)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
