"""A message service for the tests: the four operations of Digg's REST API over messages kept in memory, with
the statuses a real one moves them through. A message posted to a functional address the service serves is
NEW there (the access point delivered it); one posted by the served client waits for its receipt
(WAITING_FOR_RECEIPT) until the test, playing the recipient's system, says ACCEPTED or REJECTED. The tests
put Prism in front of it as a validating proxy (tests/test_sdk_bridge.py), so whatever passes between Samtal
and this service is checked against the spec."""
from __future__ import annotations

import json
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from chat.exchange.sdk.mapping import Party, SdkMessage, documents_for, to_rest

from .conftest import ROOT, free_port
from .sdk_spec import write_mended
from .waiting import eventually_blocking

PRISM = ROOT / ".cache" / "npm" / "prism" / "node_modules" / ".bin" / "prism"
VERSION = "sdk api 1.0.0"
OURS = "sdk:inkorg:0203:demo-kommun.example:ekonomiskt-bistand"
POLISEN = Party("0203:polisen.se", "sdk:inkorg:0203:polisen.se:syd", "Polisen region Syd")
TOKEN = "test-service-token"  # noqa: S105 (the fake service's only token)


class MessageService:
    def __init__(self, local_functions: set[str]) -> None:
        self.local = local_functions  # the functional addresses whose messages this service receives
        self.messages: dict[str, dict[str, Any]] = {}
        self.deleted: list[str] = []
        self.lock = threading.Lock()

    def post(self, data: dict[str, Any]) -> str:
        attributes = dict(data["attributes"])
        message_id = attributes.get("messageId") or str(uuid.uuid4())
        recipient = attributes["recipientAttention"]["subOrganization"]["extension"]
        attributes.update(messageId=message_id, conversationId=attributes.get("conversationId") or message_id,
                          creationDateTime=attributes.get("creationDateTime") or "2026-12-07T22:00:00.000Z",
                          messageStatus="NEW" if recipient in self.local else "WAITING_FOR_RECEIPT")
        with self.lock:
            self.messages[message_id] = {"type": "messages", "id": message_id, "attributes": attributes}
        return str(message_id)

    def set_status(self, message_id: str, status: str) -> None:
        with self.lock:
            self.messages[message_id]["attributes"]["messageStatus"] = status

    def sent_by(self, function: str) -> list[dict[str, Any]]:
        with self.lock:
            return [m for m in self.messages.values()
                    if m["attributes"]["senderAttention"]["subOrganization"]["extension"] == function]

    def app(self) -> Starlette:
        async def token(request: Request) -> Response:
            if b"grant_type=client_credentials" not in await request.body():
                return JSONResponse({"error": "unsupported_grant_type"}, status_code=400)
            return JSONResponse({"access_token": TOKEN, "token_type": "Bearer", "expires_in": 300})

        async def create(request: Request) -> Response:
            self.post((await request.json())["data"])
            return Response(status_code=201)

        async def listing(request: Request) -> Response:
            wanted = {k[len("filter["):-1]: v for k, v in request.query_params.items() if k.startswith("filter[")}
            with self.lock:
                found = [_without_documents(m) for m in self.messages.values() if all(
                    _path(m["attributes"], name) == value for name, value in wanted.items())]
            return JSONResponse({"meta": {"version": VERSION}, "data": found})

        async def one(request: Request) -> Response:
            with self.lock:
                found = self.messages.get(request.path_params["message_id"])
            if found is None:
                return Response(status_code=404)
            return JSONResponse({"meta": {"version": VERSION}, "data": found})

        async def delete(request: Request) -> Response:
            with self.lock:
                gone = self.messages.pop(request.path_params["message_id"], None)
            if gone is None:
                return Response(status_code=404)
            self.deleted.append(gone["id"])
            return Response(status_code=202)

        async def authorised(request: Request, call_next: Any) -> Response:
            if request.url.path != "/token" and request.headers.get("authorization") != f"Bearer {TOKEN}":
                return Response(status_code=401)
            response: Response = await call_next(request)
            return response

        return Starlette(middleware=[Middleware(BaseHTTPMiddleware, dispatch=authorised)], routes=[Route("/token", token, methods=["POST"]),
                                 Route("/sdk/messages", create, methods=["POST"]),
                                 Route("/sdk/messages", listing, methods=["GET"]),
                                 Route("/sdk/messages/{message_id}", one, methods=["GET"]),
                                 Route("/sdk/messages/{message_id}", delete, methods=["DELETE"])])


