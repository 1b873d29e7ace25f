"""chat/messaging/feeds.py: a case's messages reach this node's connections once each and in seq order, whether
they were stored here, woken by another node (late, twice, out of order) or found by a catch-up. The messages
are read from the store by seq; the wake-up carries none."""
from __future__ import annotations

import asyncio
import json

from chat.messaging.feeds import Feeds
from chat.messaging.hub import Hub, Outbox, Subscriber
from chat.model import StoredMessage

from .conftest_unit import ANNA, BO, DANA

CASE = "eb-1"


class Messages:
    """The one thing Feeds reads: a case's messages after a seq (as Storage.messages_after)."""

    def __init__(self) -> None:
        self.rows: list[StoredMessage] = []
        self.reads = 0

    def store(self, seq: int, sender: str = "dana") -> StoredMessage:
        message = StoredMessage(CASE, seq, f"m{seq}", f"{sender}-dev", sender, b"env", 1_700_000_000_000 + seq)
        self.rows.append(message)
        return message

    async def messages_after(self, case_id: str, after_seq: int, limit: int) -> list[StoredMessage]:
        self.reads += 1
        await asyncio.sleep(0)
        return [m for m in self.rows if m.case_id == case_id and m.seq > after_seq][:limit]


def frame(message: StoredMessage) -> str:
    return json.dumps({"seq": message.seq})


async def seqs(outbox: Outbox) -> list[int]:
    for _ in range(20):
        await asyncio.sleep(0)
    if not len(outbox):
        return []
    taken = await outbox.take()
    return [json.loads(f)["seq"] for f in taken or []]


def setup() -> tuple[Feeds, Messages, Subscriber, Subscriber, list[tuple[int, int]]]:
    hub, messages = Hub(), Messages()
    delivered: list[tuple[int, int]] = []
    feeds = Feeds(hub, messages, frame, lambda case_id: _users(), lambda m, n: delivered.append((m.seq, n)))  # type: ignore[arg-type]
    anna, dana = Subscriber(ANNA, "anna-dev"), Subscriber(DANA, "dana-dev")
    hub.join(anna)
    hub.join(dana)
    return feeds, messages, anna, dana, delivered


async def _users() -> list[str]:
    return [DANA.id, ANNA.id]


async def test_wake_ups_late_twice_and_out_of_order_hand_over_each_message_once_in_order() -> None:
    feeds, messages, anna, _, _ = setup()
    messages.store(1)
    feeds.woken(CASE, 1, [ANNA.id])
    assert await seqs(anna.outbox) == [1]
    for seq in (2, 3, 4):
        messages.store(seq)
    feeds.woken(CASE, 4, [ANNA.id])  # 2 was announced on a wake-up this node never got, 3 comes late
    feeds.woken(CASE, 3, [ANNA.id])
    feeds.woken(CASE, 4, [ANNA.id])
    assert await seqs(anna.outbox) == [2, 3, 4]
    messages.store(5)
    feeds.woken(CASE, 5, [ANNA.id])
    feeds.woken(CASE, 2, [ANNA.id])
    assert await seqs(anna.outbox) == [5]


async def test_a_case_nobody_here_follows_is_not_read() -> None:
    feeds, messages, anna, _, _ = setup()
    messages.store(1)
    feeds.woken(CASE, 1, [BO.id])  # bo has no connection on this node
    assert await seqs(anna.outbox) == [] and messages.reads == 0


async def test_a_message_stored_here_during_a_read_is_not_echoed_to_its_sender() -> None:
    feeds, messages, anna, dana, _ = setup()
    messages.store(1, "bo")
    feeds.woken(CASE, 1, [DANA.id, ANNA.id])
    assert await seqs(anna.outbox) == [1] and await seqs(dana.outbox) == [1]
    messages.store(2, "bo")
    messages.store(3, "dana")
    sending = {(CASE, "m3"): dana}  # dana's message 3 is committed but its callback has not run yet
    feeds.origin_of = lambda case_id, msg_id: sending.get((case_id, msg_id))
    feeds.woken(CASE, 2, [DANA.id, ANNA.id])  # another node's wake-up: the read finds 2 and 3
    feeds.stored_here(messages.rows[2], [DANA.id, ANNA.id], dana)
    assert await seqs(anna.outbox) == [2, 3]
    assert await seqs(dana.outbox) == [2]


async def test_a_catch_up_hands_over_only_what_was_missed() -> None:
    feeds, messages, anna, dana, delivered = setup()
    feeds.stored_here(messages.store(1, "dana"), [DANA.id, ANNA.id], dana)
    assert await seqs(anna.outbox) == [1]
    messages.store(2)
    messages.store(3)  # stored on another node; both wake-ups lost
    assert feeds.missed(CASE, 1, 3) is True
    assert await seqs(anna.outbox) == [2, 3] and await seqs(dana.outbox) == [2, 3]
    assert feeds.missed(CASE, 1, 3) is False
    assert [seq for seq, _ in delivered] == [1, 2, 3]
