"""The research sample (Socialtjänstförordningen: records of people born on the 5th, 15th or 25th of a month
are kept for research, docs/retention.md). The flag is derived from the personal identity number when the
person's account is first seen with one (a sign-in with e-identification, or registration at the desk),
and only the flag is stored: the number never is."""
from __future__ import annotations

from chat.model import now_ms
from chat.storage.retention import RetentionStore

SAMPLE_DAYS = frozenset({5, 15, 25})


def in_sample(pnr: str) -> bool:
    """`pnr` in the 12-digit form (chat/identity.normalize); a samordningsnummer's day is the birth day + 60."""
    day = int(pnr[6:8])
    return (day - 60 if day > 60 else day) in SAMPLE_DAYS


async def derive(store: RetentionStore, user_id: str, pnr: str) -> None:
    """Record the person's flag unless it is recorded already (it is derived once, from the number at that
    moment)."""
    if not await store.research_sample_known(user_id):
        await store.set_research_sample(user_id, in_sample(pnr), now_ms())