def _path(attributes: dict[str, Any], dotted: str) -> Any:
    value: Any = attributes
    for part in dotted.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _without_documents(message: dict[str, Any]) -> dict[str, Any]:
    """The list leaves out digitalDocument, as the spec says."""
    return {**message, "attributes": {k: v for k, v in message["attributes"].items() if k != "digitalDocument"}}


def serve(service: MessageService, port: int) -> uvicorn.Server:
    server = uvicorn.Server(uvicorn.Config(service.app(), host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True, name="sdk-message-service").start()
    deadline = time.monotonic() + 60
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    return server


def from_polisen(message_id: str, doc_type: str, content: dict[str, Any], label: str) -> dict[str, Any]:
    """What the police's message client posts to their message service (here the same one)."""
    return to_rest(SdkMessage(
        message_id=message_id, conversation_id="c0ffee00-0000-4000-8000-000000000001",
        created="2026-12-07T22:00:00.000Z", label=label, confidential=True, sender=POLISEN,
        recipient=Party("0203:demo-kommun.example", OURS), documents=documents_for(doc_type, content)))


@dataclass
class SdkRig:
    """The SDK file a test server starts with, and the message service behind Prism it names: the ports are
    chosen when the test module is imported, as the server's settings are."""

    config: Path
    service_port: int
    prism_port: int
    smtp_port: int
    proxy_log: Path = Path()

    @classmethod
    def make(cls) -> SdkRig:
        rig = cls(Path(tempfile.mkdtemp(prefix="samtal-sdk-")) / "sdk.json", free_port(), free_port(), free_port())
        rig.config.write_text(json.dumps({
            "organisation": "0203:demo-kommun.example",
            "units": {"ekonomiskt-bistand": [{"function": OURS, "label": "Ekonomiskt bistånd",
                                              "address": "ekonomiskt-bistand.demo-kommun"}]},
            "directory": [{"organisation": POLISEN.organisation, "name": "Polismyndigheten",
                           "function": POLISEN.function, "label": "Polisen region Syd"}],
            "message_service": {"base_url": f"http://127.0.0.1:{rig.prism_port}", "poll_seconds": 0.3,
                                "token_url": f"http://127.0.0.1:{rig.service_port}/token", "client_id": "samtal"}}))
        return rig

    def running(self, tmp_path_factory: pytest.TempPathFactory) -> Iterator[MessageService]:
        """The message service, with Prism in front as a validating proxy (`prism proxy --errors`)."""
        if not PRISM.exists():
            pytest.skip("Stoplight Prism is not installed (python3 dev.py test installs it into .cache/npm/prism)")
        ms = MessageService({OURS})
        running = serve(ms, self.service_port)
        spec = write_mended(tmp_path_factory.mktemp("sdk"))
        self.proxy_log = tmp_path_factory.mktemp("prism") / "prism-proxy.log"
        log = self.proxy_log.open("wb")
        prism = subprocess.Popen([str(PRISM), "proxy", "--errors", "-h", "127.0.0.1", "-p", str(self.prism_port),
                                  str(spec), f"http://127.0.0.1:{self.service_port}"], stdout=log,
                                 stderr=subprocess.STDOUT)

        def listening() -> bool:
            assert prism.poll() is None, "prism ended"
            try:
                httpx.get(f"http://127.0.0.1:{self.prism_port}/sdk/messages",
                          headers={"Authorization": f"Bearer {TOKEN}"}, timeout=2)
            except httpx.TransportError as error:
                raise AssertionError("prism is not listening yet") from error
            return True

        try:
            eventually_blocking(listening, within=120, what="Prism proxy listening")
            yield ms
        finally:
            prism.terminate()
            prism.wait(timeout=20)
            log.close()
            running.should_exit = True
