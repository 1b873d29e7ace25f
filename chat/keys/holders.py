"""Who holds a unit's identity key (docs/protocol.md §18, Holders): the seed, sealed to each supervisor's device
that holds it and signed by the identity key itself, kept by the server as ciphertext. A holder seals it to a
second supervisor's certified device (after comparing safety numbers), and to its own device when it makes the
identity or rotates it; a device takes only its own seal. The server checks the identity's signature so that it
never stores a seal clients would refuse, and a device checks it again before opening it."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from chat.errors import BadSignature, Conflict, Forbidden, InvalidInput
from chat.model import Role, User, now_ms
from chat.policy import Action, decide
from chat.records import session_device
from chat.storage.key_log import IdentitySeal
from crypto.identityseal import verify_identity_seal
from crypto.wrap import WrappedKey

if TYPE_CHECKING:
    from chat.keys.transparency import UnitIdentities
    from chat.storage import Storage

HOLDER_ROLES = (Role.SUPERVISOR, Role.UNIT_ADMIN)


@dataclass(frozen=True)
class Holders:
    """The unit's current identity key, the devices that hold it (their seals), and this device's own seal."""

    identity_key: bytes | None
    seals: list[IdentitySeal]
    mine: IdentitySeal | None


class IdentityHolders:
    def __init__(self, store: Storage, identities: UnitIdentities) -> None:
        self.store = store
        self.identities = identities

    async def _own_device(self, user: User, device_id: str, unit_id: str) -> None:
        decision = decide(user, Action.UNIT_IDENTITY, unit_id=unit_id)
        if not decision:
            raise Forbidden(decision.reason, code="forbidden")
        await session_device(self.store, user, device_id)

    async def holders(self, user: User, device_id: str, unit_id: str) -> Holders:
        await self._own_device(user, device_id, unit_id)
        trust = await self.identities.trust(unit_id)
        if trust is None:
            return Holders(None, [], None)
        seals = []
        for seal in await self.store.key_log.identity_seals(unit_id, trust.current_key):
            device = await self.store.get_device(seal.device_id)
            if device is not None and device.active and trust.device(seal.device_id) is not None:
                seals.append(seal)  # a revoked device holds nothing the unit still counts on
        return Holders(trust.current_key, seals, next((s for s in seals if s.device_id == device_id), None))

    async def seal(self, user: User, device_id: str, unit_id: str, recipient: str, wrapped: WrappedKey,
                   signature: bytes) -> IdentitySeal:
        """File the identity seed sealed to `recipient`: a certified, active device of a supervisor of the unit."""
        await self._own_device(user, device_id, unit_id)
        trust = await self.identities.trust(unit_id)
        if trust is None:
            raise Conflict("the unit has no identity yet", code="no_identity")
        target = await self.store.get_device(recipient)
        owner = await self.store.get_user(target.user_id) if target else None
        if (target is None or owner is None or not target.active or owner.unit_id != unit_id
                or owner.role not in HOLDER_ROLES):
            raise InvalidInput("the identity key is given only to an active device of a supervisor of the unit",
                               code="invalid_field")
        if trust.device(recipient) is None:
            raise InvalidInput("the device is not certified by the unit's identity: certify it first",
                               code="not_certified")
        if not verify_identity_seal(trust.current_key, unit_id, recipient, wrapped, signature):
            raise BadSignature("the seal is not signed by the unit's current identity key", code="bad_signature")
        seal = IdentitySeal(unit_id, trust.current_key, recipient, wrapped.enc, wrapped.ct, signature, device_id,
                            now_ms())
        await self.store.key_log.put_identity_seal(seal)
        return seal
