"""Key distribution without key custody: the server files public keys and wrapped keys, and checks
that every wrap record is signed by the device that submits it. It never holds a private key.

Unit key epochs are wrapped to approved staff devices (approval = a holder wraps the key to the new
device); case key epochs are wrapped to the citizen's devices and to the unit key. See docs/protocol.md."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from chat.errors import BadSignature, Conflict, Forbidden, InvalidInput, NotFound
from chat.keys.binding import checked_binding
from chat.keys.history import KeyHistory
from chat.model import (
    Case,
    CaseKeyWrap,
    Device,
    Mandate,
    Role,
    UnitKeyEpoch,
    UnitKeyGrant,
    User,
    now_ms,
)
from chat.policy import Action, decide
from chat.storage import Storage
from chat.storage.key_history import KeyHistoryStore
from crypto.keys import DevicePublicKeys, verify_registration_proof
from crypto.wrap import WrappedKey, verify_unit_epoch, verify_wrap

MAX_LABEL = 80


def unit_recipient(unit_epoch: int) -> str:
    """How a case key wrap names the unit key it is wrapped to."""
    return f"unit:{unit_epoch}"


@dataclass(frozen=True, slots=True)
class PendingKeyTasks:
    """What a key-holding staff device could do now: approve staff devices (supervisors), give case keys
    to citizens' new devices, create the first key of cases that have none, and rotate keys that a revoked
    device held (a new unit key epoch when staff leave, then new case keys wrapped to it).

    Rotation is derived, not stored: the unit needs a new epoch while a revoked device holds its current
    one, and a case needs a new key while a revoked device holds its current one or it is not wrapped to
    the unit's current epoch."""

    unit_epoch: int
    staff_devices_awaiting_grant: list[Device]
    citizen_devices_missing_case_key: list[tuple[Case, int, Device]]  # (case, case epoch, device)
    cases_without_key: list[Case]
    unit_key_rotation_needed: bool
    approved_staff_devices: list[Device]  # active and holding the current unit epoch (supervisors only)
    cases_needing_new_key: list[Case]
    # The devices of representatives with a mandate in force (chat/cases/mandates.py) that lack the case key.
    representative_devices_missing_case_key: list[tuple[Case, int, Device]] = field(default_factory=list)


