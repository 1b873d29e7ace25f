"""Notifications' storage (avisering, docs/notifications.md): what waits for whom, their preferences and the
mail throttle; the interface the SQL implementation (chat/storage/sql/notifications.py) keeps."""
from __future__ import annotations

import abc
from dataclasses import dataclass

MESSAGE = "message"  # the kind the server notes for every staff message


@dataclass(frozen=True, slots=True)
class Preferences:
    email_opt_in: bool = False
    language: str | None = None  # "sv", "en"; None: not chosen (Swedish with English below)


@dataclass(frozen=True, slots=True)
class DueMail:
    user_id: str
    email: str
    language: str | None
    last_sent_at: int | None = None  # the person's previous notification mail: this mail is the one after it


class NotificationStore(abc.ABC):
    @abc.abstractmethod
    async def waiting(self, user_id: str, case_id: str, kind: str, seq: int | None, at: int) -> None:
        """Note something new; `since` stays at the oldest unseen thing, `seq` rises to the newest."""

    @abc.abstractmethod
    async def note(self, waiting: dict[tuple[str, str], tuple[int, int]],
                   received: dict[tuple[str, str], tuple[int, int]]) -> None:
        """Messages noted and receipts heard since the last call, in one transaction: first what waits
        (person, case) -> (since, newest seq), then what their devices have (person, case) -> (seq, at)."""

    @abc.abstractmethod
    async def seen(self, user_id: str, case_id: str, kind: str) -> None: ...

    @abc.abstractmethod
    async def preferences(self, user_id: str) -> Preferences: ...

    @abc.abstractmethod
    async def set_preferences(self, user_id: str, prefs: Preferences, at: int) -> None: ...

    @abc.abstractmethod
    async def due(self, now: int, grace_ms: int, interval_ms: int) -> list[DueMail]:
        """Who is to be mailed now: opted in, with a contact address, something unseen for longer than the
        grace period, and not mailed within the interval. Messages the person's devices have received since
        they were noted (their receipts) are dropped first, in the same transaction."""

    @abc.abstractmethod
    async def mailed(self, user_id: str, at: int) -> None:
        """The mail went: it covers everything that waited, so those are cleared, and the throttle starts."""

    @abc.abstractmethod
    async def waiting_kinds(self, user_id: str) -> list[tuple[str, str]]:
        """(case id, kind) of what waits for the person: for tests and the operator, never mailed."""
