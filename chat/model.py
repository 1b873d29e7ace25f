"""The domain's vocabulary: the records Samtal keeps, named once and used everywhere else."""
from __future__ import annotations

import time
from dataclasses import dataclass
from enum import StrEnum


def now_ms() -> int:
    """Times in Samtal are milliseconds since the epoch (UTC), as integers."""
    return int(time.time() * 1000)


class Role(StrEnum):
    CITIZEN = "citizen"  # invånare, brukare
    CASEWORKER = "caseworker"  # handläggare
    SUPERVISOR = "supervisor"  # arbetsledare
    UNIT_ADMIN = "unit_admin"
    LOG_REVIEWER = "log_reviewer"  # granskare
    AGENCY = "agency"
    CASE_SYSTEM = "case_system"  # a unit's case management system at the SDK message service API (docs/sdk.md)


STAFF_ROLES = frozenset({Role.CASEWORKER, Role.SUPERVISOR, Role.UNIT_ADMIN})


@dataclass(frozen=True, slots=True)
class Municipality:
    id: str
    name: str


@dataclass(frozen=True, slots=True)
class Unit:
    """enhet: the trust boundary for case data."""

    id: str
    municipality_id: str
    name: str


@dataclass(frozen=True, slots=True)
class User:
    id: str
    username: str
    display_name: str
    role: Role
    unit_id: str | None
    # The signed-in person's mandates (chat/cases/mandates.py): those they hold for others' cases, and the
    # guardians' mandates over their own (a child's). Loaded with the session, so that the policy decides
    # on them without I/O; empty for everyone else a user is read for.
    mandates: tuple[Mandate, ...] = ()

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES


@dataclass(frozen=True, slots=True)
class Device:
    id: str
    user_id: str
    sign_pub: bytes
    kem_pub: bytes
    label: str
    created_at: int
    revoked_at: int | None = None
    # The device's signature over its owner and keys (§3 registration proof): clients check whose it is by it.
    proof: bytes | None = None
    # A citizen's device: what proves it is the person's (§21, JSON: an ID token or a link), None when nothing.
    binding: str | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


@dataclass(frozen=True, slots=True)
class Case:
    """ärende: one matter for one citizen in one unit."""

    id: str
    unit_id: str
    citizen_id: str
    assigned_to: str | None
    title: str
    status: str
    created_at: int


@dataclass(frozen=True, slots=True)
class UnitKeyEpoch:
    unit_id: str
    epoch: int
    public_key: bytes
    created_by_device: str
    signature: bytes
    created_at: int


@dataclass(frozen=True, slots=True)
class UnitKeyGrant:
    unit_id: str
    epoch: int
    device_id: str
    enc: bytes
    ct: bytes
    granted_by_device: str
    signature: bytes
    created_at: int


@dataclass(frozen=True, slots=True)
class CaseKeyWrap:
    case_id: str
    epoch: int
    recipient: str  # a device id, or "unit:<unit epoch>"
    enc: bytes
    ct: bytes
    wrapped_by_device: str
    signature: bytes
    created_at: int


@dataclass(frozen=True, slots=True)
class CaseKeyState:
    """One case as its key holders see it: its current key epoch (0: none), who holds that epoch (device ids
    and "unit:<epoch>"), and the citizen's devices, active or not."""

    case: Case
    epoch: int
    holders: frozenset[str]
    citizen_devices: tuple[Device, ...]


@dataclass(frozen=True, slots=True)
class StoredMessage:
    case_id: str
    seq: int
    msg_id: str
    sender_device: str
    sender_user: str
    envelope: bytes
    stored_at: int


@dataclass(frozen=True, slots=True)
class Ack:
    """What the sender is told once its message is committed."""

    case_id: str
    msg_id: str
    seq: int
    stored_at: int
    duplicate: bool = False


@dataclass(frozen=True, slots=True)
class ReceiptMarks:
    case_id: str
    user_id: str
    delivered_seq: int
    read_seq: int


@dataclass(frozen=True, slots=True)
class CaseActivity:
    """What an inbox sorts and shows by: metadata the server has, no content."""

    last_message_at: int | None
    waiting_since: int | None  # the first citizen message not yet followed by a staff message
    last_citizen_message_at: int | None
    unread: int  # for the user asking: messages after their read mark, not sent by them
    handled_at: int | None

    @property
    def handled(self) -> bool:
        return self.handled_at is not None and (self.last_citizen_message_at is None
                                                or self.handled_at >= self.last_citizen_message_at)


@dataclass(frozen=True, slots=True)
class MessageMeta:
    case_id: str
    seq: int
    sender_user: str
    sender_is_citizen: bool
    stored_at: int


@dataclass(frozen=True, slots=True)
class Substitution:
    """vikarie: `substitute` handles `absent_user`'s cases from starts_at (inclusive) to ends_at (exclusive)."""

    id: int
    unit_id: str
    absent_user: str
    substitute: str
    starts_at: int
    ends_at: int
    created_by: str
    revoked_at: int | None = None

    def active_at(self, at: int) -> bool:
        return self.revoked_at is None and self.starts_at <= at < self.ends_at


class MandateKind(StrEnum):
    """Who acts for a citizen (DOMAIN rule 13): by power of attorney (ombud), by a court's appointment (god
    man, förvaltare, föräldrabalken 11 kap.) or by law as a child's custodian (vårdnadshavare, FB 6 kap.)."""

    OMBUD = "ombud"
    GOD_MAN = "god_man"
    FORVALTARE = "forvaltare"
    GUARDIAN = "guardian"  # vårdnadshavare


class MandateBasis(StrEnum):
    POWER_OF_ATTORNEY = "power_of_attorney"  # fullmakt: a document, attached to the case
    COURT_DECISION = "court_decision"  # tingsrättens beslut (god man, förvaltare, vårdnad)
    CUSTODY = "custody"  # a child's custodian by law, as the population register says


class Scope(StrEnum):
    """What a mandate lets its holder do in the case; read comes with every mandate."""

    READ = "read"  # the conversation, published documentation, applications, bookings
    WRITE = "write"  # messages, attachments, comments and disputes in the documentation
    APPLY = "apply"  # complete an application (supplements)
    BOOK = "book"  # book, move and cancel meetings, join the video call


@dataclass(frozen=True, slots=True)
class Mandate:
    """A representative's mandate for one case: `holder` acts for `citizen` (the case's) within `scopes`
    from starts_at (inclusive) to ends_at (exclusive), unless staff ended it earlier (`ended_at`)."""

    id: int
    case_id: str
    holder: str
    citizen: str
    kind: MandateKind
    basis: MandateBasis
    basis_reference: str  # the court's case number, or what the power of attorney is called; no content
    document_blob: str | None  # the power of attorney, an encrypted attachment of the case
    scopes: frozenset[Scope]
    starts_at: int
    ends_at: int
    created_by: str
    created_at: int
    ended_at: int | None = None
    ended_by: str | None = None
    # A guardian's mandate over a child: from this time the child (15 or older) also speaks for themselves.
    child_speaks_from: int | None = None

    def in_force(self, at: int) -> bool:
        return self.starts_at <= at < self.ends_at and (self.ended_at is None or at < self.ended_at)

    def over(self, at: int) -> bool:
        """The mandate will not be in force again: its period passed, or staff ended it."""
        return at >= self.ends_at or (self.ended_at is not None and self.ended_at <= at)
