"""Videosamtal: the built-in one-to-one video call of a booked video meeting (tidsbokning).

The browsers talk to each other directly (WebRTC); the server only relays their signalling, and each
signal (an SDP offer or answer, an ICE candidate) is an end-to-end encrypted message envelope under the case
key, signed by the sending device, so a relaying server cannot swap the DTLS fingerprints in the SDP and sit
in the middle of the media. Nothing of a call is stored: this module keeps in memory who is in which call,
decides who may join (chat.policy), checks what it can of a signal without keys (the sending device, its
signature, the key epoch), and audits who joined and who left, when. docs/protocol.md §16."""
from __future__ import annotations

from dataclasses import dataclass, field

from chat.audit.auditor import Auditor
from chat.cases.assignment import Assignments
from chat.cases.protection import Protection
from chat.errors import Conflict, Forbidden, NotFound
from chat.messaging.delivery import check_relayed
from chat.messaging.hub import Subscriber
from chat.model import Case, Role, User, now_ms
from chat.policy import Action, decide
from chat.storage import Storage
from chat.storage.bookings import Booking, BookingStore

MINUTE_MS = 60_000
# The call can be joined a quarter of an hour before the meeting (to check camera and sound), and until an
# hour after its booked end, because meetings overrun; outside that, a booking is no key to a call.
OPENS_BEFORE_MS = 15 * MINUTE_MS
CLOSES_AFTER_MS = 60 * MINUTE_MS


@dataclass(eq=False)
class Member:
    """One person in a call, through one connection (one device)."""

    sub: Subscriber
    joined_at: int
    signals: int = 0  # relayed for this member, counted for the audit row when they leave
    # On another node (several nodes): `sub` relays over the bus; that node audits the member's joining and leaving.
    remote: bool = False


@dataclass(eq=False)
class Room:
    """One booked video meeting: at most the citizen and one person of the unit, each on one device."""

    case: Case
    booking: Booking
    members: dict[str, Member] = field(default_factory=dict)  # user id -> member

    def others(self, sub: Subscriber) -> list[Subscriber]:
        return [m.sub for m in self.members.values() if m.sub is not sub]

    def local_others(self, sub: Subscriber) -> list[Subscriber]:
        """The others on this node: each node tells its own connections what happens in a call."""
        return [m.sub for m in self.members.values() if m.sub is not sub and not m.remote]


@dataclass(frozen=True)
class Joined:
    room: Room
    others: list[Subscriber]  # who to tell that someone joined
    replaced: Subscriber | None  # the same person's previous connection, now out of the call


def window(booking: Booking) -> tuple[int, int]:
    """When the call of a booking can be joined: [opens, closes), ms since the epoch."""
    return booking.slot.starts_at - OPENS_BEFORE_MS, booking.slot.ends_at + CLOSES_AFTER_MS


def why_closed(booking: Booking, at: int) -> str | None:
    """None when the call can be joined at `at`, otherwise why not, in words for the error frame."""
    if booking.form != "video" or booking.status != "booked":
        return "the booking is not an active video meeting"
    opens, closes = window(booking)
    if not opens <= at < closes:
        return "the call opens 15 minutes before the meeting and closes an hour after it ends"
    return None


