"""Prometheus metrics at /metrics, for the operator: figures about the service, never about people. No label
carries a case id, a user id, an address or content; refusals are counted by their stable code only.

/metrics answers only a loopback client, or anyone with `Authorization: Bearer <SAMTAL_METRICS_TOKEN>` when
that setting is set. Behind a proxy every client looks like loopback, so the proxy must not pass /metrics on
(deploy/nginx.conf refuses it); a scraper on another machine uses the token."""
from __future__ import annotations

import hmac
import ipaddress
import json
import time
from collections.abc import Callable

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from chat.model import StoredMessage
from web.problems import problem

# Fan-out is in-process and should take well under a millisecond; a slow fan-out shows in the upper buckets.
FANOUT_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class Metrics:
    """One registry per app (tests run several apps in one process; the global registry would clash)."""

    def __init__(self, open_sockets: Callable[[], int]) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.accepted = Counter("samtal_messages_accepted", "Messages stored and acknowledged", registry=r)
        self.delivered = Counter("samtal_messages_delivered",
                                 "Message frames handed to live connections (one per recipient connection)",
                                 registry=r)
        self.fanout = Histogram("samtal_message_fanout_seconds",
                                "From a message's commit to its hand-over to the recipients' connections",
                                buckets=FANOUT_BUCKETS, registry=r)
        self.bus_lag = Histogram("samtal_bus_lag_seconds",
                                 "From a message's commit on another node to its wake-up reaching this node",
                                 buckets=FANOUT_BUCKETS, registry=r)
        self.receipts = Counter("samtal_receipts", "Delivered or read marks that rose", registry=r)
        self.http = Counter("samtal_http_responses", "HTTP answers by status class and route kind",
                            ["status", "kind"], registry=r)
        self.refusals = Counter("samtal_refusals", "Refusals by their stable code (HTTP and WebSocket)", ["code"],
                                registry=r)
        Gauge("samtal_open_sockets", "Open WebSocket connections", registry=r).set_function(
            lambda: float(open_sockets()))
        Gauge("samtal_start_time_seconds", "When this process started", registry=r).set(time.time())

    def watch_bus(self, connected: Callable[[], bool], peers: Callable[[], int], catch_ups: Callable[[], int]) -> None:
        """Several nodes: whether the bus is connected, how many other nodes are heard, how often this node read
        the database for wake-ups it missed."""
        r = self.registry
        Gauge("samtal_bus_connected", "1 while the bus between the nodes is connected", registry=r).set_function(
            lambda: float(connected()))
        Gauge("samtal_bus_peers", "Other nodes heard on the bus", registry=r).set_function(lambda: float(peers()))
        Gauge("samtal_bus_catch_ups", "Times this node read the database for wake-ups it may have missed",
              registry=r).set_function(lambda: float(catch_ups()))

    def message_delivered(self, message: StoredMessage, handed_to: int) -> None:
        """A message handed to this node's connections (stored here, or on another node and woken by the bus)."""
        self.delivered.inc(handed_to)
        self.fanout.observe(max(0.0, time.time() - message.stored_at / 1000))

    def refused(self, code: str) -> None:
        self.refusals.labels(code=code).inc()

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


def _route_kind(path: str) -> str:
    """A coarse label for a path: its first segment, so that no id ever becomes a label value."""
    first = path.strip("/").split("/", 1)[0]
    return first if first in {"api", "exchange", "login", "static", "healthz", "readyz", "metrics", "ws"} else "page"


class CountResponses:
    """Counts every HTTP answer by status class (2xx, 4xx, ...) and route kind, and each refusal
    (problem+json) by its `code`."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        problem_body: list[bytes] | None = None

        async def counting(message: Message) -> None:
            nonlocal problem_body
            if message["type"] == "http.response.start":
                self.metrics.http.labels(status=f"{message['status'] // 100}xx",
                                         kind=_route_kind(scope.get("path", ""))).inc()
                headers = dict(message.get("headers", []))
                if headers.get(b"content-type", b"").startswith(b"application/problem+json"):
                    problem_body = []
            elif message["type"] == "http.response.body" and problem_body is not None:
                problem_body.append(message.get("body", b""))
                if not message.get("more_body"):
                    self.metrics.refused(_problem_code(b"".join(problem_body)))
                    problem_body = None
            await send(message)

        await self.app(scope, receive, counting)


def _problem_code(body: bytes) -> str:
    try:
        code = json.loads(body).get("code")
    except (ValueError, AttributeError):
        return "unknown"
    # Codes are the server's own identifiers; anything else (never expected) is not made a label value.
    return code if isinstance(code, str) and code.replace("_", "").isalnum() and len(code) <= 40 else "unknown"


def _loopback(request: Request) -> bool:
    try:
        return request.client is not None and ipaddress.ip_address(request.client.host).is_loopback
    except ValueError:
        return False


def endpoint(metrics: Metrics, token: str) -> Callable[[Request], object]:
    async def serve(request: Request) -> Response:
        given = request.headers.get("authorization", "")
        allowed = (hmac.compare_digest(given.encode(), f"Bearer {token}".encode()) if token
                   else _loopback(request))
        if not allowed:
            return problem(403, "forbidden", "metrics are for the operator: from loopback, or with the token")
        return Response(metrics.exposition(), media_type=CONTENT_TYPE_LATEST)
    return serve
