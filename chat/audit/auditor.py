"""Recording to the audit log: who (user id and role, never a personal identity number), what action on
which case or unit, with what outcome. Called from the places that dispatch every route and frame."""
from __future__ import annotations

from typing import Any, Protocol

from chat.audit.chain import AuditEvent
from chat.model import Case, Role, User
from chat.storage import AuditStore, CaseStore


def event(user: User | None, action: str, outcome: str, *, case_id: str | None = None, unit_id: str | None = None,
          reason: str = "", detail: dict[str, Any] | None = None) -> AuditEvent:
    return AuditEvent(action=action, outcome=outcome, actor=user.id if user else None,
                      role=user.role.value if user else None,
                      unit_id=unit_id if unit_id is not None else (user.unit_id if user else None),
                      case_id=case_id, reason=reason, detail=detail or {})


def on_behalf(user: User | None, case: Case) -> dict[str, Any]:
    """A representative's act (or try) in another person's case is recorded as on that person's behalf, with
    the mandate it rests on (chat/cases/mandates.py); nothing for anyone else."""
    if user is None or user.role != Role.CITIZEN or case.citizen_id == user.id:
        return {}
    mandate = next((m for m in user.mandates if m.holder == user.id and m.case_id == case.id), None)
    return {"on_behalf_of": case.citizen_id, "mandate": mandate.id if mandate else None}


class AuditorStore(AuditStore, CaseStore, Protocol):
    """What the auditor needs of the store: the audit log, and a case's unit."""


class Auditor:
    def __init__(self, store: AuditorStore) -> None:
        self.store = store

    async def record(self, user: User | None, action: str, outcome: str, **fields: Any) -> int:
        """Append one event. A row about a case belongs to the case's unit (a citizen has no unit of their
        own), so that the unit's log reviewer finds it."""
        if fields.get("case_id") and (not fields.get("unit_id") or user is not None and user.role == Role.CITIZEN):
            case = await self.store.get_case(fields["case_id"])
            if case is not None:
                fields["unit_id"] = fields.get("unit_id") or case.unit_id
                fields["detail"] = {**(fields.get("detail") or {}), **on_behalf(user, case)}
        return await self.store.append_audit(event(user, action, outcome, **fields))
