"""The one place that decides who may do what (behörighet). Every HTTP route and WebSocket frame names an
action from ACTIONS; the web layer refuses to register a route or frame without one."""
from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from chat.model import Case, Mandate, MandateKind, Role, Scope, User, now_ms


class Action(StrEnum):
    # Cases and their content.
    CASE_LIST = "case.list"
    CASE_READ = "case.read"  # metadata, history (ciphertext), receipts
    CASE_WRITE = "case.write"  # send a message, receipts
    CASE_HANDLE = "case.handle"  # mark a conversation handled (staff)
    CASE_ASSIGN = "case.assign"  # assign or reassign a case (supervisor)
    CASE_KEYS_READ = "case.keys.read"
    CASE_KEYS_WRITE = "case.keys.write"  # new case key epoch, wraps for a citizen device
    # The unit's key and its staff devices.
    UNIT_KEYS_READ = "unit.keys.read"
    UNIT_KEYS_CREATE = "unit.keys.create"  # a new unit key epoch
    UNIT_DEVICE_APPROVE = "unit.device.approve"  # wrap the unit key to a staff device
    UNIT_IDENTITY = "unit.identity"  # file the unit identity's certificates, pass its key between supervisors
    UNIT_STAFF_READ = "unit.staff.read"  # the unit's staff and substitutes
    UNIT_SUBSTITUTES_MANAGE = "unit.substitutes.manage"  # set substitutes (vikarie) by date range
    UNIT_STAFF_REMOVE = "unit.staff.remove"  # a staff member leaves: devices revoked, keys rotated
    UNIT_SETTINGS_MANAGE = "unit.settings.manage"  # the unit's own settings, e.g. its video meeting link
    # Log review (loggkontroll), by the unit's log reviewer.
    AUDIT_READ = "audit.read"
    AUDIT_REVIEW = "audit.review"
    # The account itself.
    SELF = "self"  # own profile, own devices, key tasks, logout
    DEVICE_READ = "device.read"  # public keys of a device, to verify its signatures
    # The agency exchange (docs/exchange.md).
    EXCHANGE_AGENCY = "exchange.agency"  # an agency's own messages: send, fetch, ack, receipts, proof
    EXCHANGE_UNIT_READ = "exchange.unit.read"  # the unit's exchange inbox and outbox, encrypted content
    EXCHANGE_UNIT_WRITE = "exchange.unit.write"  # receipts (accepted, rejected, read) and sends to agencies
    SDK_CLIENT = "sdk.client"  # a unit's case management system sends and reads SDK messages through Samtal
    # Tidsbokning (chat/booking/service.py).
    BOOKING_READ = "booking.read"  # a case's bookings and the open times of its unit
    BOOKING_WRITE = "booking.write"  # book, cancel, reschedule (the citizen, or staff on the citizen's behalf)
    AVAILABILITY_MANAGE = "availability.manage"  # publish and withdraw times, the calendar (staff of the unit)
    # The built-in video call of a booked video meeting (chat/booking/calls.py): join, signal, hang up.
    CALL_JOIN = "call.join"
    # Ansökan (chat/applications/service.py).
    APPLICATION_FORMS = "application.forms"  # the units that take applications and their forms
    APPLICATION_SUBMIT = "application.submit"  # apply to a unit (a citizen), or register a paper one (its staff)
    APPLICATION_READ = "application.read"  # an application in a case, its timeline and attachments
    APPLICATION_HANDLE = "application.handle"  # assess, request completion, decide (staff who answer the case)
    APPLICATION_SUPPLEMENT = "application.supplement"  # the citizen adds what was asked for
    # The citizen's device opened a decision: the day they received it (delgivning), also in a closed case.
    DECISION_RECEIVE = "decision.receive"
    # A person who comes in without a Samtal account (a paper application at the desk): found or registered
    # by personal identity number, by the unit's staff who handle cases.
    CITIZEN_REGISTER = "citizen.register"
    # Flag a citizen of the unit's cases as having a protected identity (skyddade personuppgifter), or clear it.
    CITIZEN_PROTECT = "citizen.protect"
    # Dokumentation, the case's journal (chat/journal/service.py).
    JOURNAL_READ = "journal.read"  # the unit's staff: all of it; the citizen: what is published (the service filters)
    JOURNAL_WRITE = "journal.write"  # write, sign, correct entries; share a draft live (staff who answer the case)
    JOURNAL_PUBLISH = "journal.publish"  # make a signed entry visible to the citizen (as journal.write)
    JOURNAL_REMARK = "journal.remark"  # the citizen's supplements, comments and disputes
    JOURNAL_RESPOND = "journal.respond"  # the unit's response to a dispute (as journal.write)
    # Registerutdrag (chat/extract.py): a person's extract made at the unit's desk, the unit's requests and
    # deliveries. A citizen's own extract is Action.SELF (the service lets only citizens make one).
    EXTRACT_DESK = "extract.desk"
    # Withhold one published entry from the case's guardians after a harm assessment (menprövning, OSL 12:3 and
    # 26:1; DOMAIN rule 5), or show it to them again (as journal.write).
    JOURNAL_WITHHOLD = "journal.withhold"
    # Representatives and guardians (chat/cases/mandates.py): register, end (staff who answer the case) and
    # see (anyone who may read the case) who acts for the citizen.
    MANDATE_MANAGE = "mandate.manage"

    RETENTION_READ = "retention.read"  # the unit's retention rules, legal holds and deletion register (its staff)
    CASE_HOLD = "case.hold"  # set or lift a legal hold on a case, which keeps it from deletion (a supervisor)
    RETENTION_MANAGE = "retention.manage"  # set the unit's own retention rule for a kind of record (a supervisor)


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


