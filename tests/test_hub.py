"""The delivery hub: a connection's bounded Outbox (order, overflow, hold and release around a resume) and
the Hub's fan-out to the citizen, the assigned caseworker and the watchers of a case."""
from __future__ import annotations

import asyncio

import pytest

from chat.messaging.hub import FrameKey, Hub, Outbox, Subscriber
from chat.model import User

from .conftest_unit import ANNA, BO, CECILIA, DANA, ERIK, GRETA, OLLE, OTHER_UNIT, UNIT, make_case

A, B = "case-a", "case-b"


def msg(case_id: str, seq: int) -> tuple[FrameKey, str]:
    return (case_id, seq), f"{case_id}#{seq}"


def offer_all(outbox: Outbox, *frames: tuple[FrameKey, str]) -> None:
    for key, frame in frames:
        assert outbox.offer(frame, key)


async def take_now(outbox: Outbox) -> list[str] | None:
    """What take() returns without further offers; fails rather than waits when it would block."""
    return await asyncio.wait_for(outbox.take(), 1)


async def blocks(outbox: Outbox) -> bool:
    task = asyncio.create_task(outbox.take())
    for _ in range(5):
        await asyncio.sleep(0)
    blocked = not task.done()
    task.cancel()
    return blocked


# -- Outbox ----------------------------------------------------------------------------------------


async def test_take_returns_offered_frames_in_order() -> None:
    outbox = Outbox()
    offer_all(outbox, msg(A, 1), (None, "receipt"), msg(B, 1))
    assert await take_now(outbox) == ["case-a#1", "receipt", "case-b#1"]
    assert len(outbox) == 0


async def test_take_waits_for_the_next_frame() -> None:
    outbox = Outbox()
    waiting = asyncio.create_task(outbox.take())
    await asyncio.sleep(0)
    assert not waiting.done()
    outbox.offer("ping")
    assert await asyncio.wait_for(waiting, 1) == ["ping"]


async def test_overflow_at_the_limit_closes_the_outbox() -> None:
    outbox = Outbox(limit=3)
    assert all(outbox.offer(f"f{i}") for i in range(3))
    assert not outbox.overflowed
    assert outbox.offer("one too many") is False
    assert outbox.overflowed and outbox.closed and len(outbox) == 0
    assert outbox.offer("later") is False
    assert await take_now(outbox) is None


async def test_overflow_wakes_a_waiting_writer_with_none() -> None:
    outbox = Outbox(limit=1)
    waiting = asyncio.create_task(outbox.take())
    await asyncio.sleep(0)
    outbox.hold()  # frames now pile up unread, as behind a slow resume
    outbox.offer("f0")
    outbox.offer("f1")
    assert await asyncio.wait_for(waiting, 1) is None


async def test_a_closed_outbox_is_drained_then_returns_none() -> None:
    outbox = Outbox()
    outbox.offer("last words")
    outbox.close()
    assert outbox.offer("after close") is False
    assert await take_now(outbox) == ["last words"]
    assert await take_now(outbox) is None


async def test_held_frames_wait_for_release() -> None:
    outbox = Outbox()
    outbox.hold()
    offer_all(outbox, msg(A, 3))
    assert await blocks(outbox)
    outbox.release([], set())
    assert await take_now(outbox) == ["case-a#3"]


async def test_release_puts_the_replay_first_and_drops_live_frames_it_covers() -> None:
    outbox = Outbox()
    outbox.hold()
    offer_all(outbox, msg(A, 2), (None, "receipt"), msg(B, 7), msg(A, 3), msg(A, 4))
    outbox.release([msg(A, 1), msg(A, 2), msg(A, 3)], set())
    assert await take_now(outbox) == ["case-a#1", "case-a#2", "case-a#3", "receipt", "case-b#7", "case-a#4"]


async def test_live_frames_of_a_lagging_case_are_dropped_until_a_replay_covers_it() -> None:
    outbox = Outbox()
    outbox.hold()
    offer_all(outbox, msg(A, 9), msg(B, 2))
    outbox.release([msg(A, 1)], lagging={A})  # the replay of A was cut short at seq 1
    assert outbox.offer("case-a#10", (A, 10))  # accepted, but not queued
    offer_all(outbox, msg(B, 3))
    assert await take_now(outbox) == ["case-a#1", "case-b#2", "case-b#3"]

    outbox.hold()
    offer_all(outbox, msg(A, 11))
    outbox.release([msg(A, 2), msg(A, 3)], set())  # still lagging: 11 is dropped, it would skip 4..10
    assert await take_now(outbox) == ["case-a#2", "case-a#3"]

    outbox.hold()
    offer_all(outbox, msg(A, 12))
    outbox.release([msg(A, s) for s in range(4, 12)], set())
    offer_all(outbox, msg(A, 13))
    assert await take_now(outbox) == [f"case-a#{s}" for s in range(4, 14)]


async def test_a_live_frame_offered_after_release_that_the_replay_covered_is_dropped() -> None:
    # The fan-out of seq 2 can run after the resume read seq 2 from the database and released.
    outbox = Outbox()
    outbox.hold()
    outbox.release([msg(A, 1), msg(A, 2)], set())
    offer_all(outbox, msg(A, 2), msg(A, 3))
    assert await take_now(outbox) == ["case-a#1", "case-a#2", "case-a#3"]


# -- Hub -------------------------------------------------------------------------------------------

CASE = make_case(A, DANA, UNIT, assigned=ANNA)


class Online:
    """A hub with connections joined; `got(sub)` is what reached one connection."""

    def __init__(self) -> None:
        self.hub = Hub()

    def join(self, user: User, device: str = "laptop") -> Subscriber:
        sub = Subscriber(user, f"{user.id}-{device}")
        self.hub.join(sub)
        return sub

    @staticmethod
    def got(sub: Subscriber) -> list[str]:
        return [frame for _, frame in sub.outbox._frames]


