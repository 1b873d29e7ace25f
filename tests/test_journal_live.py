"""Drafts shared live, in memory (chat/journal/live.py): the newest snapshot per draft, one sharing connection
per draft, a bound on how many one connection shares, and ending only what is one's own."""
from __future__ import annotations

import pytest

from chat.errors import Conflict
from chat.journal.live import MAX_PER_CONNECTION, LiveDrafts, Shared
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


def test_shares_on_other_nodes_are_shown_beside_this_nodes_and_end_with_their_node():
    live, sub = LiveDrafts(), Subscriber(ANNA, "d1")
    told = []
    live.told = lambda case_id, entry_id, draft: told.append((entry_id, draft is not None))
    live.shared_elsewhere(Shared(CASE.id, "e2", "bo", "d2", "env-b", 2, CASE.citizen_id, "node-b"))
    live.shared_elsewhere(Shared(CASE.id, "e3", "bo", "d2", "env-c", 3, CASE.citizen_id, "node-c"))
    live.put(CASE, "e1", sub, "env-a")
    assert {d.entry_id for d in live.of_case(CASE.id)} == {"e1", "e2", "e3"}
    assert live.is_shared(CASE.id, "e2") and live.get(CASE.id, "e2") is None  # not this node's to end
    assert told == [("e1", True)]  # only this node's own shares are told to the others
    live.put(CASE, "e2", sub, "env-a2")  # shared from here now: the newest share is this one
    assert [d.env for d in live.of_case(CASE.id) if d.entry_id == "e2"] == ["env-a2"]
    assert [d.entry_id for d in live.node_shares("node-c", set())] == ["e3"]  # node c says it shares none now
    assert [d.entry_id for d in live.node_shares("node-b", None)] == []  # e2 is this node's share now
    live.end(CASE.id, "e1", sub)
    assert told[-1] == ("e1", False) and {d.entry_id for d in live.of_case(CASE.id)} == {"e2"}
