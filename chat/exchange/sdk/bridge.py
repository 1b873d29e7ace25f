"""SDK messages into a unit's Myndighetspost and the unit's documents out (#16 items 1, 4, 5; docs/sdk.md).

Each SDK organisation at a functional address is an agency address of its own in the exchange directory
(`party_address`), so the inbox shows who sent what, staff reply and write to it like to any agency, and the
exchange's checks, receipts, audit rows and urgent alerts apply unchanged. Those addresses' keys are held by
the server (`PartyKeys`, derived from one secret in the data folder): SDK is organisation to organisation, and
the message service sees the content anyway; the unit's own keys stay with its staff as before.

Coming in, a message becomes an envelope signed with its party's key and content encrypted to the unit
address's key, received through the exchange service as if the agency had sent it. Going out, a document
staff sent to a party address is opened with that party's key, mapped and handed to the message service; the
receipt the recipient's system returns (the message's status turning ACCEPTED or REJECTED) is recorded on the
document as the agency's receipt. Every node runs the same rounds; each message is claimed once
(chat/scheduled.py)."""
from __future__ import annotations

import asyncio
import functools
import hashlib
import hmac
import json
import logging
import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from chat.exchange import jose
from chat.exchange.documents import DEFAULT_PRIORITY, TYPES
from chat.exchange.envelope import ENVELOPE_TYP, ID_RE, MAX_LABEL, ExchangeError, parse_envelope
from chat.exchange.sdk.addresses import SdkAddresses
from chat.exchange.sdk.envelope import message_problems
from chat.exchange.sdk.mapping import MappingError, Party, SdkMessage, documents_for, is_confidential, to_exchange
from chat.exchange.sdk.rest_client import ACCEPTED, ERROR, NEW, SdkApiError
from chat.exchange.service import ExchangeService, exchange_event, now_s
from chat.model import now_ms
from chat.scheduled import Claims
from chat.storage.exchange import Address, Message
from chat.storage.sdk import SdkParty, SdkStore
from crypto.encoding import b64u

log = logging.getLogger("samtal.exchange.sdk")

REJECTED = "REJECTED"
ENVELOPE_DAYS = 30  # how long an envelope made for an incoming message is valid (as agencies' are)
PARTY_RATE = 600  # messages a minute one party may bring in: the message service already limits


class Carrier(Protocol):
    """What the bridge needs of the way to the federation: the REST client (rest_client.RestClient), or an
    access point connection that offers the same four operations."""

    async def send(self, message: SdkMessage) -> None: ...
    async def list(self, status: str | None = None, function: str | None = None,
                   sender_function: str | None = None) -> list[SdkMessage]: ...
    async def fetch(self, message_id: str) -> SdkMessage: ...
    async def delete(self, message_id: str) -> None: ...


class PartyKeys:
    """Each party address's Ed25519 signing and X25519 decryption key, derived from one secret made on first
    start in the data folder (sdk-party.key, 0600; nodes share it like identity-hmac.key)."""

    def __init__(self, path: Path) -> None:
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.touch(0o600)
            path.write_text(secrets.token_hex(32))
        self._secret = bytes.fromhex(path.read_text().strip())

    def _seed(self, use: str, address: str) -> bytes:
        return hmac.new(self._secret, f"samtal sdk party {use}\0{address}".encode(), hashlib.sha256).digest()

    def sign_key(self, address: str) -> jose.Key:
        seed = self._seed("sig", address)
        public = Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        return jose.import_key({"kty": "OKP", "crv": "Ed25519", "d": b64u(seed), "x": b64u(public)})

    def enc_key(self, address: str) -> jose.Key:
        seed = self._seed("enc", address)
        public = X25519PrivateKey.from_private_bytes(seed).public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        return jose.import_key({"kty": "OKP", "crv": "X25519", "d": b64u(seed), "x": b64u(public)})

    def public(self, address: str) -> list[dict[str, Any]]:
        return [jose.public_jwk(self.sign_key(address), use="sig", alg="EdDSA"),
                jose.public_jwk(self.enc_key(address), use="enc", alg=jose.KEY_WRAP_ALG)]


def party_address(party: Party) -> str:
    """The exchange address an SDK organisation's functional address is shown as: stable, and within the
    exchange's address rules (a participant id or functional address has characters they do not allow)."""
    return "sdk-" + hashlib.sha256(f"{party.organisation}\n{party.function}".encode()).hexdigest()[:24]


