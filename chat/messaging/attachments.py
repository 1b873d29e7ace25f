"""The sweep of case attachments no message uses (issue #15): a client uploads an attachment, then sends the
message that names it; when that message is never sent (the page closed, the sender changed their mind), the
attachment would be kept for ever and count against its uploader's quota. The sender names its message's
attachments beside the envelope (docs/protocol.md §14.2 `send`), storage binds them to the message as it is
stored, and what is still unbound `max_age_seconds` after its upload is removed here.

Removing is the same on every node and harmless twice, so each node may sweep; no lease is needed."""
from __future__ import annotations

import logging

from chat import automation
from chat.model import now_ms
from chat.periodic import Rounds
from chat.storage import Storage

log = logging.getLogger("samtal.attachments")

LONGEST_PAUSE_SECONDS = 3600  # a look every hour: an orphan is removed at most an hour after its time


class AttachmentSweep:
    def __init__(self, store: Storage, max_age_seconds: int) -> None:
        self.store = store
        self.max_age_seconds = max_age_seconds
        self._rounds = Rounds("attachment-sweep", self.pause_seconds, self.sweep_once, log, "attachment sweep failed")

    @property
    def pause_seconds(self) -> float:
        return float(min(LONGEST_PAUSE_SECONDS, max(1, self.max_age_seconds // 2)))

    async def sweep_once(self) -> int:
        removed = await self.store.remove_unbound_blobs(now_ms() - self.max_age_seconds * 1000)
        if removed:
            log.info("attachments no message used were removed", extra={"count": removed})
            await automation.record(self.store, "attachment_sweep", count=removed)
        return removed

    def start(self) -> None:
        self._rounds.start()

    async def stop(self) -> None:
        await self._rounds.stop()
