"""Encrypted attachments have limits per person: so many uploads a minute and so many bytes kept in all, over
cases, applications and the journal; what waits for a record is its uploader's alone. Plain HTTP clients."""
from __future__ import annotations

import os
from typing import Any

import httpx

from .conftest import server_fixture
from .helpers import CASE_DANA, CASE_ERIK

QUOTA = 64 * 1024
server = server_fixture(SAMTAL_UPLOAD_RATE="6", SAMTAL_ATTACHMENT_QUOTA_BYTES=str(QUOTA))
UNIT = "ekonomiskt-bistand"
OCTETS = {"content-type": "application/octet-stream"}


def signed_in(server: Any, username: str) -> httpx.Client:
    client = httpx.Client(base_url=server.url, timeout=30)
    assert client.post("/api/demo/login", json={"username": username}).status_code == 200
    return client


def test_uploads_a_minute_are_limited_per_person(server: Any) -> None:
    dana, erik = signed_in(server, "dana"), signed_in(server, "erik")
    statuses = [dana.post(f"/api/cases/{CASE_DANA}/blobs", content=os.urandom(100), headers=OCTETS).status_code
                for _ in range(8)]
    assert statuses[:6] == [201] * 6 and statuses[6:] == [429, 429], statuses
    refused = dana.post(f"/api/cases/{CASE_DANA}/journal/blobs", content=os.urandom(100), headers=OCTETS)
    assert (refused.status_code, refused.json()["code"]) == (429, "rate_limited")  # every kind of upload counts
    assert erik.post(f"/api/cases/{CASE_ERIK}/blobs", content=os.urandom(100), headers=OCTETS).status_code == 201


def test_what_one_person_keeps_uploaded_is_bounded(server: Any) -> None:
    erik = signed_in(server, "erik")
    big = os.urandom(QUOTA // 3)
    assert erik.post(f"/api/cases/{CASE_ERIK}/blobs", content=big, headers=OCTETS).status_code == 201
    application = "B" * 21 + "A"
    staged = erik.post(f"/api/units/{UNIT}/applications/{application}/blobs", content=big, headers=OCTETS)
    assert staged.status_code == 201  # an application's attachments count too
    over = erik.post(f"/api/cases/{CASE_ERIK}/blobs", content=big, headers=OCTETS)
    assert (over.status_code, over.json()["code"]) == (413, "quota_exceeded")


def test_an_application_id_someone_staged_under_is_not_anothers(server: Any) -> None:
    anna, cecilia = signed_in(server, "anna"), signed_in(server, "cecilia")
    application = "C" * 21 + "A"  # Anna is about to register a paper application under this id
    mine = anna.post(f"/api/units/{UNIT}/applications/{application}/blobs", content=os.urandom(64), headers=OCTETS)
    assert mine.status_code == 201
    theirs = cecilia.post(f"/api/units/{UNIT}/applications/{application}/blobs", content=os.urandom(64),
                          headers=OCTETS)
    assert (theirs.status_code, theirs.json()["code"]) == (409, "staged_by_another")
    assert anna.post(f"/api/units/{UNIT}/applications/{application}/blobs", content=os.urandom(64),
                     headers=OCTETS).status_code == 201
