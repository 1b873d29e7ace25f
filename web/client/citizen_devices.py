"""Which of a citizen's devices are the person's (docs/protocol.md §21), as a client that wraps case keys
checks it: the demo steward here, the staff browsers in js/citizen-devices.js.

The e-identification providers are pinned on first use (trust.json, beside the unit identities), and each
provider's keys are fetched from the provider itself, never from the Samtal server. The person an account's
devices belong to (the provider's issuer and subject) is pinned too, the first time a device of the account
is proven, so a device proven by someone else's e-identification is not theirs."""
from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

import httpx

from crypto.devicelink import (
    CitizenDevice,
    Provider,
    Verdict,
    evaluate,
    link_code,
    sign_link,
    signin_nonce,
)
from crypto.encoding import b64u
from crypto.errors import CryptoError, MalformedError
from crypto.keys import DevicePublicKeys
from web.client.transport import ClientError

if TYPE_CHECKING:
    from web.client.session import ClientSession

log = logging.getLogger("samtal.client")

# A provider's keys are fetched again after this long, or when a token names a key not among them (at most
# once a minute, as at sign-in: web/oidc.py).
KEYS_TTL_SECONDS = 3600
REFETCH_SECONDS = 60
RETRY_SECONDS = 5.0  # a provider that could not be reached is asked again after this long
# A link names a device of the same person; a chain of links longer than this is not followed.
MAX_LINKERS = 16


class CitizenDevices:
    def __init__(self, session: ClientSession) -> None:
        self.session = session
        self._named: list[dict[str, str]] | None = None  # the providers the server names (asked once)
        self._keys: dict[str, tuple[float, dict[str, Any] | None]] = {}  # issuer -> (fetched at, its JWKS)
        self._reported: set[str] = set()  # unproven devices already logged

    @property
    def _trust(self) -> dict[str, Any]:
        return self.session.trust_file.data

    async def providers(self, refresh: bool = False) -> list[Provider]:
        """The pinned providers with their keys, each fetched from the provider (again after an hour, after a
        minute when `refresh`, and after a few seconds when it could not be reached)."""
        named = self._named if self._named is not None else \
            (await self.session.transport.call("GET", "/api/signin/citizen"))["providers"]
        self._named = named
        pinned = self._trust.get("citizen_providers")
        if pinned is None:  # first use: the providers this server names now are the ones trusted from now on
            pinned = [{"issuer": p["issuer"], "client_id": p["client_id"]} for p in named]
            self._trust["citizen_providers"] = pinned
            self.session.trust_file.save()
        elif any({"issuer": p["issuer"], "client_id": p["client_id"]} not in pinned for p in named):
            log.warning("the server names an e-identification provider this client did not pin; it is not trusted")
        now = time.monotonic()
        providers = []
        async with httpx.AsyncClient(timeout=10.0, follow_redirects=False) as client:
            for p in pinned:
                fetched_at, jwks = self._keys.get(p["issuer"], (0.0, None))
                age = now - fetched_at
                if jwks is None and age >= RETRY_SECONDS or jwks is not None and (
                        age >= KEYS_TTL_SECONDS or refresh and age >= REFETCH_SECONDS):
                    jwks = await self._fetch_keys(client, p["issuer"])
                    self._keys[p["issuer"]] = (now, jwks)
                if jwks is not None:
                    providers.append(Provider(p["issuer"], p["client_id"], jwks))
        return providers

    @staticmethod
    async def _fetch_keys(client: httpx.AsyncClient, issuer: str) -> dict[str, Any] | None:
        try:
            discovery = (await client.get(issuer.rstrip("/") + "/.well-known/openid-configuration")).json()
            if discovery.get("issuer") != issuer:
                raise ValueError("another issuer")
            jwks = (await client.get(discovery["jwks_uri"])).json()
            return jwks if isinstance(jwks, dict) else None
        except (httpx.HTTPError, ValueError, KeyError, TypeError, AttributeError):
            log.warning("an e-identification provider's keys could not be fetched")
            return None

    async def _account_devices(self, devices: list[dict[str, Any]]) -> list[CitizenDevice]:
        """The devices as given, and the devices their links name that are not among them (revoked ones)."""
        out: dict[str, CitizenDevice] = {}
        todo = list(devices)
        while todo and len(out) < len(devices) + MAX_LINKERS:
            view = todo.pop(0)
            try:
                device = CitizenDevice.from_json(view)
            except (MalformedError, KeyError, TypeError):
                continue
            out.setdefault(device.id, device)
            by = (device.binding or {}).get("by")
            if isinstance(by, str) and by not in out and all(d.get("id") != by for d in todo):
                try:
                    todo.append((await self.session.transport.call("GET", f"/api/devices/{by}"))["device"])
                except ClientError:
                    pass
        return list(out.values())

    async def verdict(self, user_id: str, devices: list[dict[str, Any]]) -> Verdict:
        """Which of `user_id`'s devices (device views, as the server lists them) are proven the person's."""
        account = await self._account_devices(devices)
        persons = self._trust.setdefault("citizens", {})
        pinned = tuple(persons[user_id]) if user_id in persons else None
        result = evaluate(user_id, account, await self.providers(), pinned)
        if any(reason == "bad_token" for reason in result.unproven.values()):
            # The provider may have rotated its keys since they were fetched: once more with fresh ones.
            result = evaluate(user_id, account, await self.providers(refresh=True), pinned)
        if result.person is not None and pinned is None:
            persons[user_id] = list(result.person)
            self.session.trust_file.save()
        return result

    async def proven(self, user_id: str, devices: list[dict[str, Any]]) -> set[str]:
        """The ids of the devices a case key may be wrapped to; the others are logged as unproven."""
        result = await self.verdict(user_id, devices)
        for device_id, reason in sorted(result.unproven.items()):
            if device_id not in self._reported:  # once per device, not on every round of key work
                self._reported.add(device_id)
                log.warning("a citizen device is not proven to be the person's: no case key for it",
                            extra={"reason": reason})
        return set(result.proven)


# -- the citizen's own side -------------------------------------------------------------------------------------
async def demo_signin_binding(session: ClientSession, keys: DevicePublicKeys, salt: bytes) -> dict[str, Any]:
    """Demo mode: the demo e-identification's ID token over this device's nonce (a real sign-in carries the
    nonce through the provider instead: web/login.py)."""
    answer = await session.transport.call("POST", "/api/demo/identify", {"nonce": signin_nonce(keys, salt)})
    return {"kind": "signin", "id_token": answer["id_token"], "salt": b64u(salt)}


async def link_device(session: ClientSession, device_id: str, code: str, issued_at: int) -> dict[str, Any]:
    """Link another device of the same person from this one (a proven device), after the person compared the
    code the new device shows with `code`; refuses when they differ (the server gave other keys)."""
    assert session.device is not None
    keys = await session.device_keys(device_id)  # checked against its id
    if link_code(keys) != code:
        raise CryptoError("the code does not match the new device's: it is not the device the person holds")
    binding = sign_link(session.device.keys, session.user["id"], keys, issued_at)
    answer = await session.transport.call("POST", f"/api/devices/{device_id}/binding", {"binding": binding})
    return dict(answer["device"])