@pytest.fixture
def online() -> Online:
    return Online()


def test_publish_case_reaches_citizen_assigned_caseworker_and_watchers_only(online: Online) -> None:
    dana_phone, dana_laptop = online.join(DANA, "phone"), online.join(DANA)
    anna, bo, cecilia = online.join(ANNA), online.join(BO), online.join(CECILIA)
    erik, olle = online.join(ERIK), online.join(OLLE)
    online.hub.watch(bo, CASE.id)
    assert online.hub.publish_case(CASE, "m1", (CASE.id, 1)) == 4
    assert [online.got(s) for s in (dana_phone, dana_laptop, anna, bo)] == [["m1"]] * 4
    # Cecilia may read the case, but is sent it live only while she has it open.
    assert [online.got(s) for s in (cecilia, erik, olle)] == [[], [], []]


def test_an_assigned_caseworker_who_also_watches_gets_each_frame_once(online: Online) -> None:
    anna = online.join(ANNA)
    online.hub.watch(anna, CASE.id)
    assert online.hub.publish_case(CASE, "m1") == 1
    assert online.got(anna) == ["m1"]


def test_publish_case_skips_only_the_excluded_connection(online: Online) -> None:
    sending, other_device = online.join(DANA, "phone"), online.join(DANA)
    anna = online.join(ANNA)
    assert online.hub.publish_case(CASE, "m1", exclude=sending) == 2
    assert (online.got(sending), online.got(other_device), online.got(anna)) == ([], ["m1"], ["m1"])


def test_unwatch_stops_live_delivery(online: Online) -> None:
    bo = online.join(BO)
    online.hub.watch(bo, CASE.id)
    online.hub.unwatch(bo, CASE.id)
    online.hub.unwatch(bo, "never-watched")
    assert online.hub.publish_case(CASE, "m1") == 0
    assert online.got(bo) == [] and bo.watching == set()


def test_leave_removes_a_connection_from_every_index(online: Online) -> None:
    anna, bo, dana = online.join(ANNA), online.join(BO), online.join(DANA)
    online.hub.watch(bo, CASE.id)
    online.hub.watch(bo, B)
    for sub in (anna, bo, dana):
        online.hub.leave(sub)
    assert bo.watching == set()
    assert online.hub.publish_case(CASE, "m1") == 0
    assert online.hub.publish_case(make_case(B, ERIK), "m2") == 0
    assert online.hub.publish_unit_staff(UNIT.id, "keys") == 0
    assert online.hub.publish_user(DANA.id, "keys") == 0
    assert [online.got(s) for s in (anna, bo, dana)] == [[], [], []]
    assert online.hub.connection_count() == 0
    assert not any(online.hub.is_online(u.id) for u in (ANNA, BO, DANA))


def test_leave_of_one_device_keeps_the_users_other_devices(online: Online) -> None:
    phone, laptop = online.join(DANA, "phone"), online.join(DANA)
    online.hub.leave(phone)
    assert online.hub.is_online(DANA.id) and online.hub.connection_count() == 1
    assert online.hub.publish_case(CASE, "m1") == 1 and online.got(laptop) == ["m1"]


def test_publish_unit_staff_reaches_only_staff_of_that_unit(online: Online) -> None:
    staff = [online.join(ANNA), online.join(BO), online.join(CECILIA)]
    others = [online.join(OLLE), online.join(DANA), online.join(GRETA)]  # Greta reviews logs: not staff
    assert online.hub.publish_unit_staff(UNIT.id, "keys pending") == 3
    assert [online.got(s) for s in staff] == [["keys pending"]] * 3
    assert [online.got(s) for s in others] == [[], [], []]
    assert online.hub.publish_unit_staff(OTHER_UNIT.id, "other") == 1 and online.got(others[0]) == ["other"]


def test_publish_user_reaches_every_device_of_that_user_only(online: Online) -> None:
    phone, laptop, erik = online.join(DANA, "phone"), online.join(DANA), online.join(ERIK)
    assert online.hub.publish_user(DANA.id, "keys updated") == 2
    assert (online.got(phone), online.got(laptop), online.got(erik)) == (["keys updated"], ["keys updated"], [])


def test_a_closed_outbox_is_not_counted_as_delivered(online: Online) -> None:
    dana, anna = online.join(DANA), online.join(ANNA)
    dana.outbox.close()
    assert online.hub.publish_case(CASE, "m1") == 1
    assert online.got(anna) == ["m1"]


def test_a_lagging_case_asked_about_again_with_nothing_left_to_replay_is_live_again():
    from chat.messaging.hub import Outbox
    outbox = Outbox(limit=50)
    outbox.hold()
    outbox.release([], {"c1"}, ["c1"])  # the replay of c1 was cut short
    assert outbox.offer("live-c1-9", ("c1", 9)) and len(outbox) == 0  # dropped: the client will ask again
    outbox.hold()
    outbox.release([], set(), ["c1"])  # it asked again; nothing was left (it had fetched history itself)
    outbox.offer("live-c1-10", ("c1", 10))
    assert len(outbox) == 1


async def test_a_reader_waiting_for_room_resumes_when_the_writer_drains():
    import asyncio

    from chat.messaging.hub import Outbox
    outbox = Outbox(limit=10)
    for i in range(8):
        outbox.offer(f"ack {i}")
    waiter = asyncio.create_task(outbox.room())
    await asyncio.sleep(0.01)
    assert not waiter.done()  # more than half full: the client's next frame waits
    assert len(await outbox.take()) == 8
    await asyncio.wait_for(waiter, 1)
