"""The deletion job (gallring): every node runs it now and then, and each person's file in a unit that is
due is claimed in the database first (chat/scheduled.py), so one node deletes it. A file is due for a kind
of record when the rule for that kind in the unit (rules.py) counts its time from the file's last entry and
the time has passed. What survives: every record of a person in the research sample (sample.py), every
record of a case under legal hold, and each kind a rule keeps for ever. Deleting is one transaction per file
(chat/storage/retention.py), which checks the file again (an entry made meanwhile keeps it) and writes the
deletion register: kind, rule, when, how many, and that no person decided it (automated)."""
from __future__ import annotations

import logging
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime

from chat.model import now_ms
from chat.periodic import Rounds
from chat.retention.rules import Rules, due_kinds
from chat.scheduled import Claims
from chat.storage.retention import FileCase, RetentionStore
from chat.storage.schedule import ScheduleStore

log = logging.getLogger("samtal.retention")

PAUSE_SECONDS = 3600  # a look every hour; the law gives until the end of the next calendar year


@dataclass(frozen=True, slots=True)
class DueFile:
    citizen_id: str
    unit_id: str
    last_entry: int
    kinds: dict[str, str]  # kind -> rule name
    case_ids: list[str]  # the cases that would lose records (not those under legal hold)


@dataclass
class Plan:
    due: list[DueFile] = field(default_factory=list)
    held_cases: int = 0  # cases of due files kept by a legal hold
    sample_files: int = 0  # files that would be due but belong to the research sample


def plan(cases: list[FileCase], rules: Rules, now: int) -> Plan:
    """What is due at `now`, file by file (a person's cases in one unit)."""
    files: dict[tuple[str, str], list[FileCase]] = defaultdict(list)
    for case in cases:
        files[(case.citizen_id, case.unit_id)].append(case)
    result = Plan()
    for (citizen_id, unit_id), parts in sorted(files.items()):
        last = max(c.last_entry for c in parts)
        kinds = due_kinds(rules, unit_id, last, now)
        if not kinds:
            continue
        if any(c.research_sample for c in parts):
            result.sample_files += 1
            continue
        held = [c for c in parts if c.held]
        result.held_cases += len(held)
        open_ = [c.case_id for c in parts if not c.held]
        if open_:
            result.due.append(DueFile(citizen_id, unit_id, last, kinds, open_))
    return result


class RetentionJob:
    def __init__(self, store: RetentionStore, schedule: ScheduleStore) -> None:
        self.store = store
        self.claims = Claims(schedule)
        self._rounds = Rounds("retention", PAUSE_SECONDS, self.run_once, log, "retention job failed")

    async def plan(self, now: int) -> Plan:
        return plan(await self.store.file_cases(), Rules(await self.store.rules()), now)

    async def dry_run(self, now: int) -> dict[str, int]:
        """How many records each rule would delete at `now` (nothing is deleted): 'rule name' -> count."""
        counts: Counter[str] = Counter()
        for due in (await self.plan(now)).due:
            for kind, rule in due.kinds.items():
                counts[rule] += await self.store.count(due.case_ids, kind)
        return {rule: n for rule, n in sorted(counts.items()) if n}

    async def run_once(self, now: int | None = None) -> dict[str, int]:
        """Delete what is due at `now` (a test moves the clock); the counts deleted per kind."""
        now = now_ms() if now is None else now
        day = datetime.fromtimestamp(now / 1000, tz=UTC).date().isoformat()
        total: Counter[str] = Counter()
        for due in (await self.plan(now)).due:
            async def work(due: DueFile = due) -> bool:
                total.update(await self.store.delete(due.citizen_id, due.unit_id, due.kinds, due.last_entry, now))
                return True

            # One claim per file and day: two nodes never delete the same file at once, and a node that died
            # mid-way leaves it to the next (the deletion is one transaction, so nothing is half done).
            await self.claims.once("retention", f"{due.unit_id}/{due.citizen_id}/{day}", work)
        if total:
            log.info("records deleted at the end of their retention period", extra=dict(total))
        return dict(total)

    def start(self) -> None:
        self._rounds.start()

    async def stop(self) -> None:
        await self._rounds.stop()
