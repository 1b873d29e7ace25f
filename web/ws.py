"""The WebSocket endpoint: authenticate before accepting, then read frames, answer, and write the
connection's outbox. Every frame is validated (web.frames) and decided by the policy (in chat)."""
from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import TYPE_CHECKING, Any

from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from chat.errors import SamtalError
from chat.messaging.hub import FrameKey, Outbox, Subscriber
from chat.model import Ack, User, now_ms
from web import frames
from web.calls import CallFrames
from web.frames import FrameError
from web.guard import NOBODY, Resolved, record_refusal, resolve
from web.origin import origin_allowed
from web.sessions import TOUCH_INTERVAL_MS, Session

if TYPE_CHECKING:
    from web.app import Services

log = logging.getLogger("samtal.ws")

# One resume answers with at most this many messages (and at most half the outbox, leaving room for live
# traffic while the replay drains); the client asks again for cases listed in "more".
REPLAY_BUDGET = 500
CLOSE_TOO_SLOW = 1013  # "try again later": the client fell behind and should reconnect and resume
CLOSE_RESTART = 1012  # "service restart": the node drains (web/drain.py); reconnect and resume
CLOSE_POLICY = 1008  # the sign-in ended (signed out, expired, device revoked, access changed): sign in again
CLOSE_INTERNAL_ERROR = 1011  # the server could not go on serving this connection
# A connection re-reads its session at least this often (expiry is also timed exactly): a session ended
# by another process, or deleted by an operator, ends the connection within this time.
SESSION_RECHECK_MS = 30_000
CLOSE_GRACE_SECONDS = 1.0
# Sends a connection may have queued but not yet committed. Checks and queueing keep the order of a
# connection's frames; waiting for each commit before reading the next frame kept batches tiny.
SENDS_IN_FLIGHT = 64
# Frames that read or mark case data are audited here, once they succeed; `send` is audited in the same
# transaction as the message it stores, `ping` touches no case data. Refusals are audited as they happen.
AUDITED_FRAMES = frozenset({"resume", "receipt", "watch", "unwatch"})


def refusal_frame(error: SamtalError, ref: str | None) -> str:
    """An error frame for a domain error; `retry: true` when the same frame may succeed later unchanged
    (storage_unavailable): clients keep the message and send it again, with backoff."""
    extra = {"retry": True} if getattr(error, "retry", False) else {}
    return frames.error_frame(error.code, error.message, ref, **extra)


class TokenBucket:
    __slots__ = ("rate", "capacity", "tokens", "stamp")

    def __init__(self, rate: float, capacity: float) -> None:
        self.rate, self.capacity, self.tokens, self.stamp = rate, capacity, capacity, time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


def websocket_route(services: Services) -> Callable[[WebSocket], Awaitable[None]]:
    """The /ws endpoint of one server's services (listed in web/app.py)."""
    async def endpoint(websocket: WebSocket) -> None:
        await websocket_endpoint(services, websocket)
    return endpoint


async def websocket_endpoint(services: Services, websocket: WebSocket) -> None:
    # Refuse before accepting: the handshake gets HTTP 403 and no frame is ever read from it.
    if not origin_allowed(websocket, services.settings):
        await _refuse(services, websocket, None, "bad_origin")
        return
    session = await services.sessions.session_of(websocket)
    if session is None:
        await _refuse(services, websocket, None, "no_session")
        return
    user = session.user
    device_id = websocket.query_params.get("device", "")
    device = await services.store.get_device(device_id) if device_id else None
    if device is None or device.user_id != user.id or not device.active:
        await _refuse(services, websocket, user, "device_not_owned")
        return
    # At most so many sockets per device and per person: each has its own send limit and outbox, so
    # unbounded sockets would multiply both. Counted and joined with no await between, so that a burst of
    # handshakes cannot slip past the count.
    settings, hub = services.settings, services.hub
    if hub.connections_of(user.id, device_id) >= settings.max_sockets_per_device or \
            hub.connections_of(user.id) >= settings.max_sockets_per_account:
        await _refuse(services, websocket, user, "too_many_connections")
        return
    connection = Connection(services, websocket, session, device_id)
    hub.join(connection.sub)
    try:
        await websocket.accept()
        # First frame of every connection: the database generation the client's cursors must belong to.
        await websocket.send_text(frames.dump({"t": "hello", "generation": services.generation}))
    except BaseException:
        hub.leave(connection.sub)
        raise
    await connection.run()


async def _refuse(services: Services, websocket: WebSocket, user: User | None, reason: str) -> None:
    log.info("websocket refused", extra={"reason": reason})
    await services.store.add_security_event(f"ws_{reason}", user_id=user.id if user else None, device_id=None,
                                            case_id=None, detail="websocket handshake refused",
                                            at=now_ms())
    await websocket.close(code=1008)


