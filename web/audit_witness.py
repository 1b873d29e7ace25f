"""The server's side of the audit witness (chat/audit/witness.py): publishes the audit log's head, signed, into
SAMTAL_AUDIT_WITNESS_DIR at start, every SAMTAL_AUDIT_WITNESS_SECONDS while it grows, and at shutdown."""
from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path

from chat.audit.witness import Witness, WitnessError
from chat.model import now_ms
from chat.storage import Storage
from web.config import Settings
from web.keyfiles import server_secret

log = logging.getLogger("samtal.audit")
WITNESS_KEY_FILE = "audit-witness.key"
PAGE = 5000


class WitnessPublisher:
    def __init__(self, settings: Settings, store: Storage) -> None:
        self.store = store
        self.every = settings.audit_witness_seconds
        self.witness = Witness(Path(settings.audit_witness_dir),
                               bytes.fromhex(server_secret(settings.data_dir, WITNESS_KEY_FILE).decode())[:32])
        self.published = 0
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        try:
            newest = await asyncio.to_thread(self.witness.newest)
        except WitnessError as error:
            log.error("audit witness unreadable", extra={"error": str(error)})
            newest = None
        self.published = newest.id if newest else 0
        await self.publish()
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.publish()

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.every)
            try:
                await self.publish()
            except Exception:  # noqa: BLE001 (a full disk must not stop the server; it is logged)
                log.exception("audit head not published")

    async def publish(self) -> None:
        """Publish the head if the log grew since the last head; never a head below one published (a log
        that is shorter than its published head was cut: said in the service log, left for `audit verify`)."""
        head_id, head_hash = self.published, None
        while True:
            rows = await self.store.audit_rows(after_id=head_id, limit=PAGE)
            if rows:
                head_id, head_hash = rows[-1].id, rows[-1].hash
            if len(rows) < PAGE:
                break
        if head_hash is None:
            return
        await asyncio.to_thread(self.witness.publish, head_id, head_hash, now_ms())
        self.published = head_id
        log.info("audit head published", extra={"audit_id": head_id, "audit_hash": head_hash.hex()})
