"""Attachments staged before their record (chat/storage/sql/staged_blobs.py): a person may stage a bounded number per
owner, a record attaches only its author's own staged ones of that owner (or nothing is stored), and what no
record named within a day is swept away."""
from __future__ import annotations

import sqlite3

import pytest

from chat.errors import Conflict, InvalidInput
from chat.storage.sql.staged_blobs import UNATTACHED_BLOB_MS, StagedBlobs

BLOBS = StagedBlobs("blobs", "owner_id", 2, "one test")


@pytest.fixture
def db() -> sqlite3.Connection:
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE blobs (id TEXT PRIMARY KEY, owner_id TEXT, uploaded_by TEXT, size INTEGER, data BLOB,"
               " created_at INTEGER, attached_at INTEGER)")
    return db


def test_staging_is_bounded_per_person_and_owner(db):
    BLOBS.add(db, "a", "o1", "dana", b"x", 0)
    BLOBS.add(db, "b", "o1", "dana", b"y", 0)
    with pytest.raises(InvalidInput) as refused:
        BLOBS.add(db, "c", "o1", "dana", b"z", 0)
    assert refused.value.code == "too_many_attachments"
    BLOBS.add(db, "c", "o2", "dana", b"z", 0)  # another owner
    # Another person cannot stage beside dana's waiting attachments of o1 (#15: an application id is its first
    # uploader's), and may once nothing of dana's waits for o1 any more.
    with pytest.raises(Conflict) as taken:
        BLOBS.add(db, "d", "o1", "erik", b"z", 0)
    assert taken.value.code == "staged_by_another"
    BLOBS.add(db, "d", "o3", "erik", b"z", 0)
    assert BLOBS.get(db, "o1", "a") == (b"x", "dana", False)
    assert BLOBS.get(db, "o2", "a") is None


def test_a_record_attaches_only_its_authors_staged_blobs_of_its_owner(db):
    BLOBS.add(db, "a", "o1", "dana", b"x", 0)
    BLOBS.add(db, "b", "o2", "dana", b"y", 0)
    for owner, author, blob in (("o1", "erik", "a"), ("o1", "dana", "b"), ("o1", "dana", "nope")):
        with pytest.raises(InvalidInput) as refused:
            BLOBS.attach(db, owner, author, [blob], 5)
        assert refused.value.code == "unknown_blob"
    BLOBS.attach(db, "o1", "dana", ["a"], 5)
    assert BLOBS.get(db, "o1", "a") == (b"x", "dana", True)
    with pytest.raises(InvalidInput):  # attached once
        BLOBS.attach(db, "o1", "dana", ["a"], 6)


def test_what_no_record_named_within_a_day_is_swept(db):
    BLOBS.add(db, "old", "o1", "dana", b"x", 0)
    BLOBS.add(db, "kept", "o1", "dana", b"y", 0)
    BLOBS.attach(db, "o1", "dana", ["kept"], 1)
    BLOBS.add(db, "new", "o1", "dana", b"z", UNATTACHED_BLOB_MS + 1)
    assert BLOBS.get(db, "o1", "old") is None
    assert BLOBS.get(db, "o1", "kept") is not None and BLOBS.get(db, "o1", "new") is not None
