"""Drafts shared live, in memory (chat/journal/live.py): the newest snapshot per draft, one sharing connection
per draft, a bound on how many one connection shares, and ending only what is one's own."""
from __future__ import annotations

import pytest

from chat.errors import Conflict
from chat.journal.live import MAX_PER_CONNECTION, LiveDrafts
from chat.messaging.hub import Subscriber

from .conftest_unit import ANNA, make_case

CASE = make_case("dana-open")


def test_the_newest_snapshot_is_kept_and_counted():
    live, sub = LiveDrafts(), Subscriber(ANNA, "d1")
    draft, replaced = live.put(CASE, "e1", sub, "env1")
    assert (draft.snapshots, replaced) == (1, None)
    draft, _ = live.put(CASE, "e1", sub, "env2")
    assert (draft.env, draft.snapshots, draft.by) == ("env2", 2, ANNA.id)
    assert [d.entry_id for d in live.of_case(CASE.id)] == ["e1"]


def test_another_page_of_the_same_person_takes_the_share_over():
    live, first, second = LiveDrafts(), Subscriber(ANNA, "d1"), Subscriber(ANNA, "d2")
    old, _ = live.put(CASE, "e1", first, "a")
    new, replaced = live.put(CASE, "e1", second, "b")
    assert replaced is old and new.sub is second and new.snapshots == 1
    assert live.end(CASE.id, "e1", first) is None  # the old page's disconnect ends nothing now
    assert live.of_connection(first) == [] and live.get(CASE.id, "e1") is new
    assert live.end(CASE.id, "e1") is new and live.of_case(CASE.id) == []


def test_one_connection_shares_a_bounded_number_of_drafts():
    live, sub = LiveDrafts(), Subscriber(ANNA, "d1")
    for n in range(MAX_PER_CONNECTION):
        live.put(CASE, f"e{n}", sub, "x")
    with pytest.raises(Conflict) as refused:
        live.put(CASE, "one-more", sub, "x")
    assert refused.value.code == "too_many_live_drafts"
    live.put(CASE, "e0", sub, "y")  # a new snapshot of a draft it shares is fine
    assert len(live.of_connection(sub)) == MAX_PER_CONNECTION
