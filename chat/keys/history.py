"""History links between key epochs (docs/protocol.md section 17): the server files them, checks that the
device that submits one signed it, and says which epochs still lack the link to the epoch before, so that a
key holder can add it. It cannot open a link: it holds no key."""
from __future__ import annotations

from collections.abc import Sequence

from chat.errors import BadSignature, Forbidden, InvalidInput
from chat.model import Case, User, now_ms
from chat.policy import Action, decide
from chat.records import session_device
from chat.storage import Storage
from chat.storage.key_history import HistoryLink, KeyHistoryStore
from crypto.history import link_len, verify_history
from crypto.keys import DevicePublicKeys


class KeyHistory:
    """Files history links for the unit's key holders and tells them which are missing."""

    def __init__(self, store: Storage, links: KeyHistoryStore) -> None:
        self.store = store
        self.links = links

    async def _check(self, user: User, device_id: str, kind: str, target_id: str, unit_id: str, current: int,
                     items: Sequence[tuple[int, int, bytes, bytes]]) -> list[HistoryLink]:
        device = await session_device(self.store, user, device_id)
        signer = DevicePublicKeys(device.sign_pub, device.kem_pub)
        out = []
        for epoch, sealed_epoch, link, signature in items:
            if not 1 <= sealed_epoch < epoch <= current:
                raise InvalidInput("a history link seals an older existing epoch with a newer one",
                                   code="invalid_field")
            if len(link) != link_len(kind):
                raise InvalidInput(f"a {kind} history link is {link_len(kind)} bytes", code="invalid_field")
            if not verify_history(signer, signature, kind, target_id, epoch, sealed_epoch, link):
                raise BadSignature("a history link's signature does not verify", code="bad_signature")
            out.append(HistoryLink(kind, target_id, unit_id, epoch, sealed_epoch, link, device_id, signature,
                                   now_ms()))
        return out

    async def add_unit_links(self, user: User, device_id: str, unit_id: str,
                             items: Sequence[tuple[int, int, bytes, bytes]]) -> None:
        decision = decide(user, Action.UNIT_KEYS_CREATE, unit_id=unit_id)
        if not decision:
            raise Forbidden(decision.reason, code="forbidden")
        epochs = await self.store.unit_key_epochs(unit_id)
        current = epochs[-1].epoch if epochs else 0
        await self.links.add(await self._check(user, device_id, "unit", unit_id, unit_id, current, items))

    async def add_case_links(self, user: User, device_id: str, case: Case,
                             items: Sequence[tuple[int, int, bytes, bytes]]) -> None:
        decision = decide(user, Action.CASE_KEYS_WRITE, case=case)
        if not decision:
            raise Forbidden(decision.reason, code="forbidden")
        current = await self.store.current_case_epoch(case.id)
        await self.links.add(await self._check(user, device_id, "case", case.id, case.unit_id, current, items))

    async def missing(self, unit_id: str, unit_epoch: int) -> tuple[list[int], list[tuple[str, int]]]:
        """The unit key epochs, and the (case, epoch) pairs of the unit's cases, that do not yet seal the epoch
        before them: epochs made before links existed, or whose maker went away before adding the link."""
        linked_units = (await self.links.linked_epochs(unit_id, "unit")).get(unit_id, set())
        unit_missing = [e for e in range(2, unit_epoch + 1) if e not in linked_units]
        linked_cases = await self.links.linked_epochs(unit_id, "case")
        case_missing = [(state.case.id, e) for state in await self.store.case_key_overview(unit_id)
                        for e in range(2, state.epoch + 1) if e not in linked_cases.get(state.case.id, set())]
        return unit_missing, case_missing
