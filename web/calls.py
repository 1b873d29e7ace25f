"""The video call over the WebSocket and HTTP (chat/booking/calls.py, docs/protocol.md §16): the call.* frames a
connection handles, what the other participant is pushed, and the call's details with the STUN/TURN servers
(GET /api/cases/{case_id}/calls/{booking_id}), which only the call's own people get."""
from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

from starlette.responses import JSONResponse, Response

from chat.booking.calls import Room, why_closed, window
from chat.messaging.cluster import Node, Relay
from chat.messaging.hub import Subscriber
from chat.model import now_ms
from chat.policy import Action
from web import frames, turn
from web.apischema import ANY_OBJECT, BOOL, ID, MS, STR, array, enum, integer, nullable, obj
from web.frames import FrameError
from web.guard import Resolved
from web.httpapi import Ctx, RouteTable

api = RouteTable()  # this feature's routes, listed in web/app.py

if TYPE_CHECKING:
    from collections.abc import Callable

    from web.app import Services
    from web.config import Settings
    from web.ws import TokenBucket


class CallFrames:
    """The call.* frame handlers of a WebSocket connection (mixed into web.ws.Connection)."""

    # Set by the connection: its services, its place in the hub, its answers, and a rate limit for signals.
    services: Services
    sub: Subscriber
    reply: Callable[[str], None]
    signals: TokenBucket

    async def _on_call_join(self, frame: dict[str, Any], ref: str | None, resolved: Resolved) -> None:
        joined = await self.services.calls.join(self.sub, frame["case_id"], frame["booking_id"])
        room = joined.room
        if joined.replaced is not None:
            if not isinstance(joined.replaced.outbox, Relay):  # on another node, that node tells it
                joined.replaced.outbox.offer(frames.call_ended_frame(room.case.id, room.booking.id, "joined_elsewhere"))
            _tell(room, joined.others, "left", joined.replaced, "joined_elsewhere")
        _tell(room, joined.others, "joined", self.sub)
        _announce(self.services.node, "join", room, self.sub)
        self.reply(frames.dump({"t": "call.joined", "ref": ref, "case_id": room.case.id, "booking_id": room.booking.id,
                                "peers": [{"user": s.user.id, "device": s.device_id} for s in room.others(self.sub)]}))

    async def _on_call_signal(self, frame: dict[str, Any], ref: str | None, resolved: Resolved) -> None:
        if not self.signals.take():
            raise FrameError("rate_limited", "too many call signals; slow down", ref)
        raw = frames.envelope_bytes(frame, ref)
        target = await self.services.calls.signal(self.sub, frame["case_id"], frame["booking_id"], frame["to"], raw)
        target.outbox.offer(frames.call_signal_frame(frame["case_id"], frame["booking_id"], self.sub.user.id,
                                                     self.sub.device_id, frame["env"]))
        self.reply(frames.dump({"t": "ok", "ref": ref}))

    async def _on_call_hangup(self, frame: dict[str, Any], ref: str | None, resolved: Resolved) -> None:
        room, others = await self.services.calls.leave(self.sub, frame["case_id"], frame["booking_id"], "hangup")
        _tell(room, others, "left", self.sub, "hangup")
        _announce(self.services.node, "leave", room, self.sub, "hangup")
        self.reply(frames.dump({"t": "ok", "ref": ref}))

    async def leave_calls(self) -> None:
        """The connection ended: the others in its calls are told it is gone (it may come back)."""
        for room, others in await self.services.calls.leave_all(self.sub, "disconnected"):
            _tell(room, others, "left", self.sub, "disconnected")
            _announce(self.services.node, "leave", room, self.sub, "disconnected")


def _tell(room: Room, others: list[Subscriber], event: str, who: Subscriber, reason: str | None = None) -> None:
    """Tell this node's connections in the call; each other node tells its own (from the notice on the bus)."""
    frame = frames.call_peer_frame(room.case.id, room.booking.id, event, who.user.id, who.device_id, reason)
    for sub in others:
        if not isinstance(sub.outbox, Relay):
            sub.outbox.offer(frame)


def _announce(node: Node | None, op: str, room: Room, who: Subscriber, reason: str | None = None) -> None:
    """Several nodes: a join or leave here, told to the others (their rooms keep a relay for this connection)."""
    if node is not None:
        node.tell({"k": "call", "op": op, "c": room.case.id, "b": room.booking.id, "u": who.user.id,
                   "d": who.device_id, "why": reason})


