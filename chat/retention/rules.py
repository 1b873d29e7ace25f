"""Which rule applies to a kind of record in a unit, and when a person's file there is due under it.

The default, when neither the unit nor the municipality ('*') set a rule for the kind: five years after the
last entry in the person's file in the unit (the Social Services Act, docs/retention.md). A rule with no
years keeps the kind for ever (records that must never be deleted)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from chat.storage.retention import RECORD_KINDS, Rule

DEFAULT_YEARS = 5
ALL_UNITS = "*"


@dataclass(frozen=True, slots=True)
class Applied:
    """The rule in force for (unit, kind), and where it comes from: the unit's own, every unit's, the default."""
    record_kind: str
    keep_years: int | None
    source: str  # 'unit', 'all', 'default'

    @property
    def name(self) -> str:
        """The rule as the register names it, e.g. 'default:message:5y' or 'unit:journal:keep'."""
        return f"{self.source}:{self.record_kind}:{'keep' if self.keep_years is None else f'{self.keep_years}y'}"


class Rules:
    def __init__(self, rules: list[Rule]) -> None:
        self._by_key = {(r.unit_id, r.record_kind): r for r in rules}

    def applied(self, unit_id: str, record_kind: str) -> Applied:
        own = self._by_key.get((unit_id, record_kind))
        if own is not None:
            return Applied(record_kind, own.keep_years, "unit")
        every = self._by_key.get((ALL_UNITS, record_kind))
        if every is not None:
            return Applied(record_kind, every.keep_years, "all")
        return Applied(record_kind, DEFAULT_YEARS, "default")

    def for_unit(self, unit_id: str) -> list[Applied]:
        return [self.applied(unit_id, kind) for kind in RECORD_KINDS]


def years_after(ms: int, years: int) -> int:
    """The same moment `years` calendar years later (29 February becomes 28 February), in ms."""
    moment = datetime.fromtimestamp(ms / 1000, tz=UTC)
    try:
        later = moment.replace(year=moment.year + years)
    except ValueError:
        later = moment.replace(year=moment.year + years, day=28)
    return int(later.timestamp() * 1000)


def due_kinds(rules: Rules, unit_id: str, last_entry: int, now: int) -> dict[str, str]:
    """The kinds whose time has passed in a file whose last entry was at `last_entry`: kind -> rule name."""
    due: dict[str, str] = {}
    for applied in rules.for_unit(unit_id):
        if applied.keep_years is not None and years_after(last_entry, applied.keep_years) <= now:
            due[applied.record_kind] = applied.name
    return due