# What each citizen-side action on a case needs of a representative's mandate (its scope). An action not
# named here is never done by a representative (case keys, handling, the unit's side of the journal).
SCOPE_OF = {
    Action.CASE_READ: Scope.READ, Action.CASE_KEYS_READ: Scope.READ, Action.APPLICATION_READ: Scope.READ,
    Action.JOURNAL_READ: Scope.READ, Action.BOOKING_READ: Scope.READ,
    Action.CASE_WRITE: Scope.WRITE, Action.JOURNAL_REMARK: Scope.WRITE,
    Action.APPLICATION_SUPPLEMENT: Scope.APPLY,
    Action.BOOKING_WRITE: Scope.BOOK, Action.CALL_JOIN: Scope.BOOK,
}
# What a child under 15 does not do alone in their own case while they have guardians: speak for themselves
# as a party (apply, book, dispute). They still read and write to their caseworker: a child is heard at any
# age (SoL 2025:400, docs/representatives.md).
CHILD_UNDER_15_NOT = frozenset({Action.APPLICATION_SUPPLEMENT, Action.JOURNAL_REMARK, Action.BOOKING_WRITE})


def mandate_for(user: User, case: Case, at: int | None = None) -> Mandate | None:
    """The mandate in force by which `user` acts for the citizen of `case` now, if any."""
    at = now_ms() if at is None else at
    return next((m for m in user.mandates if m.holder == user.id and m.case_id == case.id
                 and m.citizen == case.citizen_id and m.in_force(at)), None)


def child_under_15(user: User, case: Case, at: int | None = None) -> bool:
    """Whether `user`, the citizen of `case`, is a child whose guardians speak for them in it now."""
    at = now_ms() if at is None else at
    return any(m.kind == MandateKind.GUARDIAN and m.case_id == case.id and m.citizen == user.id and m.in_force(at)
               and m.child_speaks_from is not None and at < m.child_speaks_from for m in user.mandates)