def serve_calls_across_nodes(services: Services) -> None:
    """Several nodes: the calls' joins and leaves on other nodes, and nodes that are gone, in this node's rooms.
    A signal to a member on another node goes through its relay (chat/messaging/cluster.Relay)."""
    node = services.node
    if node is None:
        return
    calls = services.calls
    pending: set[asyncio.Task[None]] = set()

    def later(work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        pending.add(task)
        task.add_done_callback(pending.discard)

    async def joined(sender: str, notice: dict[str, Any]) -> None:
        user = await services.store.get_user(notice["u"])
        if user is None:
            return
        assert node is not None
        proxy = node.relay_to(user, notice["d"])
        found = await calls.remote_joined(notice["c"], notice["b"], proxy, sender)
        if found is None:
            return
        room, local, replaced = found
        if replaced is not None:
            replaced.outbox.offer(frames.call_ended_frame(room.case.id, room.booking.id, "joined_elsewhere"))
            _tell(room, local, "left", replaced, "joined_elsewhere")
        _tell(room, local, "joined", proxy)

    async def left(notice: dict[str, Any]) -> None:
        found = await calls.remote_left(notice["b"], notice["u"], notice["d"])
        if found is not None:
            room, local, proxy = found
            _tell(room, local, "left", proxy, notice.get("why") or "hangup")

    async def gone(sender: str) -> None:
        for room, local, proxy in await calls.node_gone(sender):
            _tell(room, local, "left", proxy, "disconnected")

    def on_notice(sender: str, notice: dict[str, Any]) -> None:
        later(joined(sender, notice) if notice["op"] == "join" else left(notice))

    def say_again() -> None:  # a node that started mid-call learns who is in it (a repeated join changes nothing)
        for room, sub in calls.members_here():
            _announce(node, "join", room, sub)

    node.handlers["call"] = on_notice
    node.on_gone.append(lambda sender: later(gone(sender)))
    node.on_asked.append(say_again)


PERSON = obj({"id": ID, "name": nullable(STR)})
CALL = obj({
    "call": obj({"case_id": ID, "booking_id": integer(), "form": STR, "status": STR, "starts_at": MS, "ends_at": MS,
                 "opens_at": MS, "closes_at": MS, "open": BOOL, "citizen": PERSON, "caseworker": PERSON,
                 "unit_side": array(PERSON)}),
    "ice_servers": array(ANY_OBJECT, description="RTCIceServer objects: urls, and username and credential for TURN"),
    "ice_transport_policy": enum("relay", "all"), "relay_available": BOOL})


@api("/api/cases/{case_id}/calls/{booking_id:int}", "GET", action=Action.CALL_JOIN, response=CALL)
async def call_details(ctx: Ctx) -> Response:
    """The call of a booked video meeting: when it can be joined, who takes part, and the STUN/TURN servers
    (with any TURN credentials: only the call's own people are given them)."""
    calls = ctx.services.calls
    case, booking = await calls.authorize(ctx.user, ctx.request.path_params["case_id"],
                                          ctx.request.path_params["booking_id"])
    opens, closes = window(booking)
    store = ctx.services.store

    async def person(user_id: str) -> dict[str, Any]:
        user = await store.get_user(user_id)
        return {"id": user_id, "name": user.display_name if user else None}

    return JSONResponse({
        "call": {"case_id": case.id, "booking_id": booking.id, "form": booking.form, "status": booking.status,
                 "starts_at": booking.slot.starts_at, "ends_at": booking.slot.ends_at, "opens_at": opens,
                 "closes_at": closes, "open": why_closed(booking, now_ms()) is None,
                 "citizen": await person(case.citizen_id), "caseworker": await person(booking.slot.caseworker),
                 "unit_side": [await person(u) for u in await calls.unit_side(case, booking)]},
        **ice_config(ctx.services.settings, ctx.user.id, closes, await calls.relay_needed(case))})


def ice_config(settings: Settings, user_id: str, closes_at: int, protected: bool) -> dict[str, Any]:
    """What the browser's RTCPeerConnection is made with: the configured STUN/TURN servers, a TURN credential
    of this person's that expires when the call closes, and whether to use the relay only (for every call,
    or for a citizen with a protected identity; `relay_available` False: such a call cannot be held)."""
    servers = list(settings.ice_servers)
    if settings.turn_secret:
        servers.append(turn.ice_server(settings.turn_secret, settings.turn_urls, user_id, closes_at))
    relay = settings.call_relay_only or protected
    return {"ice_servers": servers, "ice_transport_policy": "relay" if relay else "all",
            "relay_available": settings.has_turn}
