"""Devices, unit keys and case keys (chat/storage/devices.py) in SQL, for both engines."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from chat.errors import Conflict
from chat.model import Case, CaseKeyState, CaseKeyWrap, Device, UnitKeyEpoch, UnitKeyGrant
from chat.storage.sql import Db
from chat.storage.sql.core import SqlCore


class SqlDevicesAndKeys(SqlCore):
    """DeviceKeyStore, over the engine."""

    async def add_device(self, device: Device) -> None:
        await self._write([(
            f"INSERT INTO devices ({self._DEVICE_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (device.id, device.user_id, device.sign_pub, device.kem_pub, device.label, device.created_at,
             device.revoked_at, device.proof, device.binding))])
        self._device_generation += 1
        self._devices.pop(device.id, None)

    async def bind_device(self, device_id: str, binding: str) -> bool:
        """Give a device without one its binding (§21); False when it had one already (the first stays)."""
        def bind(db: Db) -> bool:
            row = db.execute("SELECT binding FROM devices WHERE id = ?", (device_id,)).fetchone()
            if row is None or row[0] is not None:
                return False
            db.execute("UPDATE devices SET binding = ? WHERE id = ?", (binding, device_id))
            return True

        changed: bool = await self.engine.transaction(bind)
        self._device_generation += 1
        self._devices.pop(device_id, None)
        return changed

    async def get_device(self, device_id: str) -> Device | None:
        if (cached := self._devices.get(device_id)) is not None:
            return cached
        generation = self._device_generation
        row = await self._one(f"SELECT {self._DEVICE_COLS} FROM devices WHERE id = ?", (device_id,))
        if row is None:
            return None
        device = Device(*row)
        if generation == self._device_generation and self._caching:
            self._devices[device_id] = device
        return device

    async def devices_of_user(self, user_id: str) -> list[Device]:
        rows = await self._all(f"SELECT {self._DEVICE_COLS} FROM devices WHERE user_id = ? ORDER BY created_at",
                               (user_id,))
        return [Device(*r) for r in rows]

    async def revoke_device(self, device_id: str, at: int) -> None:
        await self._write([("UPDATE devices SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                            (at, device_id))])
        self._device_generation += 1
        self._devices.pop(device_id, None)

    @staticmethod
    def _grant_row(g: UnitKeyGrant) -> tuple[Any, ...]:
        return (g.unit_id, g.epoch, g.device_id, g.enc, g.ct, g.granted_by_device, g.signature, g.created_at)

    _GRANT_INSERT = ("INSERT INTO unit_key_grants (unit_id, epoch, device_id, enc, ct, granted_by_device,"
                     " signature, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING")

    async def add_unit_key_epoch(self, epoch: UnitKeyEpoch, grants: Sequence[UnitKeyGrant]) -> None:
        def add(db: Db) -> None:
            (current,) = db.execute("SELECT coalesce(max(epoch), 0) FROM unit_key_epochs WHERE unit_id = ?",
                                    (epoch.unit_id,)).fetchone()
            if epoch.epoch != current + 1:
                raise Conflict(f"unit key epoch must be {current + 1}", code="epoch_exists")
            db.execute("INSERT INTO unit_key_epochs (unit_id, epoch, public_key, created_by_device, signature,"
                       " created_at) VALUES (?, ?, ?, ?, ?, ?)", (epoch.unit_id, epoch.epoch, epoch.public_key,
                                                                   epoch.created_by_device, epoch.signature,
                                                                   epoch.created_at))
            db.executemany(self._GRANT_INSERT, [self._grant_row(g) for g in grants])

        await self.engine.transaction(add)

    async def unit_key_epochs(self, unit_id: str) -> list[UnitKeyEpoch]:
        rows = await self._all(
            "SELECT unit_id, epoch, public_key, created_by_device, signature, created_at FROM unit_key_epochs"
            " WHERE unit_id = ? ORDER BY epoch", (unit_id,))
        return [UnitKeyEpoch(*r) for r in rows]

    async def add_unit_key_grants(self, grants: Sequence[UnitKeyGrant]) -> None:
        await self._write([(self._GRANT_INSERT, self._grant_row(g)) for g in grants])

    _GRANT_COLS = "unit_id, epoch, device_id, enc, ct, granted_by_device, signature, created_at"

    async def unit_key_grants_for_device(self, unit_id: str, device_id: str) -> list[UnitKeyGrant]:
        rows = await self._all(f"SELECT {self._GRANT_COLS} FROM unit_key_grants WHERE unit_id = ? AND device_id = ?"
                               " ORDER BY epoch", (unit_id, device_id))
        return [UnitKeyGrant(*r) for r in rows]

    async def unit_key_grants(self, unit_id: str, epoch: int) -> list[UnitKeyGrant]:
        rows = await self._all(f"SELECT {self._GRANT_COLS} FROM unit_key_grants WHERE unit_id = ? AND epoch = ?",
                               (unit_id, epoch))
        return [UnitKeyGrant(*r) for r in rows]

    async def current_case_epoch(self, case_id: str) -> int:
        if (cached := self._case_epoch.get(case_id)) is not None:
            return cached
        row = await self._one("SELECT coalesce(max(epoch), 0) FROM case_key_epochs WHERE case_id = ?", (case_id,))
        # Epochs only grow: a new epoch committed while this read was in flight must not be rolled back.
        epoch = max(int(row[0]), self._case_epoch.get(case_id, 0))
        if self._caching:
            self._case_epoch[case_id] = epoch
        return epoch

    _WRAP_INSERT = ("INSERT INTO case_key_wraps (case_id, epoch, recipient, enc, ct, wrapped_by_device,"
                    " signature, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING")

    @staticmethod
    def _wrap_row(w: CaseKeyWrap) -> tuple[Any, ...]:
        return (w.case_id, w.epoch, w.recipient, w.enc, w.ct, w.wrapped_by_device, w.signature, w.created_at)

    async def add_case_key_epoch(self, case_id: str, epoch: int, created_by_device: str,
                                 wraps: Sequence[CaseKeyWrap], at: int) -> None:
        def add(db: Db) -> None:
            (current,) = db.execute("SELECT coalesce(max(epoch), 0) FROM case_key_epochs WHERE case_id = ?",
                                    (case_id,)).fetchone()
            if epoch != current + 1:
                raise Conflict(f"case key epoch must be {current + 1}", code="epoch_exists")
            db.execute("INSERT INTO case_key_epochs (case_id, epoch, created_by_device, created_at)"
                       " VALUES (?, ?, ?, ?)", (case_id, epoch, created_by_device, at))
            db.executemany(self._WRAP_INSERT, [self._wrap_row(w) for w in wraps])

        await self.engine.transaction(add)
        if self._caching:
            self._case_epoch[case_id] = max(epoch, self._case_epoch.get(case_id, 0))

    async def add_case_key_wraps(self, wraps: Sequence[CaseKeyWrap]) -> None:
        await self._write([(self._WRAP_INSERT, self._wrap_row(w)) for w in wraps])

    async def case_key_wraps(self, case_id: str, recipients: Sequence[str] | None = None) -> list[CaseKeyWrap]:
        cols = "case_id, epoch, recipient, enc, ct, wrapped_by_device, signature, created_at"
        if recipients is None:
            rows = await self._all(f"SELECT {cols} FROM case_key_wraps WHERE case_id = ? ORDER BY epoch, recipient",
                                   (case_id,))
        else:
            marks = ",".join("?" * len(recipients)) or "NULL"
            rows = await self._all(f"SELECT {cols} FROM case_key_wraps WHERE case_id = ? AND recipient IN ({marks})"
                                   " ORDER BY epoch, recipient", (case_id, *recipients))
        return [CaseKeyWrap(*r) for r in rows]

    async def case_key_overview(self, unit_id: str) -> list[CaseKeyState]:
        # Three reads, each consistent in itself; a commit between them can only make a task appear one
        # call early or late, and the writes that tasks lead to refuse duplicates (epoch_exists).
        cases = await self._all(
            f"SELECT {self._CASE_COLS}, (SELECT coalesce(max(epoch), 0) FROM case_key_epochs e"
            " WHERE e.case_id = cases.id) FROM cases WHERE unit_id = ? ORDER BY created_at, id", (unit_id,))
        holders = await self._all(
            "SELECT w.case_id, w.recipient FROM case_key_wraps w JOIN cases c ON c.id = w.case_id"
            " WHERE c.unit_id = ? AND w.epoch = (SELECT max(epoch) FROM case_key_epochs e WHERE e.case_id = w.case_id)",
            (unit_id,))
        devices = await self._all(
            f"SELECT {self._DEVICE_COLS} FROM devices WHERE user_id IN (SELECT citizen_id FROM cases"
            " WHERE unit_id = ?) ORDER BY created_at", (unit_id,))
        held: dict[str, set[str]] = {}
        for case_id, recipient in holders:
            held.setdefault(case_id, set()).add(recipient)
        of_citizen: dict[str, list[Device]] = {}
        for row in devices:
            of_citizen.setdefault(row[1], []).append(Device(*row))
        out = []
        for *case_cols, epoch in cases:
            case = Case(*case_cols)
            # Epochs only grow: never report one older than a commit this process has already seen.
            epoch = max(int(epoch), self._case_epoch.get(case.id, 0))
            out.append(CaseKeyState(case, epoch, frozenset(held.get(case.id, ())),
                                    tuple(of_citizen.get(case.citizen_id, ()))))
        return out
