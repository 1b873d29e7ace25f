"""The one place that decides who may do what (behörighet). Every HTTP route and WebSocket frame names an
action from ACTIONS; the web layer refuses to register a route or frame without one."""
from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from .model import Case, Role, User


class Action(StrEnum):
    # Cases and their content.
    CASE_LIST = "case.list"
    CASE_READ = "case.read"  # metadata, history (ciphertext), receipts
    CASE_WRITE = "case.write"  # send a message, receipts
    CASE_HANDLE = "case.handle"  # mark a conversation handled (staff)
    CASE_KEYS_READ = "case.keys.read"
    CASE_KEYS_WRITE = "case.keys.write"  # new case key epoch, wraps for a citizen device
    # The unit's key and its staff devices.
    UNIT_KEYS_READ = "unit.keys.read"
    UNIT_KEYS_CREATE = "unit.keys.create"  # a new unit key epoch
    UNIT_DEVICE_APPROVE = "unit.device.approve"  # wrap the unit key to a staff device
    # The account itself.
    SELF = "self"  # own profile, own devices, key tasks, logout
    DEVICE_READ = "device.read"  # public keys of a device, to verify its signatures


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    reason: str

    def __bool__(self) -> bool:
        return self.allowed


ALLOW = Decision(True, "allowed")


def _deny(reason: str) -> Decision:
    return Decision(False, reason)


def _staff_of(user: User, unit_id: str) -> bool:
    return user.is_staff and user.unit_id == unit_id


def decide(user: User, action: Action, *, case: Case | None = None, unit_id: str | None = None) -> Decision:
    """Decide one access. `case` or `unit_id` names the resource for case and unit actions.

    Staff of a unit reach all of the unit's cases: the unit is the trust boundary (a substitute must be
    able to read a case), and the audit log records every read. Narrowing to assignment and substitution
    periods belongs here too when supervisors can set them."""
    if action in (Action.SELF, Action.CASE_LIST, Action.DEVICE_READ):
        return ALLOW if user.role != Role.AGENCY else _deny("agencies use the exchange endpoint")
    if action in (Action.CASE_READ, Action.CASE_WRITE, Action.CASE_HANDLE, Action.CASE_KEYS_READ,
                  Action.CASE_KEYS_WRITE):
        if case is None:
            return _deny("no case")
        if action == Action.CASE_WRITE and case.status != "open":
            return _deny("case is closed")
        if user.role == Role.CITIZEN:
            if case.citizen_id != user.id:
                return _deny("not the citizen of this case")
            if action == Action.CASE_KEYS_WRITE:
                return _deny("case keys are distributed by the unit")
            if action == Action.CASE_HANDLE:
                return _deny("staff mark conversations handled")
            return ALLOW
        if _staff_of(user, case.unit_id):
            return ALLOW
        return _deny("not staff of the case's unit")
    if action in (Action.UNIT_KEYS_READ, Action.UNIT_KEYS_CREATE, Action.UNIT_DEVICE_APPROVE):
        if unit_id is None or not _staff_of(user, unit_id):
            return _deny("not staff of this unit")
        if action == Action.UNIT_KEYS_READ:
            return ALLOW
        if user.role in (Role.SUPERVISOR, Role.UNIT_ADMIN):
            return ALLOW
        return _deny("only a supervisor or unit admin manages the unit key")
    return _deny("no policy for action")