class KeyService:
    def __init__(self, store: Storage, on_keys_pending: Callable[[str], object],
                 on_keys_updated: Callable[[str], object], history: KeyHistoryStore | None = None) -> None:
        self.store = store
        # The links between key epochs (docs/protocol.md section 17), filed beside the keys.
        self.history = KeyHistory(store, history) if history is not None else None
        self._pending = on_keys_pending  # unit id: its key holders have something to do
        self._updated = on_keys_updated  # user id: new keys are there for one of their devices

    # -- devices ---------------------------------------------------------------------------------
    async def register_device(self, user: User, keys: DevicePublicKeys, label: str, proof: bytes,
                              binding: dict[str, Any] | None = None) -> Device:
        label = label.strip()[:MAX_LABEL] or "device"
        if not verify_registration_proof(keys, user.id, proof):
            raise BadSignature("the registration proof does not verify", code="bad_signature")
        existing = await self.store.get_device(keys.device_id)
        if existing is not None:
            if existing.user_id == user.id and existing.active:
                if binding is not None and existing.binding is None:  # a retry that now brings its binding
                    return await self.bind_device(user, existing.id, binding)
                return existing  # the same device registering again (a retry)
            raise Conflict("this device is already registered", code="device_exists")
        filed = await checked_binding(self.store, user, keys, binding) if binding is not None else None
        device = Device(keys.device_id, user.id, keys.sign_pub, keys.kem_pub, label, now_ms(), proof=proof,
                        binding=filed)
        await self.store.add_device(device)
        for unit_id in await self._units_of(user):
            self._pending(unit_id)
        return device

    async def bind_device(self, user: User, device_id: str, binding: dict[str, Any]) -> Device:
        """File what proves that one of the person's devices is theirs (§21): a link from another of their
        devices, or the ID token of a sign-in that carried its key. A device keeps its first binding."""
        device = await self.own_device(user, device_id)
        if device.binding is not None:
            raise Conflict("this device is proven already", code="device_bound")
        filed = await checked_binding(self.store, user, DevicePublicKeys(device.sign_pub, device.kem_pub), binding)
        if not await self.store.bind_device(device_id, filed):
            raise Conflict("this device is proven already", code="device_bound")
        for unit_id in await self._units_of(user):
            self._pending(unit_id)  # the key work can now give it the case keys
        return await self.store.get_device(device_id) or device

    async def _units_of(self, user: User) -> set[str]:
        if user.is_staff:
            return {user.unit_id} if user.unit_id else set()
        units = {case.unit_id for case in await self.store.cases_of_citizen(user.id)}
        at = now_ms()  # and the units of the cases they act in for someone else (their devices get those keys)
        for mandate in user.mandates:
            case = await self.store.get_case(mandate.case_id) if mandate.holder == user.id and mandate.in_force(at) \
                else None
            units |= {case.unit_id} if case is not None else set()
        return units

    async def own_device(self, user: User, device_id: str) -> Device:
        device = await self.store.get_device(device_id)
        if device is None or device.user_id != user.id:
            raise Forbidden("this session does not own that device", code="device_not_owned")
        if not device.active:
            raise Forbidden("that device is revoked", code="device_revoked")
        return device

    async def revoke_device(self, user: User, device_id: str) -> None:
        """Revoke one of the user's devices; the keys it held are then due for rotation (pending tasks)."""
        await self.own_device(user, device_id)
        await self.store.revoke_device(device_id, now_ms())
        for unit_id in await self._units_of(user):
            self._pending(unit_id)

    async def _active_staff_device(self, unit_id: str, device_id: str) -> Device:
        device = await self.store.get_device(device_id)
        owner = await self.store.get_user(device.user_id) if device else None
        if device is None or owner is None or not device.active or not owner.is_staff or owner.unit_id != unit_id:
            raise InvalidInput("a grant names a device that is not an active staff device of the unit",
                               code="invalid_field")
        return device

    # -- unit keys -------------------------------------------------------------------------------
    def _require(self, user: User, action: Action, *, case: Case | None = None, unit_id: str | None = None) -> None:
        decision = decide(user, action, case=case, unit_id=unit_id)
        if not decision:
            raise Forbidden(decision.reason, code="forbidden")

    async def unit_keys(self, user: User, device_id: str, unit_id: str) -> tuple[list[UnitKeyEpoch], list[UnitKeyGrant]]:
        self._require(user, Action.UNIT_KEYS_READ, unit_id=unit_id)
        await self.own_device(user, device_id)
        return await self.store.unit_key_epochs(unit_id), await self.store.unit_key_grants_for_device(unit_id, device_id)

    async def _check_unit_grants(self, signer: Device, unit_id: str, epoch: int,
                                 grants: Sequence[tuple[str, WrappedKey, bytes]]) -> list[UnitKeyGrant]:
        signer_keys = DevicePublicKeys(signer.sign_pub, signer.kem_pub)
        out = []
        for recipient, wrapped, signature in grants:
            await self._active_staff_device(unit_id, recipient)
            if not verify_wrap(signer_keys, signature, "unit", unit_id, epoch, recipient, wrapped):
                raise BadSignature("a unit key grant's signature does not verify", code="bad_signature")
            out.append(UnitKeyGrant(unit_id, epoch, recipient, wrapped.enc, wrapped.ct, signer.id, signature,
                                    now_ms()))
        return out

    async def create_unit_epoch(self, user: User, device_id: str, unit_id: str, epoch: int, public_key: bytes,
                                signature: bytes, grants: Sequence[tuple[str, WrappedKey, bytes]]) -> UnitKeyEpoch:
        self._require(user, Action.UNIT_KEYS_CREATE, unit_id=unit_id)
        device = await self.own_device(user, device_id)
        if not verify_unit_epoch(DevicePublicKeys(device.sign_pub, device.kem_pub), signature, unit_id, epoch,
                                 public_key):
            raise BadSignature("the unit key epoch's signature does not verify", code="bad_signature")
        if device_id not in {recipient for recipient, _, _ in grants}:
            raise InvalidInput("a new unit key must be granted to the device that creates it", code="invalid_field")
        record = UnitKeyEpoch(unit_id, epoch, public_key, device_id, signature, now_ms())
        await self.store.add_unit_key_epoch(record, await self._check_unit_grants(device, unit_id, epoch, grants))
        self._pending(unit_id)  # cases may now get keys, other staff devices may now be approved
        return record

    async def add_unit_grants(self, user: User, device_id: str, unit_id: str, epoch: int,
                              grants: Sequence[tuple[str, WrappedKey, bytes]]) -> None:
        self._require(user, Action.UNIT_DEVICE_APPROVE, unit_id=unit_id)
        device = await self.own_device(user, device_id)
        if not await self._holds_unit_epoch(unit_id, epoch, device_id):
            raise Forbidden("only a device that holds the unit key can grant it", code="forbidden")
        records = await self._check_unit_grants(device, unit_id, epoch, grants)
        await self.store.add_unit_key_grants(records)
        for record in records:
            recipient = await self.store.get_device(record.device_id)
            if recipient is not None:
                self._updated(recipient.user_id)

    async def approved_devices_by_owner(self, user: User, unit_id: str) -> dict[str, int]:
        """user id -> how many of their active devices hold the unit's current key (are approved). Counts
        only, for any staff member of the unit: a device waiting for approval names who could approve it,
        and a supervisor's new device is told when no approved device is left."""
        self._require(user, Action.UNIT_STAFF_READ, unit_id=unit_id)
        epoch = await self._current_unit_epoch(unit_id)
        counts: dict[str, int] = {}
        for grant in await self.store.unit_key_grants(unit_id, epoch) if epoch else []:
            device = await self.store.get_device(grant.device_id)
            if device is not None and device.active:
                counts[device.user_id] = counts.get(device.user_id, 0) + 1
        return counts

    async def _holds_unit_epoch(self, unit_id: str, epoch: int, device_id: str) -> bool:
        return any(g.epoch == epoch for g in await self.store.unit_key_grants_for_device(unit_id, device_id))

    async def _current_unit_epoch(self, unit_id: str) -> int:
        epochs = await self.store.unit_key_epochs(unit_id)
        return epochs[-1].epoch if epochs else 0

    # -- case keys -------------------------------------------------------------------------------
    async def case_keys(self, user: User, device_id: str, case: Case) -> tuple[int, list[CaseKeyWrap]]:
        """The case's current epoch and the wraps this device can open: its own, and (staff) the unit's."""
        self._require(user, Action.CASE_KEYS_READ, case=case)
        await self.own_device(user, device_id)
        recipients = [device_id]
        if user.is_staff:
            recipients += [unit_recipient(e.epoch) for e in await self.store.unit_key_epochs(case.unit_id)]
        return await self.store.current_case_epoch(case.id), await self.store.case_key_wraps(case.id, recipients)

    async def representative_devices(self, case: Case, mandates: Sequence[Mandate] | None = None) -> list[Device]:
        """The active devices of the people who act for the case's citizen now: the case key is theirs too."""
        at = now_ms()
        mandates = await self.store.mandates.of_case(case.id) if mandates is None else mandates
        holders = sorted({m.holder for m in mandates if m.case_id == case.id and m.in_force(at)})
        return [d for holder in holders for d in await self.store.devices_of_user(holder) if d.active]

    async def _check_case_wraps(self, signer: Device, case: Case, epoch: int,
                                wraps: Sequence[tuple[str, WrappedKey, bytes]]) -> list[CaseKeyWrap]:
        signer_keys = DevicePublicKeys(signer.sign_pub, signer.kem_pub)
        citizen_devices = {d.id for d in await self.store.devices_of_user(case.citizen_id) if d.active}
        citizen_devices |= {d.id for d in await self.representative_devices(case)}
        unit_epochs = {unit_recipient(e.epoch) for e in await self.store.unit_key_epochs(case.unit_id)}
        out = []
        for recipient, wrapped, signature in wraps:
            if recipient not in citizen_devices and recipient not in unit_epochs:
                raise InvalidInput("a case key may be wrapped only to the citizen's devices, their representatives'"
                                   " or the unit key", code="invalid_field")
            if not verify_wrap(signer_keys, signature, "case", case.id, epoch, recipient, wrapped):
                raise BadSignature("a case key wrap's signature does not verify", code="bad_signature")
            out.append(CaseKeyWrap(case.id, epoch, recipient, wrapped.enc, wrapped.ct, signer.id, signature,
                                   now_ms()))
        return out

    async def create_case_epoch(self, user: User, device_id: str, case: Case, epoch: int,
                                wraps: Sequence[tuple[str, WrappedKey, bytes]]) -> None:
        self._require(user, Action.CASE_KEYS_WRITE, case=case)
        device = await self.own_device(user, device_id)
        unit_epoch = await self._current_unit_epoch(case.unit_id)
        if unit_recipient(unit_epoch) not in {recipient for recipient, _, _ in wraps}:
            raise InvalidInput("a new case key must be wrapped to the unit's current key", code="invalid_field")
        records = await self._check_case_wraps(device, case, epoch, wraps)
        await self.store.add_case_key_epoch(case.id, epoch, device_id, records, now_ms())
        await self._tell_recipients(case, records)

    async def add_case_wraps(self, user: User, device_id: str, case: Case, epoch: int,
                             wraps: Sequence[tuple[str, WrappedKey, bytes]]) -> None:
        self._require(user, Action.CASE_KEYS_WRITE, case=case)
        device = await self.own_device(user, device_id)
        if not 1 <= epoch <= await self.store.current_case_epoch(case.id):
            raise NotFound("no such case key epoch", code="unknown_epoch")
        records = await self._check_case_wraps(device, case, epoch, wraps)
        await self.store.add_case_key_wraps(records)
        await self._tell_recipients(case, records)

    async def _tell_recipients(self, case: Case, records: Sequence[CaseKeyWrap]) -> None:
        """The citizen, and each representative a wrap went to, hears that new keys are there."""
        owners = {case.citizen_id}
        for record in records:
            if not record.recipient.startswith("unit:"):
                device = await self.store.get_device(record.recipient)
                owners |= {device.user_id} if device is not None else set()
        for owner in sorted(owners):
            self._updated(owner)

    # -- what a key holder should do -------------------------------------------------------------
    async def pending_tasks(self, user: User, device_id: str) -> PendingKeyTasks:
        if not user.is_staff or user.unit_id is None:
            raise Forbidden("only staff devices hold the unit key", code="forbidden")
        unit_id = user.unit_id
        self._require(user, Action.UNIT_KEYS_READ, unit_id=unit_id)
        await self.own_device(user, device_id)
        unit_epoch = await self._current_unit_epoch(unit_id)
        awaiting: list[Device] = []
        approved: list[Device] = []
        granted = {g.device_id for g in await self.store.unit_key_grants(unit_id, unit_epoch)} if unit_epoch else set()
        rotate_unit = False
        for device_id in granted:
            device = await self.store.get_device(device_id)
            rotate_unit = rotate_unit or device is None or not device.active
        if unit_epoch and user.role in (Role.SUPERVISOR, Role.UNIT_ADMIN):
            for staff in await self.store.staff_of_unit(unit_id):
                for d in await self.store.devices_of_user(staff.id):
                    if d.active:
                        (approved if d.id in granted else awaiting).append(d)
        missing: list[tuple[Case, int, Device]] = []
        represented: list[tuple[Case, int, Device]] = []
        without: list[Case] = []
        stale: list[Case] = []
        mandates = await self.store.mandates.of_unit(unit_id)
        for state in await self.store.case_key_overview(unit_id):
            case, epoch = state.case, state.epoch
            if epoch == 0:
                without.append(case)
                continue
            revoked_holder = any(d.id in state.holders and not d.active for d in state.citizen_devices)
            representatives = await self.representative_devices(case, mandates)
            entitled = {d.id for d in (*state.citizen_devices, *representatives) if d.active}
            # A device that holds the current key and is no longer entitled to it: a representative's whose
            # mandate is over (ended, or its period passed), or one they revoked. Its key must go.
            former = any(r not in entitled and not r.startswith("unit:") for r in state.holders)
            if revoked_holder or former or unit_recipient(unit_epoch) not in state.holders:
                stale.append(case)  # a new key is due; new devices get that one
                continue
            missing += [(case, epoch, d) for d in state.citizen_devices if d.active and d.id not in state.holders]
            represented += [(case, epoch, d) for d in representatives if d.id not in state.holders]
        return PendingKeyTasks(unit_epoch, awaiting, missing, without, rotate_unit, approved, stale, represented)

