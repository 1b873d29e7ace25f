"""A signed-in client device: registers itself, obtains keys by unwrapping what it was granted, and
encrypts, signs, verifies and decrypts messages. Everything secret stays in this process."""
from __future__ import annotations

import asyncio
import hashlib
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crypto.aead import aead_seal
from crypto.devicelink import SALT_BYTES
from crypto.encoding import b64u, unb64u
from crypto.envelope import (
    NO_PREV,
    Header,
    new_msg_id,
    open_message,
    parse_envelope,
    seal_message,
    verify_envelope,
)
from crypto.errors import CryptoError, DecryptionError
from crypto.keys import DevicePublicKeys, registration_proof, verify_registration_proof
from crypto.transcript import Entry, message_hash
from crypto.unitcert import UnitTrust
from crypto.wrap import (
    WrappedKey,
    unwrap_case_key,
    unwrap_unit_key,
    verify_unit_epoch,
    verify_wrap,
)
from web.client.checks import MessageRefused, TranscriptRead, check_transcript
from web.client.citizen_devices import CitizenDevices, demo_signin_binding
from web.client.key_history import case_opener, unit_opener, walk_links
from web.client.keystore import KeyStore, StoredDevice
from web.client.transport import ClientError, Socket, Transport, retrying
from web.client.trust import LogWatcher, TrustFile, check_unit

# How long a new device waits for a key holder (a supervisor's device, or the demo steward) to give it keys.
KEY_WAIT_SECONDS = 20.0
KEY_POLL_SECONDS = 0.2
# How often a writing device looks for messages newer than the newest it has seen, to name it in the next.
ATTACHMENT_AAD = b"samtal/attachment/v1"


@dataclass(frozen=True)
class Attachment:
    """A file to send with a message: its name, its type (image/png, application/pdf, ...) and its bytes."""

    name: str
    mime: str
    data: bytes


CATCH_UP_SECONDS = 1.0


@dataclass(frozen=True)
class ReadMessage:
    """A message of a case as this device shows it. `body` is None when the message failed a check that
    keeps it from being shown (`problems` says why); `checked` is False for a version 1 envelope, whose
    place in the transcript cannot be checked."""

    seq: int
    msg_id: str
    sender: str
    sender_device: str
    body: dict[str, Any] | None
    sent_at: int
    stored_at: int
    problems: tuple[tuple[str, str], ...] = ()
    checked: bool = True
    entry: Entry | None = None