def _citizen_side(user: User, action: Action, case: Case) -> Decision:
    """A citizen's access to a case: their own, or by a mandate in force within its scope (ombud, god man,
    förvaltare, vårdnadshavare)."""
    if case.citizen_id == user.id:
        if action in CHILD_UNDER_15_NOT and child_under_15(user, case):
            return _deny("the child's guardians do this until the child is 15")
        return ALLOW
    mandate = mandate_for(user, case)
    if mandate is None:
        return _deny("not the citizen of this case, and no mandate for it in force")
    scope = SCOPE_OF.get(action)
    if scope is None or scope not in mandate.scopes:
        return _deny("outside the mandate's scope")
    return ALLOW


MANAGERS = (Role.SUPERVISOR, Role.UNIT_ADMIN)
UNIT_KEYS_AND_STAFF = frozenset({Action.UNIT_KEYS_READ, Action.UNIT_KEYS_CREATE, Action.UNIT_DEVICE_APPROVE,
                                 Action.UNIT_IDENTITY, Action.UNIT_STAFF_READ, Action.UNIT_SUBSTITUTES_MANAGE, Action.UNIT_STAFF_REMOVE,
                                 Action.UNIT_SETTINGS_MANAGE})
# The actions on a unit as a whole (its keys, staff, settings, calendar, exchange, audit log, people at the
# desk): decided with a unit id.
UNIT_ACTIONS = UNIT_KEYS_AND_STAFF | {Action.AVAILABILITY_MANAGE, Action.EXCHANGE_UNIT_READ,
                                      Action.EXCHANGE_UNIT_WRITE, Action.AUDIT_READ, Action.AUDIT_REVIEW,
                                      Action.CITIZEN_REGISTER, Action.CITIZEN_PROTECT, Action.APPLICATION_SUBMIT,
                                      Action.EXTRACT_DESK, Action.RETENTION_READ,
                                      Action.RETENTION_MANAGE}


