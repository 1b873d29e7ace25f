"""The demo key steward: a client acting as the demo supervisor's device. It creates the unit key and the
case keys, approves new staff devices, gives citizens' new devices their case keys, and after a unit key
rotation wraps the exchange address keys to the new epoch, so that the demo needs no manual approval. A
citizen's device gets a case key only when it is proven the person's (docs/protocol.md §21). It is a client like any other: its private keys stay in its own key file.

Outside the demo, approving a staff device is a supervisor's deliberate act after comparing fingerprints;
the steward refuses to run against a server that is not in demo mode."""
from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path
from typing import Any

from crypto.encoding import b64u, unb64u
from crypto.keys import DevicePublicKeys, generate_x25519
from crypto.wrap import (
    new_case_key,
    sign_unit_epoch,
    sign_wrap,
    verify_unit_epoch,
    wrap_case_key,
    wrap_unit_key,
)
from web.client.exchange import rewrap_address_keys
from web.client.identity import UnitIdentityHolder
from web.client.key_history import case_link, unit_link
from web.client.session import ClientSession
from web.client.transport import ClientError, Socket

log = logging.getLogger("samtal.steward")

# Frames tell the steward when there is work; this poll is only a safety net for a missed frame.
POLL_SECONDS = 5.0


class Steward:
    def __init__(self, session: ClientSession) -> None:
        self.session = session
        self.identity = UnitIdentityHolder(session)  # the demo unit's identity key (docs/protocol.md §18)

    @property
    def unit_id(self) -> str:
        return str(self.session.user["unit_id"])

    def _grant(self, unit_priv: bytes, epoch: int, device: dict[str, Any]) -> dict[str, str]:
        wrapped = wrap_unit_key(unit_priv, self.unit_id, epoch, unb64u(device["kem_pub"]))
        assert self.session.device is not None
        signature = sign_wrap(self.session.device.keys, "unit", self.unit_id, epoch, device["id"], wrapped)
        return {"device_id": device["id"], **wrapped.to_json(), "signature": b64u(signature)}

    def _case_wrap(self, case_id: str, epoch: int, key: bytes, recipient: str, kem_pub: bytes) -> dict[str, str]:
        wrapped = wrap_case_key(key, case_id, epoch, kem_pub)
        assert self.session.device is not None
        signature = sign_wrap(self.session.device.keys, "case", case_id, epoch, recipient, wrapped)
        return {"recipient": recipient, **wrapped.to_json(), "signature": b64u(signature)}

    async def bootstrap_unit_key(self) -> None:
        """Make unit key epoch 1 when the unit has none."""
        if await self.session.unit_epochs(self.unit_id):
            return
        priv, pub = generate_x25519()
        assert self.session.device is not None
        me = {"id": self.session.device_id, "kem_pub": b64u(self.session.device.keys.public.kem_pub)}
        signature = sign_unit_epoch(self.session.device.keys, self.unit_id, 1, pub)
        try:
            await self.session.transport.call("POST", f"/api/units/{self.unit_id}/keys", {
                "epoch": 1, "public_key": b64u(pub), "signature": b64u(signature),
                "grants": [self._grant(priv, 1, me)]})
            log.info("unit key created")
            await self.identity.certify_epoch(1, pub)
        except ClientError as error:
            if error.code != "epoch_exists":
                raise

    async def rotate_unit_key(self, tasks: dict[str, Any]) -> None:
        """A revoked device held the unit key: make the next epoch and grant it to the devices that remain
        approved. Old epochs stay with those devices, so the unit can still read its older messages."""
        epoch = tasks["unit_epoch"] + 1
        priv, pub = generate_x25519()
        assert self.session.device is not None
        signature = sign_unit_epoch(self.session.device.keys, self.unit_id, epoch, pub)
        await self.session.transport.call("POST", f"/api/units/{self.unit_id}/keys", {
            "epoch": epoch, "public_key": b64u(pub), "signature": b64u(signature),
            "grants": [self._grant(priv, epoch, d) for d in tasks["approved_staff_devices"]]})
        log.info("unit key rotated", extra={"epoch": epoch})
        await self.identity.certify_epoch(epoch, pub)
        # The new epoch seals the one before it, so a device given only the new epoch reads the unit's history
        # (docs/protocol.md section 17); the devices that remain hold the old epochs already.
        older = (await self.session.unit_keys(self.unit_id)).get(epoch - 1)
        if older is not None:
            await self.session.transport.call("POST", f"/api/units/{self.unit_id}/history", {"links": [
                unit_link(self.session.device.keys, self.unit_id, epoch, pub, epoch - 1, older)]})

    async def make_case_key(self, case_id: str, epoch: int, unit_epoch: int) -> None:
        """Make case key `epoch`, wrapped to the unit's current key and the citizen's active devices."""
        case = await self.session.case(case_id)
        key = new_case_key()
        unit_pub = unb64u(next(e for e in case["unit_key_epochs"] if e["epoch"] == unit_epoch)["public_key"])
        if not await self.session.certified_epoch(self.unit_id, unit_epoch, unit_pub):
            # A unit key the unit's identity did not certify may be the server's own: nothing is wrapped to it.
            log.warning("unit key epoch not certified; no case key made", extra={"epoch": unit_epoch})
            return
        wraps = [self._case_wrap(case_id, epoch, key, f"unit:{unit_epoch}", unit_pub)]
        # Only to the citizen's devices proven theirs (§21): never to one the server added to the account.
        proven = await self.session.citizen_devices.proven(case["citizen"], case["citizen_devices"])
        proven |= await self._proven_representatives(case)
        wraps += [self._case_wrap(case_id, epoch, key, d["id"], unb64u(d["kem_pub"]))
                  for d in (*case["citizen_devices"], *case.get("representative_devices", ())) if d["id"] in proven]
        try:
            await self.session.transport.call("POST", f"/api/cases/{case_id}/keys", {"epoch": epoch, "wraps": wraps})
        except ClientError as error:
            if error.code != "epoch_exists":  # another key holder was quicker
                raise
            return
        if epoch > 1:  # the new key seals the one before it: a citizen's new phone reads the whole case
            await self.add_case_link(case, epoch, key)

    async def _proven_representatives(self, case: dict[str, Any]) -> set[str]:
        """The devices of the case's representatives (docs/representatives.md) proven to be their holder's, each
        person checked as a citizen's devices are (§21): the server names who holds a mandate, not whose a
        device is."""
        by_holder: dict[str, list[dict[str, Any]]] = {}
        for device in case.get("representative_devices", ()):
            by_holder.setdefault(device["user_id"], []).append(device)
        proven: set[str] = set()
        for holder, devices in sorted(by_holder.items()):
            proven |= await self.session.citizen_devices.proven(holder, devices)
        return proven

    async def add_case_link(self, case: dict[str, Any], epoch: int, key: bytes | None = None) -> None:
        """Post the link by which case key `epoch` seals epoch `epoch - 1`."""
        assert self.session.device is not None
        if key is None:
            _, key = await self.session.case_key(case, epoch, wait=False)
        _, older = await self.session.case_key(case, epoch - 1, wait=False)
        await self.session.transport.call("POST", f"/api/cases/{case['id']}/history", {"links": [
            case_link(self.session.device.keys, case["id"], epoch, key, epoch - 1, older)]})

    async def add_missing_links(self, tasks: dict[str, Any], unit_keys: dict[int, bytes]) -> int:
        """Links for epochs made before there were links, or whose maker went away before adding one."""
        assert self.session.device is not None
        epochs = {e["epoch"]: e for e in await self.session.unit_epochs(self.unit_id)}
        links = [unit_link(self.session.device.keys, self.unit_id, e, unb64u(epochs[e]["public_key"]), e - 1,
                           unit_keys[e - 1]) for e in tasks["unit_history_missing"] if e - 1 in unit_keys]
        if links:
            await self.session.transport.call("POST", f"/api/units/{self.unit_id}/history", {"links": links})
        done = len(links)
        for item in tasks["case_history_missing"]:
            try:
                await self.add_case_link(await self.session.case(item["case_id"]), item["epoch"])
                done += 1
            except ClientError as error:  # this device lacks one of the two keys: the other tasks go on
                log.info("history link not added", extra={"code": error.code})
        return done

    async def certify(self, tasks: dict[str, Any] | None) -> int:
        """The identity's share of the key work: certify approved staff devices (in the demo every one: that
        is its approval), revoke the certificates of revoked devices, and certify a unit key epoch only when
        a device the identity certified made and signed it (never one the server or an impostor put there)."""
        if not tasks or not self.identity.holds:
            return 0
        done = 0
        for d in tasks["devices_to_certify"]:
            await self.identity.certify_device(d["device_id"], DevicePublicKeys.from_json(d), d["user_id"])
            done += 1
        for device_id in tasks["devices_to_revoke"]:
            await self.identity.revoke_device(device_id)
            done += 1
        records = {e["epoch"]: e for e in await self.session.unit_epochs(self.unit_id)}
        for item in tasks["epochs_to_certify"]:
            record = records.get(item["epoch"])
            if record is None or not await self.session.entitled(self.unit_id, record["created_by_device"]):
                log.warning("a unit key epoch by a device the unit did not certify is left uncertified",
                            extra={"epoch": item["epoch"]})
                continue
            creator = await self.session.device_keys(record["created_by_device"])
            public_key = unb64u(record["public_key"])
            if verify_unit_epoch(creator, unb64u(record["signature"]), self.unit_id, item["epoch"], public_key):
                await self.identity.certify_epoch(item["epoch"], public_key)
                done += 1
        return done

    async def run_tasks(self) -> int:
        """Do everything pending once; returns how many things were done."""
        transport = self.session.transport
        tasks = await transport.call("GET", "/api/keys/pending")
        if tasks["unit_key_rotation_needed"]:
            await self.rotate_unit_key(tasks)
            return 1  # the case keys follow, against the new epoch
        done = await self.certify(tasks.get("certification"))
        unit_keys = await self.session.unit_keys(self.unit_id)
        current = tasks["unit_epoch"]
        done += await self.add_missing_links(tasks, unit_keys)
        # The current epoch opens every older one through the history links; while one is missing, every epoch.
        to_grant = ({current: unit_keys[current]} if current in unit_keys and not tasks["unit_history_missing"]
                    else unit_keys)
        for device in tasks["staff_devices_awaiting_grant"]:
            # The demo's approval: certified by the unit identity (what a supervisor does after comparing
            # safety numbers), then granted.
            await self.identity.certify_device(device["id"], DevicePublicKeys.from_json(device), device["user_id"])
            for epoch, priv in sorted(to_grant.items()):
                await transport.call("POST", f"/api/units/{self.unit_id}/grants",
                                     {"epoch": epoch, "grants": [self._grant(priv, epoch, device)]})
            done += 1
        for case_id in tasks["cases_without_key"]:
            await self.make_case_key(case_id, 1, current)
            done += 1
        for case_id in tasks["cases_needing_new_key"]:
            epoch = (await self.session.case(case_id))["key_epoch"] + 1
            await self.make_case_key(case_id, epoch, current)
            done += 1
        # The exchange address keys follow the unit key to its new epoch, so staff devices granted only the
        # new epoch can still open and send the unit's agency documents.
        done += await rewrap_address_keys(self.session, self.unit_id, tasks["address_keys_to_rewrap"], current)
        for item in (*tasks["citizen_devices_missing_case_key"], *tasks.get("representative_devices_missing_case_key", ())):
            case = await self.session.case(item["case_id"])
            device = item["device"]
            proven = await self.session.citizen_devices.proven(case["citizen"], case["citizen_devices"])
            if device["id"] not in proven | await self._proven_representatives(case):
                continue  # not proven the person's (§21): it gets nothing, and the log says so
            epoch, key = await self.session.case_key(case, item["epoch"], wait=False)
            await transport.call("POST", f"/api/cases/{case['id']}/wraps", {
                "epoch": epoch, "wraps": [self._case_wrap(case["id"], epoch, key, device["id"],
                                                          unb64u(device["kem_pub"]))]})
            done += 1
        return done

    async def run(self, stop: asyncio.Event) -> None:
        await self.identity.bootstrap()
        await self.bootstrap_unit_key()
        socket = await self.session.transport.open_socket()
        try:
            while not stop.is_set():
                done = 0
                try:
                    done = await self.run_tasks()
                    if done:
                        log.info("key tasks done", extra={"count": done})
                except ClientError as error:
                    log.warning("key task failed", extra={"code": error.code})
                if done:
                    continue  # more may have arrived while working
                frame = await _next_or_stop(socket, stop)
                if frame is not None and frame.get("t") == "closed":
                    raise ClientError("disconnected", "the server closed the connection")
        finally:
            await socket.close()


