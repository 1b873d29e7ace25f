"""The WebSocket endpoint: authenticate before accepting, then read frames, answer, and write the
connection's outbox. Every frame is validated (web.frames) and decided by the policy (in chat)."""
from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from starlette.websockets import WebSocket, WebSocketDisconnect

from chat.errors import SamtalError
from chat.messaging.hub import FrameKey, Outbox, Subscriber
from chat.model import Ack, Case, User, now_ms
from chat.policy import Action
from web import frames
from web.calls import CallFrames
from web.frames import FrameError

if TYPE_CHECKING:
    from web.app import Services

log = logging.getLogger("samtal.ws")

# One resume answers with at most this many messages (and at most half the outbox, leaving room for live
# traffic while the replay drains); the client asks again for cases listed in "more".
REPLAY_BUDGET = 500
CLOSE_TOO_SLOW = 1013  # "try again later": the client fell behind and should reconnect and resume
CLOSE_RESTART = 1012  # "service restart": the node drains (web/drain.py); reconnect and resume
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


def origin_allowed(websocket: WebSocket, allowed: tuple[str, ...]) -> bool:
    """Browsers always send Origin; it must be this server or a configured origin. Non-browser clients
    (the CLI) send none, and they cannot ride on a victim's cookies."""
    origin = websocket.headers.get("origin")
    if origin is None:
        return True
    if origin in allowed:
        return True
    host = websocket.headers.get("host", "")
    parts = urlsplit(origin)
    return parts.scheme in {"http", "https"} and parts.netloc == host and bool(host)


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


async def websocket_endpoint(websocket: WebSocket) -> None:
    services: Services = websocket.app.state.services
    # Refuse before accepting: the handshake gets HTTP 403 and no frame is ever read from it.
    if not origin_allowed(websocket, services.settings.allowed_origins):
        await _refuse(services, websocket, None, "bad_origin")
        return
    user = await services.sessions.user_of(websocket)
    if user is None:
        await _refuse(services, websocket, None, "no_session")
        return
    device_id = websocket.query_params.get("device", "")
    device = await services.store.get_device(device_id) if device_id else None
    if device is None or device.user_id != user.id or not device.active:
        await _refuse(services, websocket, user, "device_not_owned")
        return
    await websocket.accept()
    # First frame of every connection: the database generation the client's cursors must belong to.
    await websocket.send_text(frames.dump({"t": "hello", "generation": services.generation}))
    await Connection(services, websocket, user, device_id).run()


async def _refuse(services: Services, websocket: WebSocket, user: User | None, reason: str) -> None:
    log.info("websocket refused", extra={"reason": reason})
    await services.store.add_security_event(f"ws_{reason}", user_id=user.id if user else None, device_id=None,
                                            case_id=None, detail="websocket handshake refused",
                                            at=now_ms())
    await websocket.close(code=1008)