def _sdk_time(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _id(value: str | None) -> str | None:
    """An SDK id as an exchange id: kept when the exchange's rules allow it (UUIDs do), hashed otherwise."""
    if value is None or ID_RE.fullmatch(value):
        return value
    return "sdk-" + hashlib.sha256(value.encode()).hexdigest()[:40]


class SdkBridge:
    def __init__(self, service: ExchangeService, sdk: SdkStore, book: SdkAddresses, carrier: Carrier,
                 keys: PartyKeys, claims: Claims) -> None:
        self.service, self.sdk, self.book, self.carrier, self.keys, self.claims = (
            service, sdk, book, carrier, keys, claims)
        self.exchange = service.store

    # -- parties ------------------------------------------------------------------------------------
    async def party(self, party: Party, name: str | None = None) -> Address:
        """The party's exchange address, made (with its keys, in the directory) the first time."""
        address = party_address(party)
        found = await self.exchange.address(address)
        if found is not None:
            return found
        label = party.label or party.function
        await self.sdk.put_party(SdkParty(address, party.organisation, party.function, label), now_ms())
        shown = f"{name or label} ({party.organisation}, SDK {party.function})"[:200]
        made = Address(address, "agency", shown, None, sorted(TYPES), self.service.config.max_bytes, PARTY_RATE,
                       keys=self.keys.public(address))
        await self.exchange.put_address(made, exchange_event(
            "sdk.party", "allowed", None, "system", address=address, organisation=party.organisation,
            function=party.function))
        return made

    async def listed_parties(self) -> int:
        """Every recipient of the look-up (addresses.py) in the directory, so staff can write to them."""
        for r in self.book.directory:
            await self.party(Party(r.organisation, r.function, r.label), r.name)
        return len(self.book.directory)

    # -- in -----------------------------------------------------------------------------------------
    async def receive(self, message: SdkMessage) -> Message:
        """An SDK message into the Myndighetspost of the unit its functional address belongs to."""
        unit = self.book.by_function(message.recipient.function)
        if unit is None or message.recipient.organisation != self.book.organisation:
            raise MappingError("unknown_recipient", "the functional address is not one of our units'")
        msg_id = _id(message.message_id) or ""
        existing = await self.exchange.message(msg_id)
        if existing is not None:
            return existing  # fetched before; the delete at the service did not happen
        # Held to Digg's XSD and rules as the XML message it stands for, though it came as JSON (#16 item 3).
        if await asyncio.to_thread(message_problems, message):
            raise MappingError("sdk_invalid", "the message breaks the SDK message's XSD or Schematron rules")
        doc = to_exchange(message)
        sender = await self.party(message.sender)
        recipient = await self.exchange.address(unit.address)
        enc = recipient.key("enc") if recipient else None
        if recipient is None or enc is None:
            raise MappingError("no_address_key", f"the unit's exchange address {unit.address} has no key")
        content = jose.encrypt(json.dumps(doc.content, ensure_ascii=False).encode(), jose.import_public(enc),
                               enc["kid"])
        now = now_s()
        payload = {"id": msg_id, "conversation": _id(message.conversation_id) or msg_id,
                   "in_reply_to": _id(message.ref_to_message_id), "type": doc.doc_type,
                   "priority": DEFAULT_PRIORITY.get(doc.doc_type, "normal"), "from": sender.address,
                   "to": recipient.address, "label": message.label[:MAX_LABEL], "created": now,
                   "expires": now + ENVELOPE_DAYS * 86400, "content_sha256": jose.sha256_b64u(content)}
        sign = self.keys.sign_key(sender.address)
        envelope = jose.sign(payload, sign, jose.public_jwk(sign)["kid"], ENVELOPE_TYP, "EdDSA")
        stored, _receipt, _new = await self.service.receive(envelope, content)
        return stored

    async def poll_once(self) -> int:
        """New messages to each of our functional addresses: fetched, stored, then deleted at the service."""
        taken = 0
        for unit in self.book.functions:
            for listed in await self.carrier.list(status=NEW, function=unit.function):
                work = functools.partial(self._take, listed.message_id)
                if await self.claims.once("sdk_in", listed.message_id, work):
                    taken += 1
        return taken

    async def _take(self, message_id: str) -> bool:
        message = await self.carrier.fetch(message_id)
        try:
            await self.receive(message)
        except MappingError as error:
            if error.code == "no_address_key":
                log.warning("sdk message waits for its unit's address key", extra={"code": error.code})
                return False  # ours, but the unit's address has no key yet: taken in once it has
            await self._refused(message, error.code)
            return True
        except ExchangeError as error:
            await self._refused(message, error.code)
            return True
        await self.carrier.delete(message_id)
        return True

    async def _refused(self, message: SdkMessage, code: str) -> None:
        """Left at the service (its status tells the sender nothing arrived), recorded here once."""
        await self.exchange.append_audit(exchange_event(
            "sdk.receive", "denied", message.sender.organisation, "agency", code, message=message.message_id,
            organisation=message.sender.organisation, function=message.recipient.function))
        log.warning("sdk message not taken in", extra={"code": code})

    # -- out ----------------------------------------------------------------------------------------
    async def send_once(self) -> int:
        """Documents staff sent to party addresses and not yet handed on: to the message service."""
        parties = {p.address: p for p in await self.sdk.parties()}
        if not parties:
            return 0
        sent = 0
        for message in await self.exchange.messages_to(list(parties), only_new=True):
            work = functools.partial(self._send, message, parties[message.recipient])
            if await self.claims.once("sdk_out", message.msg_id, work):
                sent += 1
        return sent

    async def _send(self, message: Message, party: SdkParty) -> bool:
        unit = self.book.by_address(message.sender)
        if unit is None:
            log.warning("sdk document from an address with no functional address", extra={"code": "no_function"})
            return False  # sent once the address is configured
        env = parse_envelope(jose.unverified_payload(message.envelope))
        content = json.loads(jose.decrypt(message.content, self.keys.enc_key(party.address)))
        outgoing = SdkMessage(
            message_id=env.id, conversation_id=env.conversation, created=_sdk_time(now_ms()), label=env.label,
            confidential=is_confidential(env.type, content), sender=Party(self.book.organisation, unit.function,
                                                                          unit.label),
            recipient=Party(party.organisation, party.function, party.label),
            documents=documents_for(env.type, content), ref_to_message_id=env.in_reply_to)
        if await asyncio.to_thread(message_problems, outgoing):
            # Ours to mend (an id that is no UUID, say): what Digg's rules refuse is not sent; the problems name
            # content, so only the code is logged.
            log.error("sdk message breaks Digg's rules, not sent", extra={"code": "sdk_invalid"})
            return False
        try:
            await self.carrier.send(outgoing)
        except SdkApiError as error:
            log.warning("sdk message not sent", extra={"status": error.status})
            return False  # tried again next round
        await self.exchange.ack(message, now_ms())
        await self.exchange.append_audit(exchange_event(
            "sdk.send", "allowed", None, "system", unit_id=unit.unit_id, message=message.msg_id,
            organisation=party.organisation, function=party.function))
        return True

    async def receipts_once(self) -> int:
        """The recipients' receipts on what we sent: ACCEPTED, or REJECTED / MESSAGE_EXCHANGE_ERROR, recorded
        on the sent document as the agency's accepted or rejected receipt, then deleted at the service."""
        recorded = 0
        for unit in self.book.functions:
            for status in (ACCEPTED, REJECTED, ERROR):
                for listed in await self.carrier.list(status=status, sender_function=unit.function):
                    work = functools.partial(self._receipt, listed.message_id, status)
                    if await self.claims.once(f"sdk_receipt_{status}", listed.message_id, work):
                        recorded += 1
        return recorded

    async def _receipt(self, message_id: str, status: str) -> bool:
        ours = await self.exchange.message(_id(message_id) or "")
        party = await self.sdk.party(ours.recipient) if ours else None
        if ours is None or party is None:
            return True  # not a document Samtal sent: another client's at the same service
        have = {r.status for r in await self.exchange.receipts(ours)}
        if not have & {"accepted", "rejected"}:
            unit = self.book.by_address(ours.sender)
            await self.service.add_receipt(
                ours, "accepted" if status == ACCEPTED else "rejected", None if status == ACCEPTED else "other",
                party.address, "agency", unit.unit_id if unit else None)
        await self.carrier.delete(message_id)
        return True

    async def close(self) -> None:
        close = getattr(self.carrier, "close", None)
        if close is not None:
            await close()

    async def round(self) -> None:
        await self.poll_once()
        await self.send_once()
        await self.receipts_once()

    async def run(self, every_seconds: float) -> None:
        """Rounds until cancelled (on shutdown); one failed round does not end them."""
        try:
            await self.listed_parties()
        except Exception as error:  # noqa: BLE001 (the rounds still run; the list is tried again at start)
            log.error("sdk directory not loaded", extra={"error": type(error).__name__})
        while True:
            try:
                await self.round()
            except SdkApiError as error:
                log.error("sdk round failed", extra={"error": "SdkApiError", "status": error.status,
                                                     "detail": error.detail[:200]})
            except Exception as error:  # noqa: BLE001 (one bad round must not end the connection)
                log.error("sdk round failed", extra={"error": type(error).__name__})
            await asyncio.sleep(every_seconds)