async def _next_or_stop(socket: Socket, stop: asyncio.Event) -> dict[str, Any] | None:
    """The next pushed frame; None after the poll interval, or at once when asked to stop (the server
    stops the steward first on SIGTERM, and used to wait up to a whole poll for it)."""
    frame = asyncio.ensure_future(socket.pushed.get())
    stopping = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({frame, stopping}, timeout=POLL_SECONDS, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopping.cancel()
        if not frame.done():
            frame.cancel()
    return frame.result() if frame.done() and not frame.cancelled() else None


async def run_steward(server: str, data_dir: Path, username: str, stop: asyncio.Event,
                      parent_pid: int | None = None) -> None:
    """Steward until `stop` is set, reconnecting whenever the server is away (it may still be starting).
    With `parent_pid`, it also stops when that process (the server that started it) is gone."""
    if parent_pid is not None:
        asyncio.get_running_loop().create_task(_stop_when_orphaned(parent_pid, stop))
    while not stop.is_set():
        session = ClientSession(server, data_dir, username)
        try:
            await session.start()
            me = await session.transport.call("GET", "/api/me")
            if not me.get("demo"):
                raise SystemExit("the demo key steward runs only against a server in demo mode")
            await Steward(session).run(stop)
        except ClientError as error:
            log.info("steward reconnecting", extra={"code": error.code})
            try:
                await asyncio.wait_for(stop.wait(), 0.5)
            except TimeoutError:
                pass
        finally:
            await session.close()


async def _stop_when_orphaned(parent_pid: int, stop: asyncio.Event) -> None:
    while not stop.is_set():
        if os.getppid() != parent_pid:
            log.info("steward stopping: its server is gone")
            stop.set()
            return
        await asyncio.sleep(1.0)