class Connection(CallFrames):
    def __init__(self, services: Services, websocket: WebSocket, session: Session, device_id: str) -> None:
        self.services = services
        self.websocket = websocket
        self.session = session
        self.user = user = session.user
        self.device_id = device_id
        self.sub = Subscriber(user, device_id, Outbox(services.settings.outbox_limit), session=session.key)
        self.sends = TokenBucket(services.settings.send_rate, services.settings.send_burst)
        # A call's ICE candidates come in bursts like an outbox flush; the same limits, counted apart.
        self.signals = TokenBucket(services.settings.send_rate, services.settings.send_burst)
        self.writer: asyncio.Task[None] | None = None
        self.in_flight = asyncio.Semaphore(SENDS_IN_FLIGHT)
        self.acking: set[asyncio.Task[None]] = set()
        self.reader: asyncio.Task[None] | None = None
        self.writer_failed = False
        self.sub.outbox.on_overflow = self._cut_off
        self.handling = False  # a frame is being handled: a drain lets it finish before the reader stops
        self.draining = False
        self.closed = asyncio.Event()

    def reply(self, frame: str) -> None:
        self.sub.outbox.offer(frame)

    async def run(self) -> None:
        """Serve the connection (already in the hub) until the peer leaves, it is cut off, or its sign-in
        ends."""
        hub = self.services.hub
        self.services.draining.connections.add(self)
        self.writer = asyncio.create_task(self._write())
        self.reader = asyncio.create_task(self._read())
        watchdog = asyncio.create_task(self._watch_session())
        try:
            await asyncio.wait({self.reader})  # ends when the peer leaves, the connection is cut off or drained
        finally:
            self.reader.cancel()
            watchdog.cancel()
            self.services.draining.connections.discard(self)
            if self.draining and self.acking:  # commits in flight: their acks go out before the close
                await asyncio.wait(set(self.acking))
            hub.leave(self.sub)
            try:
                await self.leave_calls()
            except Exception:  # noqa: BLE001 (the connection must still be closed down)
                log.exception("leaving the calls of a closed connection failed")
            try:
                await self.services.journal.connection_closed(self.sub)  # its drafts are no longer shared live
            except Exception:  # noqa: BLE001 (the connection must still be closed down)
                log.exception("ending the live drafts of a closed connection failed")
            self.sub.outbox.close()
            await asyncio.wait({self.writer})
        try:
            if self.writer_failed:
                await self._close_with(CLOSE_INTERNAL_ERROR, "the server could not write to this connection")
            elif self.sub.ended:
                await self._close_with(CLOSE_POLICY, "signed out, or access ended")
            elif self.sub.outbox.overflowed:
                await self._close_with(CLOSE_TOO_SLOW, "too far behind; resume")
            elif self.draining:
                await self._close_with(CLOSE_RESTART, "server restarting; resume")
        finally:
            self.closed.set()

    async def drain(self) -> None:
        """Stop reading frames (the one being handled finishes), let the sends in flight commit and ack,
        then close with 1012; returns when the connection is closed down."""
        self.draining = True
        if not self.handling and self.reader is not None:
            self.reader.cancel()  # waiting for a frame (or for room): nothing of the client's is lost
        await self.closed.wait()

    async def _read(self) -> None:
        try:
            while True:
                await self.sub.outbox.room()
                message = await self.websocket.receive()
                if message["type"] == "websocket.disconnect":
                    return
                text = message.get("text")
                if text is None:
                    self.reply(frames.error_frame("malformed_frame", "frames are JSON text, not binary"))
                    continue
                self.handling = True
                try:
                    await self._handle(text)
                finally:
                    self.handling = False
                if self.draining:
                    return
        except WebSocketDisconnect:
            pass

    async def _write(self) -> None:
        try:
            while (batch := await self.sub.outbox.take()) is not None:
                for frame in batch:
                    await self.websocket.send_text(frame)
        except (WebSocketDisconnect, OSError):
            pass  # the peer is gone; the reader notices too
        except RuntimeError as error:
            if self.websocket.application_state == WebSocketState.CONNECTED and \
                    self.websocket.client_state == WebSocketState.CONNECTED:
                self._writer_failed(error)
        except Exception as error:  # noqa: BLE001 (a connection that cannot be written to must not stay open)
            self._writer_failed(error)

    def _writer_failed(self, error: BaseException) -> None:
        """Nothing more can reach the client: say so in the log and close the socket with 1011, rather than
        keep a connection that reads frames and never answers."""
        log.error("websocket writer failed", extra={"error": type(error).__name__, "device": self.device_id})
        self.writer_failed = True
        if self.reader is not None:
            self.reader.cancel()

    async def _used(self) -> None:
        """The person uses the connection: their sign-in stays alive as with any request (at most one write
        a minute, as web/sessions.py)."""
        now = now_ms()
        if now - self.session.last_seen >= TOUCH_INTERVAL_MS:
            self.session = dataclasses.replace(self.session, last_seen=now)
            await self.services.store.touch_session(self.session.key, now)

    async def _watch_session(self) -> None:
        """End the connection when its sign-in ends: signed out elsewhere, expired, or idle too long (the
        socket's own use counts, see _handle). Sign-out on this server cuts at once through the hub; this
        catches expiry, and sessions ended where the hub does not hear of it."""
        sessions = self.services.sessions
        while True:
            wait_ms = min(sessions.ends_at(self.session) - now_ms(), SESSION_RECHECK_MS)
            await asyncio.sleep(max(wait_ms, 0) / 1000)
            session = await sessions.alive(self.session.key, used=False)
            if session is None or (session.user.role, session.user.unit_id) != (self.user.role, self.user.unit_id):
                self.sub.ended = True
                self.sub.outbox.cut()
                return
            self.session = session

    def _cut_off(self) -> None:
        """The client is a full outbox behind: stop serving it now, whatever its socket is doing."""
        log.info("connection cut off: too far behind", extra={"device": self.device_id})
        for task in (self.writer, self.reader):
            if task is not None:
                task.cancel()

    async def _close_with(self, code: int, reason: str) -> None:
        """Close with `code` (1013, 1012: reconnect and resume; 1008: sign in again; 1011: the server failed) if the
        client takes the close frame within the grace period; a client that has stopped reading altogether
        just loses the connection."""
        with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError, asyncio.TimeoutError):
            await asyncio.wait_for(self.websocket.close(code=code, reason=reason), CLOSE_GRACE_SECONDS)

    async def _authorize(self, kind: str, frame: dict[str, Any], ref: str | None) -> Resolved | None:
        """The frame's policy action (web/frames.CLIENT_FRAMES) decided on the case its fields name, as for an
        HTTP route (web/guard.py). `send` names its case inside the signed envelope: the delivery check
        decides it there, with the same policy. None: refused, and answered with an error frame."""
        _, action = frames.CLIENT_FRAMES[kind]
        names_of = [{"case_id": case_id} for case_id in frame["cursors"]] if kind == "resume" else [frame]
        if kind == "send":
            return NOBODY
        resolved = NOBODY
        for names in names_of:
            try:
                resolved = await resolve(self.services, self.user, action, names)
            except SamtalError as error:
                await record_refusal(self.services, self.user, f"ws.{kind}", error, names, {"device": self.device_id})
                self.reply(frames.error_frame(error.code, error.message, ref))
                return None
        return resolved

    async def _handle(self, text: str) -> None:
        ref, frame = None, None
        try:
            frame = frames.parse_client_frame(text)
            ref = frame.get("ref")
            if frame["t"] != "ping":
                await self._used()
            resolved = await self._authorize(frame["t"], frame, ref)
            if resolved is None:
                return
            await getattr(self, "_on_" + frame["t"].replace(".", "_"))(frame, ref, resolved)
            if frame["t"] in AUDITED_FRAMES:
                for case_id in frame["cursors"] if frame["t"] == "resume" else [frame["case_id"]]:
                    await self.services.messages.auditor.record(
                        self.user, f"ws.{frame['t']}", "allowed", case_id=case_id, detail={"device": self.device_id})
        except FrameError as error:
            self.reply(frames.error_frame(error.code, error.message, error.ref))
        except SamtalError as error:
            if frame is not None and frame["t"] != "send":  # send records its refusals itself
                await self.services.messages.record_refusal(
                    error, self.user, self.device_id, frame.get("case_id") or next(iter(frame.get("cursors", {})), None),
                    action=f"ws.{frame['t']}")
            self.reply(refusal_frame(error, ref))
        except Exception:
            log.exception("frame handler failed")
            self.reply(frames.error_frame("internal_error", "the server could not handle this frame", ref))

    async def _on_ping(self, frame: dict[str, Any], ref: str | None, resolved: Resolved) -> None:
        self.reply(frames.dump({"t": "pong", "ref": ref}))

    async def _on_send(self, frame: dict[str, Any], ref: str | None, resolved: Resolved) -> None:
        if not self.sends.take():
            self.reply(frames.error_frame("rate_limited", "too many messages; slow down", ref))
            return
        raw = frames.envelope_bytes(frame, ref)
        await self.in_flight.acquire()  # back-pressure: at most SENDS_IN_FLIGHT uncommitted sends
        try:
            committed = await self.services.messages.submit(self.user, self.device_id, raw, origin=self.sub,
                                                            blobs=tuple(frame.get("blobs", ())))
        except BaseException:
            self.in_flight.release()
            raise
        task = asyncio.create_task(self._ack_when_committed(committed, ref))
        self.acking.add(task)
        task.add_done_callback(self.acking.discard)

    async def _ack_when_committed(self, committed: Coroutine[Any, Any, Ack], ref: str | None) -> None:
        try:
            ack = await committed
            self.reply(frames.dump({"t": "ack", "ref": ref, "case_id": ack.case_id, "msg_id": ack.msg_id,
                                    "seq": ack.seq, "stored_at": ack.stored_at, "duplicate": ack.duplicate}))
        except SamtalError as error:
            self.reply(refusal_frame(error, ref))
        except Exception:
            log.exception("send failed after it was queued")
            self.reply(frames.error_frame("internal_error", "the message could not be stored", ref))
        finally:
            self.in_flight.release()

    async def _on_receipt(self, frame: dict[str, Any], ref: str | None, resolved: Resolved) -> None:
        await self.services.messages.mark(self.user, frame["case_id"], delivered_seq=frame.get("delivered_seq", 0),
                                          read_seq=frame.get("read_seq", 0))
        self.reply(frames.dump({"t": "ok", "ref": ref}))

    # A connection may watch this many cases at once: an inbox has one or a few open, not thousands.
    MAX_WATCHED = 200

    async def _on_watch(self, frame: dict[str, Any], ref: str | None, resolved: Resolved) -> None:
        case = resolved.case
        assert case is not None
        if len(self.sub.watching) >= self.MAX_WATCHED and case.id not in self.sub.watching:
            raise FrameError("too_many_watched", f"watch at most {self.MAX_WATCHED} cases at once", ref)
        self.services.hub.watch(self.sub, case.id)
        self.reply(frames.dump({"t": "ok", "ref": ref}))

    async def _on_unwatch(self, frame: dict[str, Any], ref: str | None, resolved: Resolved) -> None:
        self.services.hub.unwatch(self.sub, frame["case_id"])
        self.reply(frames.dump({"t": "ok", "ref": ref}))

    async def _on_journal_live(self, frame: dict[str, Any], ref: str | None, resolved: Resolved) -> None:
        """A snapshot of the sender's own draft, shared live (chat/journal/service.py): checked, kept, relayed."""
        if not self.sends.take():
            raise FrameError("rate_limited", "too many draft snapshots; slow down", ref)
        await self.services.journal.share(self.sub, frame["case_id"], frame["entry_id"],
                                          frames.envelope_bytes(frame, ref), frame["env"])
        self.reply(frames.dump({"t": "ok", "ref": ref}))

    async def _on_journal_live_end(self, frame: dict[str, Any], ref: str | None, resolved: Resolved) -> None:
        await self.services.journal.stop_sharing(self.sub, frame["case_id"], frame["entry_id"])
        self.reply(frames.dump({"t": "ok", "ref": ref}))

    async def _on_resume(self, frame: dict[str, Any], ref: str | None, resolved: Resolved) -> None:
        messages = self.services.messages
        cursors: dict[str, int] = frame["cursors"]
        if frame.get("generation", self.services.generation) != self.services.generation:
            # Those seqs are of another database's history (a restore): replaying after them would skip
            # the messages that reuse their numbers. The client drops them and fetches the cases afresh.
            raise FrameError("generation_changed", "the database was restored: drop your cursors and fetch "
                             "the cases afresh (generation " + self.services.generation + ")", ref)
        if len(cursors) + len(self.sub.watching - cursors.keys()) > self.MAX_WATCHED:
            raise FrameError("too_many_watched", f"watch at most {self.MAX_WATCHED} cases at once", ref)
        outbox = self.sub.outbox
        for case_id in cursors:  # resuming a case means following it live from here on
            self.services.hub.watch(self.sub, case_id)
        outbox.hold()
        replay: list[tuple[FrameKey, str]] = []
        lagging: set[str] = set()
        positions: dict[str, int] = {}
        try:
            for case_id, after in cursors.items():
                budget = min(REPLAY_BUDGET, self.services.settings.outbox_limit // 2) - len(replay)
                batch = await messages.store.messages_after(case_id, after, budget + 1) if budget > 0 else []
                if budget <= 0 or len(batch) > budget:
                    lagging.add(case_id)  # the client asks again for what did not fit
                    batch = batch[:max(budget, 0)]
                replay += [((m.case_id, m.seq), frames.message_frame(m)) for m in batch]
                positions[case_id] = batch[-1].seq if batch else after
        finally:
            outbox.release(replay, lagging, cursors.keys())
        self.reply(frames.dump({"t": "resumed", "ref": ref, "cursors": positions, "more": sorted(lagging),
                                "generation": self.services.generation}))