class Connection(CallFrames):
    def __init__(self, services: Services, websocket: WebSocket, user: User, device_id: str) -> None:
        self.services = services
        self.websocket = websocket
        self.user = user
        self.device_id = device_id
        self.sub = Subscriber(user, device_id, Outbox(services.settings.outbox_limit))
        self.sends = TokenBucket(services.settings.send_rate, services.settings.send_burst)
        # A call's ICE candidates come in bursts like an outbox flush; the same limits, counted apart.
        self.signals = TokenBucket(services.settings.send_rate, services.settings.send_burst)
        self.writer: asyncio.Task[None] | None = None
        self.in_flight = asyncio.Semaphore(SENDS_IN_FLIGHT)
        self.acking: set[asyncio.Task[None]] = set()
        self.reader: asyncio.Task[None] | None = None
        self.sub.outbox.on_overflow = self._cut_off
        self.handling = False  # a frame is being handled: a drain lets it finish before the reader stops
        self.draining = False
        self.closed = asyncio.Event()

    def reply(self, frame: str) -> None:
        self.sub.outbox.offer(frame)

    async def run(self) -> None:
        hub = self.services.hub
        hub.join(self.sub)
        self.services.draining.connections.add(self)
        self.writer = asyncio.create_task(self._write())
        self.reader = asyncio.create_task(self._read())
        try:
            await asyncio.wait({self.reader})  # ends when the peer leaves, the connection is cut off or drained
        finally:
            self.reader.cancel()
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
            await self._close()
        finally:
            self.closed.set()

    async def _close(self) -> None:
        if self.sub.outbox.overflowed:
            await self._close_too_slow()
        elif self.draining:
            with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError, asyncio.TimeoutError):
                await asyncio.wait_for(self.websocket.close(code=CLOSE_RESTART, reason="server restarting; resume"),
                                       CLOSE_GRACE_SECONDS)

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
        except (WebSocketDisconnect, RuntimeError, OSError):
            pass  # the peer is gone; the reader notices too

    def _cut_off(self) -> None:
        """The client is a full outbox behind: stop serving it now, whatever its socket is doing."""
        log.info("connection cut off: too far behind", extra={"device": self.device_id})
        for task in (self.writer, self.reader):
            if task is not None:
                task.cancel()

    async def _close_too_slow(self) -> None:
        """Close with 1013 (reconnect and resume) if the client takes the close frame within the grace
        period; a client that has stopped reading altogether just loses the connection."""
        with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError, asyncio.TimeoutError):
            await asyncio.wait_for(self.websocket.close(code=CLOSE_TOO_SLOW, reason="too far behind; resume"),
                                   CLOSE_GRACE_SECONDS)

    async def _handle(self, text: str) -> None:
        ref, frame = None, None
        try:
            frame = frames.parse_client_frame(text)
            ref = frame.get("ref")
            await getattr(self, "_on_" + frame["t"].replace(".", "_"))(frame, ref)
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

    async def _on_ping(self, frame: dict[str, Any], ref: str | None) -> None:
        self.reply(frames.dump({"t": "pong", "ref": ref}))

    async def _on_send(self, frame: dict[str, Any], ref: str | None) -> None:
        if not self.sends.take():
            self.reply(frames.error_frame("rate_limited", "too many messages; slow down", ref))
            return
        raw = frames.envelope_bytes(frame, ref)
        await self.in_flight.acquire()  # back-pressure: at most SENDS_IN_FLIGHT uncommitted sends
        try:
            committed = await self.services.messages.submit(self.user, self.device_id, raw, origin=self.sub)
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

    async def _on_receipt(self, frame: dict[str, Any], ref: str | None) -> None:
        await self.services.messages.mark(self.user, frame["case_id"], delivered_seq=frame.get("delivered_seq", 0),
                                          read_seq=frame.get("read_seq", 0))
        self.reply(frames.dump({"t": "ok", "ref": ref}))

    # A connection may watch this many cases at once: an inbox has one or a few open, not thousands.
    MAX_WATCHED = 200

    async def _on_watch(self, frame: dict[str, Any], ref: str | None) -> None:
        case = await self._readable(frame["case_id"])
        if len(self.sub.watching) >= self.MAX_WATCHED and case.id not in self.sub.watching:
            raise FrameError("too_many_watched", f"watch at most {self.MAX_WATCHED} cases at once", ref)
        self.services.hub.watch(self.sub, case.id)
        self.reply(frames.dump({"t": "ok", "ref": ref}))

    async def _on_unwatch(self, frame: dict[str, Any], ref: str | None) -> None:
        self.services.hub.unwatch(self.sub, frame["case_id"])
        self.reply(frames.dump({"t": "ok", "ref": ref}))

    async def _on_journal_live(self, frame: dict[str, Any], ref: str | None) -> None:
        """A snapshot of the sender's own draft, shared live (chat/journal/service.py): checked, kept, relayed."""
        if not self.sends.take():
            raise FrameError("rate_limited", "too many draft snapshots; slow down", ref)
        await self.services.journal.share(self.sub, frame["case_id"], frame["entry_id"],
                                          frames.envelope_bytes(frame, ref), frame["env"])
        self.reply(frames.dump({"t": "ok", "ref": ref}))

    async def _on_journal_live_end(self, frame: dict[str, Any], ref: str | None) -> None:
        await self.services.journal.stop_sharing(self.sub, frame["case_id"], frame["entry_id"])
        self.reply(frames.dump({"t": "ok", "ref": ref}))

    async def _readable(self, case_id: str) -> Case:
        return await self.services.messages.case_for(self.user, case_id, Action.CASE_READ)

    async def _on_resume(self, frame: dict[str, Any], ref: str | None) -> None:
        messages = self.services.messages
        cursors: dict[str, int] = frame["cursors"]
        if frame.get("generation", self.services.generation) != self.services.generation:
            # Those seqs are of another database's history (a restore): replaying after them would skip
            # the messages that reuse their numbers. The client drops them and fetches the cases afresh.
            raise FrameError("generation_changed", "the database was restored: drop your cursors and fetch "
                             "the cases afresh (generation " + self.services.generation + ")", ref)
        if len(cursors) + len(self.sub.watching - cursors.keys()) > self.MAX_WATCHED:
            raise FrameError("too_many_watched", f"watch at most {self.MAX_WATCHED} cases at once", ref)
        for case_id in cursors:  # every case is checked before anything is replayed
            await self._readable(case_id)
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