class Calls:
    def __init__(self, store: Storage, bookings: BookingStore, assignments: Assignments, auditor: Auditor,
                 protection: Protection, relay_available: bool) -> None:
        self.store = store
        self.bookings = bookings
        self.assignments = assignments
        self.auditor = auditor
        self.protection = protection
        self.relay_available = relay_available  # a TURN relay is configured (chat/cases/protection.py)
        self._rooms: dict[int, Room] = {}  # booking id -> room, while anyone is in it
        self._joined: dict[Subscriber, set[int]] = {}  # connection -> the booking ids of its calls
        self._from_node: dict[Subscriber, str] = {}  # a member on another node -> that node's id

    async def authorize(self, user: User, case_id: str, booking_id: int) -> tuple[Case, Booking]:
        """The case and the booking, if the user may take part in the booking's call (open or not)."""
        case = await self.store.get_case(case_id)
        if case is None:
            raise NotFound("unknown case", code="unknown_case")
        booking = await self.bookings.booking(booking_id)
        if booking is not None and booking.case_id != case.id:
            booking = None
        acting_for = await self.assignments.acting_for(user, case.unit_id) if user.is_staff else frozenset()
        decision = decide(user, Action.CALL_JOIN, case=case, acting_for=acting_for,
                          booked_with=booking.slot.caseworker if booking else None)
        if not decision:  # decided before telling whether the booking exists: outsiders learn nothing
            raise Forbidden(decision.reason, code="forbidden")
        if booking is None:
            raise NotFound("no such booking", code="unknown_booking")
        return case, booking

    async def relay_needed(self, case: Case) -> bool:
        """A citizen with a protected identity: their address must not reach the other browser."""
        return await self.protection.is_protected(case.citizen_id)

    async def unit_side(self, case: Case, booking: Booking) -> list[str]:
        """Who may take the call for the unit: the assigned caseworker, their substitute now, and the
        caseworker whose time was booked. The citizen's browser accepts signals from these people only."""
        answering = await self.assignments.answering(case)
        people = [case.assigned_to, answering.user_id if answering else None, booking.slot.caseworker]
        return list(dict.fromkeys(p for p in people if p))

    # -- joining and leaving ------------------------------------------------------------------------
    async def join(self, sub: Subscriber, case_id: str, booking_id: int) -> Joined:
        case, booking = await self.authorize(sub.user, case_id, booking_id)
        closed = why_closed(booking, now_ms())
        if closed:
            raise Conflict(closed, code="call_not_open")
        if await self.relay_needed(case) and not self.relay_available:
            raise Conflict("this person's calls go through a relay, and none is configured: meet by phone or at "
                           "the office", code="relay_unavailable")
        room = self._rooms.get(booking.id) or Room(case, booking)
        mine = room.members.get(sub.user.id)
        if mine is not None and mine.sub is sub:  # joining twice on one connection changes nothing
            return Joined(room, [], None)
        citizen = sub.user.role == Role.CITIZEN
        if any(m.sub.user.id != sub.user.id and (m.sub.user.role == Role.CITIZEN) == citizen
               for m in room.members.values()):
            raise Conflict("someone else already takes part in this call for the same side", code="call_full")
        if mine is not None:  # the same person on another device (or a reloaded page): that one leaves
            await self._remove(room, mine, "joined_elsewhere")
        room.members[sub.user.id] = Member(sub, now_ms())
        self._rooms[booking.id] = room
        self._joined.setdefault(sub, set()).add(booking.id)
        await self.auditor.record(sub.user, "call.joined", "allowed", case_id=case.id,
                                  detail={"booking": booking.id, "device": sub.device_id,
                                          "others": [m.sub.user.id for m in room.members.values()
                                                     if m.sub is not sub]})
        return Joined(room, room.others(sub), None if mine is None else mine.sub)

    async def leave(self, sub: Subscriber, case_id: str, booking_id: int, reason: str) -> tuple[Room, list[Subscriber]]:
        """Take `sub` out of a call; returns the room and who is still in it (to be told)."""
        room, member = self._member(sub, case_id, booking_id)
        await self._remove(room, member, reason)
        return room, room.others(sub)

    async def leave_all(self, sub: Subscriber, reason: str) -> list[tuple[Room, list[Subscriber]]]:
        """A connection ended: it leaves every call it was in."""
        left = []
        for booking_id in list(self._joined.get(sub, ())):
            room = self._rooms.get(booking_id)
            member = room.members.get(sub.user.id) if room else None
            if room is not None and member is not None and member.sub is sub:
                await self._remove(room, member, reason)
                left.append((room, room.others(sub)))
        self._joined.pop(sub, None)
        return left

    # -- members on other nodes (chat/messaging/cluster.py) -------------------------------------------
    async def remote_joined(self, case_id: str, booking_id: int, proxy: Subscriber,
                            node: str) -> tuple[Room, list[Subscriber], Subscriber | None] | None:
        """Someone joined the call on another node: `proxy` relays to their connection there. Returns the room,
        this node's members to tell, and this node's connection of the same person that is now out of the call
        (joined elsewhere); None when the call is not known here (case or booking gone)."""
        room = self._rooms.get(booking_id)
        if room is None:
            case, booking = await self.store.get_case(case_id), await self.bookings.booking(booking_id)
            if case is None or booking is None or booking.case_id != case.id:
                return None
            room = self._rooms.setdefault(booking_id, Room(case, booking))
        mine = room.members.get(proxy.user.id)
        if mine is not None and mine.remote and mine.sub.device_id == proxy.device_id:
            return None  # joined again on the same connection: nothing changes
        if mine is not None:
            await self._remove(room, mine, "joined_elsewhere")
        room.members[proxy.user.id] = Member(proxy, now_ms(), remote=True)
        self._from_node[proxy] = node
        replaced = mine.sub if mine is not None and not mine.remote else None
        return room, room.local_others(proxy), replaced

    def members_here(self) -> list[tuple[Room, Subscriber]]:
        """Every call member connected to this node (for a node that joins the others mid-call)."""
        return [(room, m.sub) for room in self._rooms.values() for m in room.members.values() if not m.remote]

    async def remote_left(self, booking_id: int, user_id: str, device_id: str) -> tuple[Room, list[Subscriber],
                                                                                          Subscriber] | None:
        """Someone left the call on another node: their relay leaves too; this node's members are to be told."""
        room = self._rooms.get(booking_id)
        member = room.members.get(user_id) if room is not None else None
        if room is None or member is None or not member.remote or member.sub.device_id != device_id:
            return None
        await self._remove(room, member, "left")
        return room, room.local_others(member.sub), member.sub

    async def node_gone(self, node: str) -> list[tuple[Room, list[Subscriber], Subscriber]]:
        """A node stopped (killed): its members are out of every call."""
        gone = []
        for room in list(self._rooms.values()):
            for member in list(room.members.values()):
                if member.remote and self._from_node.get(member.sub) == node:
                    await self._remove(room, member, "disconnected")
                    gone.append((room, room.local_others(member.sub), member.sub))
        return gone

    async def _remove(self, room: Room, member: Member, reason: str) -> None:
        sub = member.sub
        if member.remote:
            if room.members.get(sub.user.id) is member:
                del room.members[sub.user.id]
            self._from_node.pop(sub, None)
            if not room.members:
                self._rooms.pop(room.booking.id, None)
            return
        if room.members.get(sub.user.id) is member:
            del room.members[sub.user.id]
        joined = self._joined.get(sub)
        if joined is not None:
            joined.discard(room.booking.id)
            if not joined:
                del self._joined[sub]
        if not room.members:
            self._rooms.pop(room.booking.id, None)
        await self.auditor.record(sub.user, "call.left", "allowed", case_id=room.case.id,
                                  detail={"booking": room.booking.id, "device": sub.device_id, "reason": reason,
                                          "seconds": (now_ms() - member.joined_at) // 1000,
                                          "signals": member.signals})

    def _member(self, sub: Subscriber, case_id: str, booking_id: int) -> tuple[Room, Member]:
        room = self._rooms.get(booking_id)
        member = room.members.get(sub.user.id) if room is not None else None
        if room is None or member is None or member.sub is not sub or room.case.id != case_id:
            raise Conflict("this connection has not joined that call", code="not_in_call")
        return room, member

    # -- signals --------------------------------------------------------------------------------------
    async def signal(self, sub: Subscriber, case_id: str, booking_id: int, to_device: str, raw: bytes) -> Subscriber:
        """Check one signal and return the connection to relay it to. The server cannot read a signal; it
        checks, as for a message, that it is a well-formed envelope of this case, sent and signed by this
        connection's device, in the case's current key epoch. The receiving browser checks it again,
        decrypts it and checks who it is from and for (docs/protocol.md §16)."""
        room, member = self._member(sub, case_id, booking_id)
        target = next((s for s in room.others(sub) if s.device_id == to_device), None)
        if target is None:
            raise Conflict("that device is not in this call", code="not_in_call")
        await check_relayed(self.store, room.case, sub.user, sub.device_id, raw)
        member.signals += 1
        return target