def decide(user: User, action: Action, *, case: Case | None = None, unit_id: str | None = None,
           acting_for: frozenset[str] = frozenset(), booked_with: str | None = None) -> Decision:
    """Decide one access. `case` or `unit_id` names the resource for case and unit actions; `acting_for`
    names the caseworkers the user substitutes for right now (chat.assignment); `booked_with` the
    caseworker whose time a meeting was booked on (for calls).

    Staff of a unit may read all of the unit's cases: the unit is the trust boundary, a substitute must
    be able to step in, and the audit log records every read. Answering is narrower: the assigned
    caseworker, their substitutes for the period, the unit's supervisors, and anyone of the unit while a
    case is not assigned to anybody (someone has to answer)."""
    if action in (Action.SELF, Action.CASE_LIST, Action.DEVICE_READ, Action.APPLICATION_FORMS):
        return ALLOW if user.role not in (Role.AGENCY, Role.CASE_SYSTEM) else _deny(
            "agencies and case systems use their own endpoints")
    if action in (Action.CASE_READ, Action.CASE_WRITE, Action.CASE_HANDLE, Action.CASE_ASSIGN,
                  Action.CASE_KEYS_READ, Action.CASE_KEYS_WRITE):
        if case is None:
            return _deny("no case")
        if action == Action.CASE_WRITE and case.status != "open":
            return _deny("case is closed")
        if user.role == Role.CITIZEN:
            if action == Action.CASE_KEYS_WRITE:
                return _deny("case keys are distributed by the unit")
            if action in (Action.CASE_HANDLE, Action.CASE_ASSIGN):
                return _deny("staff handle and assign cases")
            return _citizen_side(user, action, case)
        if not _staff_of(user, case.unit_id):
            return _deny("not staff of the case's unit")
        if action == Action.CASE_ASSIGN and user.role not in MANAGERS:
            return _deny("a supervisor assigns cases")
        # Answering (writing, and marking the conversation handled) is for whoever answers the case.
        if action in (Action.CASE_WRITE, Action.CASE_HANDLE) and user.role not in MANAGERS and \
                case.assigned_to not in (None, user.id, *acting_for):
            return _deny("the case is assigned to someone else, and you are not their substitute now")
        return ALLOW
    if action in (Action.BOOKING_READ, Action.BOOKING_WRITE):
        if case is None:
            return _deny("no case")
        if action == Action.BOOKING_WRITE and case.status != "open":
            return _deny("case is closed")
        if user.role == Role.CITIZEN:
            return _citizen_side(user, action, case)
        # Any staff of the unit books on the citizen's behalf (a booking by phone), recorded as such.
        return ALLOW if _staff_of(user, case.unit_id) else _deny("not staff of the case's unit")
    if action == Action.CALL_JOIN:
        return _call(user, case, acting_for, booked_with)
    if action == Action.APPLICATION_SUBMIT:
        if unit_id is None:
            return _deny("no unit")
        if user.role == Role.CITIZEN or _staff_of(user, unit_id):
            return ALLOW
        return _deny("citizens apply, and the unit's staff register paper applications")
    if action in CASE_CONTENT:
        return _case_content(user, action, case, acting_for)
    if action == Action.MANDATE_MANAGE:
        return _mandates(user, case, acting_for)
    if action == Action.CITIZEN_PROTECT:
        if unit_id is not None and _staff_of(user, unit_id) and user.role in MANAGERS:
            return ALLOW
        return _deny("a supervisor of the unit flags a protected identity")
    if action == Action.RETENTION_READ:
        # The register names no person and no case; the holds name the unit's own cases, which its staff read,
        # and the log reviewer, who follows what is done with the unit's records, sees them too.
        if unit_id is not None and (_staff_of(user, unit_id) or
                                    (user.role == Role.LOG_REVIEWER and user.unit_id == unit_id)):
            return ALLOW
        return _deny("not staff of this unit")
    if action == Action.RETENTION_MANAGE:
        # The committee decides gallring in its document management plan; a supervisor or unit admin enters it.
        if unit_id is not None and _staff_of(user, unit_id) and user.role in MANAGERS:
            return ALLOW
        return _deny("a supervisor of the unit sets its retention rules")
    if action == Action.CASE_HOLD:
        # A hold outlives the case's status (a closed case is what deletion would reach), so closed cases too.
        if case is not None and _staff_of(user, case.unit_id) and user.role in MANAGERS:
            return ALLOW
        return _deny("a supervisor of the case's unit sets or lifts a legal hold")
    if action == Action.CITIZEN_REGISTER:
        if unit_id is not None and _staff_of(user, unit_id):
            return ALLOW
        return _deny("the unit's caseworkers and supervisors register a person at the desk")
    if action == Action.EXTRACT_DESK:
        # Any of the unit's staff who meet people: the person is there, and the unit holds their case.
        return ALLOW if unit_id is not None and _staff_of(user, unit_id) else _deny("not staff of this unit")
    if action == Action.AVAILABILITY_MANAGE:
        return ALLOW if unit_id is not None and _staff_of(user, unit_id) else _deny("not staff of this unit")
    if action == Action.EXCHANGE_AGENCY:
        return ALLOW if user.role == Role.AGENCY else _deny("only agencies use the agency side of the exchange")
    if action == Action.SDK_CLIENT:
        return ALLOW if (user.role == Role.CASE_SYSTEM and unit_id is not None and user.unit_id == unit_id) \
            else _deny("only the unit's case management system uses its SDK message service API")
    if action in (Action.EXCHANGE_UNIT_READ, Action.EXCHANGE_UNIT_WRITE):
        return ALLOW if unit_id is not None and _staff_of(user, unit_id) else _deny("not staff of this unit")
    if action in UNIT_KEYS_AND_STAFF:
        if unit_id is None or not _staff_of(user, unit_id):
            return _deny("not staff of this unit")
        if action in (Action.UNIT_KEYS_READ, Action.UNIT_STAFF_READ):
            return ALLOW
        if user.role in MANAGERS:
            return ALLOW
        return _deny("only a supervisor or unit admin manages the unit's keys, substitutes and settings")
    if action in (Action.AUDIT_READ, Action.AUDIT_REVIEW):
        if user.role == Role.LOG_REVIEWER and unit_id is not None and user.unit_id == unit_id:
            return ALLOW
        return _deny("only the unit's log reviewer reviews its audit log")
    return _deny("no policy for action")


