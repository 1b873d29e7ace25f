"""Retention and deletion (gallring) storage (chat/retention/, docs/retention.md): the rules per unit and
record kind, legal holds on cases, the research sample flag, the person files the job looks at, the deletion
itself and the deletion register. Migration 0028 (SQLite) / 0013 (PostgreSQL)."""
from __future__ import annotations

import abc
from dataclasses import dataclass

# The kinds of record a rule names, in the order the job deletes them (a case's parts before the case).
RECORD_KINDS = ("message", "attachment", "journal", "application", "booking")


@dataclass(frozen=True, slots=True)
class Rule:
    unit_id: str  # '*': every unit without a rule of its own for the kind
    record_kind: str
    keep_years: int | None  # None: never deleted
    updated_at: int = 0
    updated_by: str = ""


@dataclass(frozen=True, slots=True)
class Hold:
    case_id: str
    reason: str
    set_at: int
    set_by: str


@dataclass(frozen=True, slots=True)
class FileCase:
    """One case of a person's file in a unit, as the job needs it: when its last entry was made (a message,
    a journal entry or remark, an application's step, a booking, or the case's opening), whether it is held."""
    case_id: str
    citizen_id: str
    unit_id: str
    last_entry: int
    held: bool
    research_sample: bool


@dataclass(frozen=True, slots=True)
class Deletion:
    id: int
    at: int
    unit_id: str
    record_kind: str
    rule: str
    count: int
    automated: bool


class RetentionStore(abc.ABC):
    @abc.abstractmethod
    async def rules(self) -> list[Rule]:
        """Every rule set (the built-in default is chat/retention/rules.py's, not a row)."""

    @abc.abstractmethod
    async def set_rule(self, rule: Rule) -> None:
        """Add or replace the rule for (unit, kind)."""

    @abc.abstractmethod
    async def remove_rule(self, unit_id: str, record_kind: str) -> None: ...

    @abc.abstractmethod
    async def holds(self) -> list[Hold]: ...

    @abc.abstractmethod
    async def set_hold(self, hold: Hold) -> bool:
        """Put the case under legal hold; False when it already was (the first reason stays)."""

    @abc.abstractmethod
    async def lift_hold(self, case_id: str) -> bool:
        """False when the case was not held."""

    @abc.abstractmethod
    async def research_sample_known(self, user_id: str) -> bool:
        """Whether the flag was derived for the person (True or False)."""

    @abc.abstractmethod
    async def set_research_sample(self, user_id: str, in_sample: bool, at: int) -> None:
        """Record the flag once; a second call for the person changes nothing."""

    @abc.abstractmethod
    async def file_cases(self) -> list[FileCase]:
        """Every case, with what the job needs to decide about it."""

    @abc.abstractmethod
    async def count(self, case_ids: list[str], record_kind: str) -> int:
        """How many records of the kind the cases hold (for the dry run)."""

    @abc.abstractmethod
    async def delete(self, citizen_id: str, unit_id: str, kinds: dict[str, str], not_after: int, at: int,
                     automated: bool = True) -> dict[str, int]:
        """In one transaction: the person's cases in the unit that are not held, if the person is not in the
        research sample and the file's last entry is still at or before `not_after` (checked again here, so an
        entry made since the job looked keeps the file), lose their records of each kind in `kinds` (kind ->
        the rule's name); a case left with no record of any kind is deleted with its keys. Each kind deleted
        is one row of the register. Returns the counts deleted per kind ('case' for whole cases)."""

    @abc.abstractmethod
    async def register(self, limit: int = 200, unit_id: str | None = None) -> list[Deletion]:
        """The deletion register, newest first (one unit's rows and the audit log's, or all)."""

    @abc.abstractmethod
    async def add_register(self, unit_id: str, record_kind: str, rule: str, count: int, at: int,
                           automated: bool = True) -> None:
        """A deletion done elsewhere (the audit log's prune)."""
