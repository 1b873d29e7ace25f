"""Scheduled work done once per item across server processes (#12): every node runs the same sweeps (booking
reminders, notification mails, urgent exchange alerts), and each item found due is claimed in the database
before its work (chat/storage/schedule.py). A claim that is finished is never done again; one left unfinished
by a node that died is taken over once its lease has passed; one whose work failed (the mail server refused)
is given up, for the next round. The one gap left is the moment between a mail server's accepting a mail and
the commit that finishes its claim: a node killed exactly there has its mail sent again after the lease."""
from __future__ import annotations

import logging
import os
import secrets
import socket
from collections.abc import Awaitable, Callable

from chat.model import now_ms
from chat.storage.schedule import ScheduleStore

log = logging.getLogger("samtal.scheduled")

DEFAULT_LEASE_SECONDS = 300  # longer than any one item's work (a mail: the SMTP timeout is 30 s)


class Claims:
    def __init__(self, store: ScheduleStore, lease_seconds: int = DEFAULT_LEASE_SECONDS) -> None:
        self.store = store
        self.lease_ms = lease_seconds * 1000
        # This process, as the claims name it: unique even for two processes of one host and pid namespace.
        self.node = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"

    async def once(self, kind: str, item: str, work: Callable[[], Awaitable[bool]]) -> bool:
        """Run `work` for the item unless another node has it or it is done; `work` says whether the item is
        done (False: try again at a later round). True when this call did it."""
        if not await self.store.claim(kind, item, self.node, now_ms(), self.lease_ms):
            return False
        try:
            done = await work()
        except BaseException:
            await self.store.release(kind, item, self.node)
            raise
        if done:
            await self.store.finish(kind, item, now_ms())
        else:
            await self.store.release(kind, item, self.node)
        return done