def _call(user: User, case: Case | None, acting_for: frozenset[str], booked_with: str | None) -> Decision:
    """A video call is one to one: the case's citizen and the person who answers the case for the unit
    (its assigned caseworker, or their substitute now) or holds the meeting (whose time was booked). Not
    the whole unit, unlike reading: a call is a conversation with a person, not a record anyone may open."""
    if case is None:
        return _deny("no case")
    if case.status != "open":
        return _deny("case is closed")
    if user.role == Role.CITIZEN:
        return _citizen_side(user, Action.CALL_JOIN, case)
    if not _staff_of(user, case.unit_id):
        return _deny("not staff of the case's unit")
    substitute_now = case.assigned_to is not None and case.assigned_to in acting_for
    if user.id in (case.assigned_to, booked_with) or substitute_now:
        return ALLOW
    return _deny("a call is with the caseworker who answers the case or holds the meeting")


# What a case holds besides its messages (applications, the journal): the content the citizen reads, adds to,
# and the unit writes. Reading follows the case (for the journal, what of it the citizen sees is the service's
# filter, chat/journal/service.py); what the citizen adds (a supplement, a comment, a dispute) is theirs, in their own
# open case; what the unit does (handle an application; write, publish, respond in the journal) follows who
# may answer the case: the assigned caseworker, their substitute now, supervisors, anyone of the unit while
# it is unassigned.
CASE_CONTENT_READ = frozenset({Action.APPLICATION_READ, Action.JOURNAL_READ})
CASE_CONTENT_CITIZEN = frozenset({Action.APPLICATION_SUPPLEMENT, Action.JOURNAL_REMARK})
CASE_CONTENT_UNIT = frozenset({Action.APPLICATION_HANDLE, Action.JOURNAL_WRITE, Action.JOURNAL_PUBLISH,
                               Action.JOURNAL_RESPOND, Action.JOURNAL_WITHHOLD})
CASE_CONTENT = CASE_CONTENT_READ | CASE_CONTENT_CITIZEN | CASE_CONTENT_UNIT | {Action.DECISION_RECEIVE}


def _case_content(user: User, action: Action, case: Case | None, acting_for: frozenset[str]) -> Decision:
    if case is None:
        return _deny("no case")
    if action in CASE_CONTENT_READ:
        if user.role == Role.CITIZEN:
            return _citizen_side(user, action, case)
        return decide(user, Action.CASE_READ, case=case)
    if action == Action.DECISION_RECEIVE:
        if user.role != Role.CITIZEN or user.id != case.citizen_id:
            return _deny("only the citizen the case is about receives its decisions")
        return decide(user, Action.CASE_READ, case=case)
    if action in CASE_CONTENT_CITIZEN:
        if user.role != Role.CITIZEN:
            return _deny("the citizen adds this to their own case")
        if case.status != "open":
            return _deny("case is closed")
        return _citizen_side(user, action, case)
    if user.role == Role.CITIZEN:
        return _deny("the unit's staff do this")
    return decide(user, Action.CASE_WRITE, case=case, acting_for=acting_for)


def _mandates(user: User, case: Case | None, acting_for: frozenset[str]) -> Decision:
    """Representatives are registered and their mandates ended by the staff who answer the case (who they
    are is seen by whoever may read the case: case.read)."""
    if case is None:
        return _deny("no case")
    if not _staff_of(user, case.unit_id):
        return _deny("the unit registers who acts for the citizen")
    # Also in a closed case: a mandate may have to be ended after the case closed.
    if user.role not in MANAGERS and case.assigned_to not in (None, user.id, *acting_for):
        return _deny("the case is assigned to someone else, and you are not their substitute now")
    return ALLOW
