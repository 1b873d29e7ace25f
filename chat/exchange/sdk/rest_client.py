"""Samtal as a message client (meddelandeklient) of a message service (meddelandetjänst) over Digg's
recommended REST API, ../shared/sdk/api/sdk-api-restful.yml (#16 item 4): send a message, list messages by
status (and functional address), fetch one with its documents, delete one once its receipt is handled.

The message service does the federation's work (XHE envelope, O2O signature and encryption, the access
point, receipts); this client speaks only JSON. Authentication is the spec's OAuth 2 client credentials: a
token from `token_url`, kept until shortly before it expires; a message service that also wants a client
certificate (mutual TLS) gets `client_cert`."""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from chat.exchange.sdk.mapping import MappingError, SdkMessage, from_rest, to_rest

# The statuses the spec names mandatory for a client to handle (messageStatusDef).
NEW, WAITING_FOR_RECEIPT, ACCEPTED, ERROR = "NEW", "WAITING_FOR_RECEIPT", "ACCEPTED", "MESSAGE_EXCHANGE_ERROR"
SCOPES = ("urn:sdk.api:sendMessages urn:sdk.api:getMessage urn:sdk.api:getMessageByFilter "
          "urn:sdk.api:deleteMessage")


class SdkApiError(Exception):
    """The message service refused or failed (`status` 0 when it could not be reached); `issues` are the
    spec's eventIssues (typeCode, title, detail) when the answer had them."""

    def __init__(self, status: int, detail: str, issues: list[dict[str, Any]] | None = None) -> None:
        super().__init__(f"{status} {detail}")
        self.status = status
        self.detail = detail
        self.issues = issues or []


@dataclass(frozen=True)
class ClientConfig:
    base_url: str  # up to and including /v1, as the spec's servers name it
    token_url: str | None = None
    client_id: str | None = None
    client_secret: str | None = None
    token: str | None = None  # a fixed bearer token instead of client credentials (test beds)
    client_cert: tuple[str, str] | None = None  # (certificate file, key file) for mutual TLS
    timeout_seconds: float = 30.0


class RestClient:
    def __init__(self, config: ClientConfig, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.config = config
        self._http = httpx.AsyncClient(base_url=config.base_url.rstrip("/"), timeout=config.timeout_seconds,
                                       cert=config.client_cert, transport=transport)
        self._token: tuple[str, float] | None = None

    async def close(self) -> None:
        await self._http.aclose()

    async def send(self, message: SdkMessage) -> None:
        """Hand one message to the message service (201: received and validated there)."""
        await self._call("POST", "/sdk/messages", {201}, json={"data": to_rest(message)})

    async def list(self, status: str | None = None, function: str | None = None,
                   sender_function: str | None = None) -> list[SdkMessage]:
        """Messages by status and by our functional address (recipient) or the one we sent from; the service
        leaves out their documents (fetch gives them)."""
        params = {f"filter[{name}]": value for name, value in (
            ("messageStatus", status), ("recipientAttention.subOrganization.extension", function),
            ("senderAttention.subOrganization.extension", sender_function)) if value}
        body = await self._call("GET", "/sdk/messages", {200}, params=params)
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, list):
            raise SdkApiError(502, "the message list has no data array")
        return [self._message(item) for item in data]

    async def fetch(self, message_id: str) -> SdkMessage:
        body = await self._call("GET", f"/sdk/messages/{_segment(message_id)}", {200})
        return self._message(body.get("data") if isinstance(body, dict) else None)

    async def delete(self, message_id: str) -> None:
        """Remove a message whose receipt is handled (the service decides in which statuses it may)."""
        await self._call("DELETE", f"/sdk/messages/{_segment(message_id)}", {202})

    @staticmethod
    def _message(data: Any) -> SdkMessage:
        try:
            return from_rest(data)
        except MappingError as error:
            raise SdkApiError(502, f"the message service answered with a message we cannot read: {error}") from None

    async def _call(self, method: str, path: str, ok: set[int], **kwargs: Any) -> Any:
        token = await self._bearer()
        headers = {"Accept": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})}
        try:
            response = await self._http.request(method, path, headers=headers, **kwargs)
        except httpx.HTTPError as error:
            raise SdkApiError(0, f"the message service could not be reached ({type(error).__name__})") from None
        if response.status_code not in ok:
            raise _refusal(response)
        if response.status_code in (201, 202, 204) or not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise SdkApiError(502, "the message service's answer is not JSON") from None

    async def _bearer(self) -> str:
        c = self.config
        if c.token or not c.token_url:
            return c.token or ""
        if self._token is None or self._token[1] < time.monotonic():
            try:
                response = await self._http.post(c.token_url, data={
                    "grant_type": "client_credentials", "scope": SCOPES},
                    auth=(c.client_id or "", c.client_secret or ""))
                body = response.json() if response.status_code == 200 else {}
            except (httpx.HTTPError, ValueError):
                raise SdkApiError(0, "no token from the message service's token endpoint") from None
            token, lifetime = body.get("access_token"), body.get("expires_in", 60)
            if not isinstance(token, str) or not isinstance(lifetime, int):
                raise SdkApiError(401, "the token endpoint gave no access_token")
            self._token = (token, time.monotonic() + max(lifetime - 30, 1))
        return self._token[0]


def _segment(message_id: str) -> str:
    return quote(message_id, safe="")


def _refusal(response: httpx.Response) -> SdkApiError:
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        issues = [i for i in body.get("eventIssues") or [] if isinstance(i, dict)]
        return SdkApiError(response.status_code, str(body.get("detail") or body.get("title") or ""), issues)
    return SdkApiError(response.status_code, response.reason_phrase)