class ClientSession:
    def __init__(self, server: str | Sequence[str], data_dir: Path, username: str) -> None:
        """`server`: one address, or the addresses of several nodes of one installation (web/client/transport.py)."""
        self.transport = Transport(server)
        self.keystore = KeyStore(data_dir, username)
        self.username = username
        self.user: dict[str, Any] = {}
        self.demo = False
        self.device: StoredDevice | None = None
        self._device_keys: dict[str, DevicePublicKeys] = {}  # device id -> verified public keys
        self._device_owner: dict[str, str] = {}
        self._owner_proof: dict[str, str] = {}  # device id -> "valid", "invalid" or "missing"
        self._unit_keys: dict[tuple[str, int], bytes] = {}  # (unit, epoch) -> unit private key
        self._case_keys: dict[tuple[str, int], bytes] = {}  # (case, epoch) -> case key
        # The epoch last seen as current; a rotation shows up as a stale_epoch refusal, which clears it.
        self._current_epoch: dict[str, int] = {}
        # What this client pinned and the newest key log head it saw (docs/protocol.md §18-19).
        self.trust_file = TrustFile(self.keystore.folder)
        self.log = LogWatcher(self.transport, self.trust_file)
        self._units: dict[str, UnitTrust | None] = {}  # unit id -> its checked certificates (None: no identity)
        # Per case: (seq, hash) of the newest stored message seen, and the counter last given to a message.
        self._newest: dict[str, tuple[int, bytes]] = {}
        self._counter: dict[str, int] = {}
        self._refreshed: dict[str, float] = {}
        self.citizen_devices = CitizenDevices(self)  # which citizen devices are the person's (§21)

    async def close(self) -> None:
        await self.transport.close()

    async def __aenter__(self) -> ClientSession:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- sign-in and device ------------------------------------------------------------------------
    async def demo_login(self) -> None:
        answer = await self.transport.call("POST", "/api/demo/login", {"username": self.username})
        self.user = answer["user"]
        self.demo = bool(answer.get("demo"))

    async def ensure_device(self) -> StoredDevice:
        stored = self.keystore.load()
        if stored is None or stored.user_id != self.user["id"]:
            stored = self.keystore.create(self.user["id"])
        if not stored.registered:
            public = stored.keys.public
            # A citizen's device is proven the person's by their e-identification (§21): in the demo, by the
            # demo's stand-in for it.
            binding = (await demo_signin_binding(self, public, secrets.token_bytes(SALT_BYTES))
                       if self.demo and self.user.get("role") == "citizen" else None)
            await self.transport.call("POST", "/api/devices", {
                **public.to_json(), "label": f"samtal CLI ({self.username})",
                "proof": b64u(registration_proof(stored.keys, self.user["id"])),
                **({"binding": binding} if binding else {})})
            stored.registered = True
            self.keystore.save(stored)
        self.device = stored
        self.transport.device_id = stored.device_id
        return stored

    async def start(self) -> None:
        await self.demo_login()
        await self.ensure_device()

    @property
    def device_id(self) -> str:
        assert self.device is not None
        return self.device.device_id

    async def device_keys(self, device_id: str) -> DevicePublicKeys:
        """A device's public keys, checked against its id (the id is a hash of the keys), and whose it is by
        its registration proof (§3: the device's own signature names its owner), not by the server's label."""
        if device_id not in self._device_keys:
            view = (await self.transport.call("GET", f"/api/devices/{device_id}"))["device"]
            keys = DevicePublicKeys.from_json(view)
            if keys.device_id != device_id:
                raise CryptoError("the server gave keys that do not match the device id")
            proof = view.get("proof")
            if proof is None:
                self._owner_proof[device_id] = "missing"  # registered before proofs were kept
            elif verify_registration_proof(keys, view["user_id"], unb64u(proof)):
                self._owner_proof[device_id] = "valid"
            else:
                self._owner_proof[device_id] = "invalid"  # the server names another owner than the device did
            self._device_keys[device_id] = keys
            self._device_owner[device_id] = view["user_id"]
        return self._device_keys[device_id]

    # -- the unit identity (docs/protocol.md §18) ---------------------------------------------------------
    async def unit_trust(self, unit_id: str, refresh: bool = False) -> UnitTrust | None:
        """The unit's certificates, checked against the pinned identity and the key log; None while the unit
        has no identity (and none was ever pinned). Raises ClientError unit_identity_changed and the like."""
        if refresh or unit_id not in self._units:
            self._units[unit_id] = await check_unit(self.transport, self.trust_file, self.log, unit_id)
        return self._units[unit_id]

    async def entitled(self, unit_id: str, device_id: str, *, allow_revoked: bool = False) -> bool:
        """True when `device_id` is a staff device the unit's identity certified (and has not revoked, unless
        `allow_revoked`: what it did before its revocation, such as an old message, stays attributable).
        The certificate, not the server's column, then says whose device it is."""
        for refresh in (False, True):  # a certificate filed a moment ago is fetched once more
            trust = await self.unit_trust(unit_id, refresh=refresh)
            if trust is None:
                return True  # a unit without an identity: the directory is all there is (§13)
            cert = trust.device(device_id, allow_revoked=allow_revoked)
            if cert is not None:
                await self.device_keys(device_id)
                self._device_owner[device_id] = cert.user_id
                return True
        return False

    async def certified_epoch(self, unit_id: str, epoch: int, public_key: bytes) -> bool:
        trust = await self.unit_trust(unit_id)
        if trust is not None and trust.epochs.get(epoch) != public_key:
            trust = await self.unit_trust(unit_id, refresh=True)
        return trust is None or trust.epochs.get(epoch) == public_key

    async def _entitled_links(self, unit_id: str, links: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """History links signed by devices the unit certified (revoked since is allowed: a link only opens
        older epochs)."""
        return [link for link in links if await self.entitled(unit_id, link["signer_device"], allow_revoked=True)]

    # -- unit keys (staff) ---------------------------------------------------------------------------
    async def unit_keys(self, unit_id: str) -> dict[int, bytes]:
        """Unwrap every unit key epoch granted to this device, and every older one its history links reach
        (docs/protocol.md section 17); returns epoch -> private key."""
        answer = await self.transport.call("GET", f"/api/units/{unit_id}/keys")
        epochs = {e["epoch"]: e for e in answer["epochs"]}
        for grant in answer["grants"]:
            epoch = grant["epoch"]
            if (unit_id, epoch) in self._unit_keys or epoch not in epochs:
                continue
            record = epochs[epoch]
            public_key = unb64u(record["public_key"])
            creator = await self.device_keys(record["created_by_device"])
            if not verify_unit_epoch(creator, unb64u(record["signature"]), unit_id, epoch, public_key):
                raise CryptoError("a unit key epoch is not signed by the device that made it")
            # Only an epoch the unit's identity certified, granted by a device it certified, is used; anything
            # else is left aside (it may be certified a moment later, and is then taken on the next call).
            if not await self.certified_epoch(unit_id, epoch, public_key):
                continue
            if not await self.entitled(unit_id, grant["granted_by_device"]):
                continue
            wrapped = WrappedKey(unb64u(grant["enc"]), unb64u(grant["ct"]))
            granter = await self.device_keys(grant["granted_by_device"])
            if not verify_wrap(granter, unb64u(grant["signature"]), "unit", unit_id, epoch, self.device_id, wrapped):
                raise CryptoError("a unit key grant's signature does not verify")
            assert self.device is not None
            self._unit_keys[(unit_id, epoch)] = unwrap_unit_key(self.device.keys.kem_priv, unit_id, epoch, wrapped,
                                                                public_key)
        if any((unit_id, e) not in self._unit_keys for e in epochs) and any(
                (unit_id, e) in self._unit_keys for e in epochs):
            links = await self._entitled_links(
                unit_id, (await self.transport.call("GET", f"/api/units/{unit_id}/history"))["links"])
            await walk_links(self.device_keys, "unit", unit_id, links, self._unit_keys,
                             unit_opener(unit_id, epochs, self.device_keys))
        return {e: k for (u, e), k in self._unit_keys.items() if u == unit_id}

    async def unit_epochs(self, unit_id: str) -> list[dict[str, Any]]:
        epochs: list[dict[str, Any]] = (await self.transport.call("GET", f"/api/units/{unit_id}/keys"))["epochs"]
        return epochs

    # -- case keys -----------------------------------------------------------------------------------
    async def case_key(self, case: dict[str, Any], epoch: int | None = None, wait: bool = True) -> tuple[int, bytes]:
        """The case key for `epoch` (default: the current one), waiting for a key holder if needed."""
        if epoch is None and (current := self._current_epoch.get(case["id"])) is not None:
            return current, self._case_keys[(case["id"], current)]
        deadline = time.monotonic() + (KEY_WAIT_SECONDS if wait else 0)
        while True:
            current, key = await self._try_case_key(case, epoch)
            if key is not None:
                if epoch is None:
                    self._current_epoch[case["id"]] = current
                return current, key
            if time.monotonic() >= deadline:
                raise ClientError("no_key", "this device has not been given the case key yet; a staff device of "
                                            "the unit gives it (in the demo, the demo key steward)")
            await asyncio.sleep(KEY_POLL_SECONDS)

    async def _try_case_key(self, case: dict[str, Any], epoch: int | None) -> tuple[int, bytes | None]:
        case_id = case["id"]
        answer = await self.transport.call("GET", f"/api/cases/{case_id}/keys")
        want = epoch if epoch is not None else answer["epoch"]
        if want == 0:
            return 0, None
        if (case_id, want) in self._case_keys:
            return want, self._case_keys[(case_id, want)]
        unit_keys = await self.unit_keys(case["unit"]) if self.user.get("role") != "citizen" else {}
        refused = await self._open_case_wraps(case, answer["wraps"], unit_keys, want, answer["epoch"])
        if (case_id, want) not in self._case_keys and want < answer["epoch"]:
            # An older epoch this device was never given: open what it was given, then follow the history
            # links down from there (a new device gets only the current epoch, docs/protocol.md section 17).
            await self._open_case_wraps(case, answer["wraps"], unit_keys, None, answer["epoch"])
            if any(key_case == case_id for key_case, _ in self._case_keys):
                links = await self._entitled_links(
                    case["unit"], (await self.transport.call("GET", f"/api/cases/{case_id}/history"))["links"])
                await walk_links(self.device_keys, "case", case_id, links, self._case_keys, case_opener(case_id))
        if refused and (case_id, want) not in self._case_keys:
            raise ClientError("not_entitled", "the case key was made by a device the unit's identity did not "
                                              "certify: it is refused, and nothing is sent with it")
        return want, self._case_keys.get((case_id, want))

    async def _open_case_wraps(self, case: dict[str, Any], wraps: list[dict[str, Any]], unit_keys: dict[int, bytes],
                               only: int | None, current: int) -> bool:
        """Open the wraps of epoch `only` (or of every epoch) this device can open into the key cache; a wrap
        nobody signed is ignored, never used. Only a staff device the unit certified may hand out a case key;
        one revoked since may have made an older epoch, never the current one (the one messages are sealed
        with). True when a wrap was refused for that."""
        assert self.device is not None
        case_id, refused = case["id"], False
        for wrap in wraps:
            epoch = wrap["epoch"]
            if (only is not None and epoch != only) or (case_id, epoch) in self._case_keys:
                continue
            recipient = wrap["recipient"]
            wrapped = WrappedKey(unb64u(wrap["enc"]), unb64u(wrap["ct"]))
            wrapper = await self.device_keys(wrap["wrapped_by_device"])
            if not verify_wrap(wrapper, unb64u(wrap["signature"]), "case", case_id, epoch, recipient, wrapped):
                continue
            if not await self.entitled(case["unit"], wrap["wrapped_by_device"], allow_revoked=epoch < current):
                refused = True
                continue
            if recipient == self.device_id:
                self._case_keys[(case_id, epoch)] = unwrap_case_key(self.device.keys.kem_priv, case_id, epoch, wrapped)
            elif recipient.startswith("unit:") and int(recipient[5:]) in unit_keys:
                self._case_keys[(case_id, epoch)] = unwrap_case_key(unit_keys[int(recipient[5:])], case_id, epoch,
                                                                    wrapped)
        return refused

    # -- cases and messages ---------------------------------------------------------------------------
    async def cases(self) -> list[dict[str, Any]]:
        cases: list[dict[str, Any]] = (await self.transport.call("GET", "/api/cases"))["cases"]
        return cases

    async def case(self, case_id: str) -> dict[str, Any]:
        case: dict[str, Any] = (await self.transport.call("GET", f"/api/cases/{case_id}"))["case"]
        return case

    async def seal(self, case: dict[str, Any], text: str, body: dict[str, Any] | None = None) -> tuple[str, bytes]:
        """A version 2 envelope of a text (or of `body`): the next counter of this device in the case, and the
        newest message seen."""
        epoch, key = await self.case_key(case)
        assert self.device is not None
        case_id = case["id"]
        await self._catch_up(case)
        counter = max(self._counter.get(case_id, 0), self.keystore.memory(case_id).own_counter) + 1
        self._counter[case_id] = counter
        prev = self._newest[case_id][1] if case_id in self._newest else NO_PREV
        header = Header(case_id, new_msg_id(), self.device_id, epoch, int(time.time() * 1000), counter, prev)
        return header.msg_id, seal_message(key, header, body or {"type": "text", "text": text}, self.device.keys)

    async def _catch_up(self, case: dict[str, Any]) -> None:
        """Learn the newest stored message of the case (verified) before writing, at most once a second:
        a message names what its sender had seen, and an older one it saw is still true."""
        case_id = case["id"]
        if time.monotonic() - self._refreshed.get(case_id, -1e9) < CATCH_UP_SECONDS:
            return
        self._refreshed[case_id] = time.monotonic()
        after = self._newest.get(case_id, (0, b""))[0]
        while True:
            items = (await self.transport.call("GET", f"/api/cases/{case_id}/messages",
                                               params={"after": after, "limit": 500}))["messages"]
            for item in items:
                try:
                    await self._verified(case, item)
                except (CryptoError, MessageRefused):
                    continue  # never answer a message that is not genuine
            if len(items) < 500:
                return
            after = items[-1]["seq"]

    def _saw(self, case_id: str, seq: int | None, raw: bytes) -> None:
        if seq is not None and seq > self._newest.get(case_id, (0, b""))[0]:
            self._newest[case_id] = (seq, message_hash(raw))

    async def upload_attachment(self, case: dict[str, Any], text: str, attachment: Attachment) -> dict[str, Any]:
        """Encrypt a file under a fresh key and upload it to the case; the message body that carries its key
        (the browser's format, web/static/js/attachments.js)."""
        key, nonce = secrets.token_bytes(32), secrets.token_bytes(12)
        blob = aead_seal(key, nonce, ATTACHMENT_AAD, attachment.data)
        answer = await self.transport.upload(f"/api/cases/{case['id']}/blobs", blob)
        return {"type": "attachment", "text": text, "name": attachment.name[:200], "mime": attachment.mime,
                "size": len(attachment.data), "blob_id": answer["blob_id"], "key": b64u(key), "nonce": b64u(nonce),
                "sha256": b64u(hashlib.sha256(attachment.data).digest())}

    async def send(self, socket: Socket, case: dict[str, Any], text: str,
                   attachment: Attachment | None = None) -> dict[str, Any]:
        """Send one message (with a file, encrypted and uploaded first) and return the server's ack (after its
        commit). A stale epoch (the case key was rotated since it was fetched) is retried once with the new
        key. Nothing is sent while the unit's identity is not the one pinned (or reached from it by a
        hand-over). The attachment's id goes beside the envelope too (`blobs`), so that the server keeps it:
        one no message names is removed after a day (docs/protocol.md §14.2)."""
        await self.unit_trust(case["unit"], refresh=True)
        body = await self.upload_attachment(case, text, attachment) if attachment is not None else None
        frame_blobs = {"blobs": [body["blob_id"]]} if body is not None else {}
        for attempt in range(2):
            msg_id, env = await self.seal(case, text, body)
            try:
                # The same envelope (same msg_id) again while storage is unavailable: stored once at most.
                ack: dict[str, Any] = await retrying(
                    lambda: socket.request({"t": "send", "env": b64u(env), **frame_blobs}))  # noqa: B023
            except ClientError as error:
                # Nothing was stored: the counter is given again, so that readers see no gap.
                self._counter[case["id"]] -= 1
                if error.code != "stale_epoch" or attempt:
                    raise
                self._current_epoch.pop(case["id"], None)
                continue
            self._saw(case["id"], ack["seq"], env)
            self.keystore.remember_sent(case["id"], parse_envelope(env).header.counter)
            return ack
        raise AssertionError("unreachable")

    async def _verified(self, case: dict[str, Any], frame: dict[str, Any]) -> tuple[Any, str]:
        """Parse an envelope and check its labels and signature; returns it and the sender's user id.
        Raises MessageRefused with the reason."""
        try:
            env = parse_envelope(unb64u(frame["env"]))
        except CryptoError as exc:
            raise MessageRefused("malformed", f"the envelope is malformed ({exc})") from None
        header = env.header
        if header.case_id != case["id"] or header.msg_id != frame["msg_id"] or header.sender_device != frame[
                "sender_device"]:
            raise MessageRefused("mislabelled", "the server's labels do not match the signed envelope")
        try:
            sender = await self.device_keys(header.sender_device)
        except CryptoError:
            raise MessageRefused("unknown_device", "the sending device's keys do not match its id") from None
        except ClientError as error:
            if error.code == "unreachable":
                raise
            raise MessageRefused("unknown_device", "the server does not show the sending device") from None
        if not verify_envelope(env, sender.sign_pub):
            raise MessageRefused("bad_signature", "the signature does not verify: changed after it was sent")
        self._saw(case["id"], frame.get("seq"), env.raw)
        return env, self._device_owner[header.sender_device]

    async def open(self, case: dict[str, Any], frame: dict[str, Any], wait: bool = True) -> ReadMessage:
        """Verify and decrypt one message (a history item, a pushed msg frame, a relayed signal); raises
        MessageRefused (a CryptoError) saying why when it fails a check. `wait`: for a key holder to give
        this device the case key of the message's epoch."""
        env, owner = await self._verified(case, frame)
        header = env.header
        # The citizen's own devices, and her representatives' (docs/representatives.md: the server names who
        # holds a mandate; the device's own registration proof names its owner); else a certified staff device.
        citizen_side = {case["citizen"], *(r["holder"] for r in case.get("representatives", ()))}
        if owner not in citizen_side and not await self.entitled(case["unit"], header.sender_device,
                                                                 allow_revoked=True):
            raise MessageRefused("not_entitled", "a message from a staff device the unit's identity did not certify")
        owner = self._device_owner[header.sender_device]  # a staff device's owner: its certificate's (§18)
        proof = self._owner_proof.get(header.sender_device)
        if owner != frame["sender"] or proof == "invalid":
            raise MessageRefused("wrong_sender", "the sending device does not belong to the named sender: its "
                                                 "own registration names someone else")
        try:
            _, key = await self.case_key(case, header.epoch, wait=wait)
        except ClientError as error:
            if error.code != "no_key":
                raise
            raise MessageRefused("no_key", f"this device has no case key of epoch {header.epoch}") from None
        try:
            body = open_message(key, env)
        except DecryptionError:
            raise MessageRefused("undecryptable", "the case key does not open it: changed after it was sent") from None
        except CryptoError as exc:
            raise MessageRefused("bad_body", f"the decrypted body is not a message ({exc})") from None
        entry = Entry(frame["seq"] or 0, header.msg_id, header.sender_device, header.counter,
                      header.prev or NO_PREV, message_hash(env.raw))
        unproven = (("unproven_sender", "the server names the sender; the device was registered before devices "
                                        "proved whose they are"),) if proof == "missing" else ()
        return ReadMessage(frame["seq"], header.msg_id, frame["sender"], header.sender_device, body,
                           header.sent_at_ms, frame["stored_at"], unproven, checked=header.counter > 0, entry=entry)

    async def read(self, case: dict[str, Any], after: int = 0, page: int = 500) -> TranscriptRead:
        """Every message of the case, each verified, decrypted and checked against the transcript (§20);
        one that fails is kept, with its reason, and the rest are still shown. Returns those after `after`
        and the problems of the case as a whole (messages gone since this device last read it)."""
        opened: list[ReadMessage] = []
        seq = 0
        await self.case_key(case)  # a new device waits for its key once, not once per message
        while True:
            items = (await self.transport.call("GET", f"/api/cases/{case['id']}/messages",
                                               params={"after": seq, "limit": page}))["messages"]
            for item in items:
                try:
                    opened.append(await self.open(case, item, wait=False))
                except MessageRefused as refused:
                    opened.append(ReadMessage(item["seq"], item["msg_id"], item["sender"], item["sender_device"],
                                              None, item["stored_at"], item["stored_at"],
                                              ((refused.code, refused.reason),), checked=False))
            if len(items) < page:
                break
            seq = items[-1]["seq"]
        result = check_transcript(opened, self.keystore.memory(case["id"]), self.device_id)
        self.keystore.remember(case["id"], result.memory)
        return TranscriptRead([m for m in result.messages if m.seq > after], result.case_problems)

    async def history(self, case: dict[str, Any], after: int = 0, page: int = 500) -> list[ReadMessage]:
        """The messages of `read`, for callers that want only those (problems stay on each message)."""
        return (await self.read(case, after, page)).messages
