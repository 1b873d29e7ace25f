// The live connection: one WebSocket per page, reconnected with backoff, resumed from the last seq held
// in every followed case, so that nothing is missed across a lost connection. Frames are in
// docs/protocol.md (Transport) and web/frames.py.

const PING_EVERY_MS = 20000;
const PING_TIMEOUT_MS = 10000;
const REQUEST_TIMEOUT_MS = 20000;
const BACKOFF_FIRST_MS = 500;
const BACKOFF_MAX_MS = 15000;
// The server follows at most 200 cases a connection (web/ws.py); the inbox follows the ones that matter.
export const MAX_FOLLOWED = 150;
const CLOSE_REFUSED = 1008; // no session, or the device is not ours (revoked): reconnecting will not help

const HELLO_TIMEOUT_MS = 5000;

export class LiveError extends Error {
  constructor(code, message, retry = false, frame = false) {
    super(`${code}: ${message}`);
    this.code = code;
    this.detail = message;
    this.retry = retry; // the server may take the same frame later (storage_unavailable): send it again
    this.frame = frame; // the server's error frame, not a lost connection or a timeout here
  }
}

/**
 * Events: "state" (detail: "connecting" | "online" | "offline" | "refused"), "ready" (connected and
 * resumed), "generation" (the database was restored: every cursor is back at 0 and the cases are replayed
 * from the start; pages drop what they showed, docs/protocol.md §14.3), and one per pushed frame type:
 * "msg", "receipt", "keys", "error".
 */
export class Live extends EventTarget {
  constructor(deviceId) {
    super();
    this.deviceId = deviceId;
    this.state = "offline";
    this.cursors = new Map(); // case id -> the last seq this page holds
    this.generation = null; // the database generation those seqs belong to (from the server's hello)
    this._helloSeen = null;
    this._ws = null;
    this._pending = new Map(); // ref -> {resolve, reject, timer}
    this._refs = 0;
    this._backoff = BACKOFF_FIRST_MS;
    this._retry = null;
    this._ping = null;
    addEventListener("online", () => this.connect());
    // A lost network does not always close a WebSocket promptly; going offline closes it here, so that
    // what is written meanwhile waits in the outbox instead of in a dead socket.
    addEventListener("offline", () => this._drop());
  }

  _setState(state) {
    if (state === this.state) return;
    this.state = state;
    this.dispatchEvent(new CustomEvent("state", { detail: state }));
  }

  get online() {
    return this.state === "online";
  }

  connect() {
    clearTimeout(this._retry);
    if (this._ws || this.state === "refused") return;
    if (!navigator.onLine) {
      this._setState("offline");
      return;
    }
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const ws = new WebSocket(`${scheme}://${location.host}/ws?device=${encodeURIComponent(this.deviceId)}`);
    this._ws = ws;
    this._hello = new Promise((resolve) => { this._helloSeen = resolve; });
    this._setState("connecting");
    ws.onopen = () => this._opened(ws);
    ws.onmessage = (event) => this._frame(event.data);
    ws.onclose = (event) => this._closed(ws, event.code);
  }

  async _opened(ws) {
    this._backoff = BACKOFF_FIRST_MS;
    this._ping = setInterval(() => this._keepAlive(ws), PING_EVERY_MS);
    // Resume only once the server has named its generation: cursors of another history must not be used.
    await Promise.race([this._hello, new Promise((resolve) => setTimeout(resolve, HELLO_TIMEOUT_MS))]);
    try {
      await this._resume([...this.cursors.keys()]);
    } catch (error) {
      // The connection went away while resuming: it resumes again when it is back. Any other refusal
      // (a case no longer readable, say) must not keep the outbox from sending.
      if (error.code === "disconnected" || this._ws !== ws) return;
    }
    this._setState("online");
    this.dispatchEvent(new Event("ready"));
  }

  async _keepAlive(ws) {
    try {
      await this.request({ t: "ping" }, PING_TIMEOUT_MS);
    } catch (error) {
      if (this._ws === ws && error.code === "timeout") this._drop();
    }
  }

  /** Forget the socket now (without waiting for a closing handshake) and reconnect when possible. */
  _drop() {
    const ws = this._ws;
    if (!ws) return;
    this._closed(ws, 1006);
    ws.onclose = null;
    ws.close();
  }

  _closed(ws, code) {
    if (this._ws !== ws) return;
    this._ws = null;
    clearInterval(this._ping);
    for (const [ref, waiter] of this._pending) {
      clearTimeout(waiter.timer);
      waiter.reject(new LiveError("disconnected", "the connection closed"));
      this._pending.delete(ref);
    }
    if (code === CLOSE_REFUSED) {
      this._setState("refused");
      return;
    }
    this._setState("offline");
    if (navigator.onLine) {
      // 1013 (too far behind) and network errors alike: back off a little, then resume.
      const delay = this._backoff * (0.5 + Math.random());
      this._backoff = Math.min(this._backoff * 2, BACKOFF_MAX_MS);
      this._retry = setTimeout(() => this.connect(), delay);
    }
  }

  _frame(text) {
    let frame;
    try {
      frame = JSON.parse(text);
    } catch (error) {
      return;
    }
    if (frame.t === "hello") {
      this._helloFrame(frame);
      return;
    }
    const waiter = frame.ref !== undefined ? this._pending.get(frame.ref) : undefined;
    if (waiter) {
      this._pending.delete(frame.ref);
      clearTimeout(waiter.timer);
      if (frame.t === "error") waiter.reject(new LiveError(frame.code, frame.message, frame.retry === true, true));
      else waiter.resolve(frame);
      return;
    }
    this.dispatchEvent(new CustomEvent(frame.t, { detail: frame }));
  }

  /** The first frame of a connection: a generation other than the cursors' means a restored database. */
  _helloFrame(frame) {
    const changed = this.generation !== null && frame.generation !== this.generation;
    this.generation = frame.generation;
    if (changed) {
      for (const caseId of this.cursors.keys()) this.cursors.set(caseId, 0);
      this.dispatchEvent(new CustomEvent("generation", { detail: frame.generation }));
    }
    this._helloSeen?.();
  }

  /** Send a frame and wait for its answer (matched by ref); rejects with LiveError. */
  request(frame, timeoutMs = REQUEST_TIMEOUT_MS) {
    const ws = this._ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) {
      return Promise.reject(new LiveError("disconnected", "not connected"));
    }
    const ref = `r${++this._refs}`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this._pending.delete(ref);
        reject(new LiveError("timeout", "no answer from the server"));
      }, timeoutMs);
      this._pending.set(ref, { resolve, reject, timer });
      ws.send(JSON.stringify({ ...frame, ref }));
    });
  }

  /** Record that this page holds case `caseId` up to `seq` (once a pushed message has been handled). */
  advance(caseId, seq) {
    if (this.cursors.has(caseId) && seq > this.cursors.get(caseId)) this.cursors.set(caseId, seq);
  }

  /** Follow a case live from `seq` on: what came after it is replayed, then new messages are pushed. */
  async follow(caseId, seq) {
    this.cursors.set(caseId, Math.max(seq, this.cursors.get(caseId) ?? 0));
    if (this._ws && this._ws.readyState === WebSocket.OPEN) {
      try {
        await this._resume([caseId]);
      } catch (error) {
        // not connected after all: the next connection resumes every followed case
      }
    }
  }

  unfollow(caseId) {
    this.cursors.delete(caseId);
    if (this.online) this.request({ t: "unwatch", case_id: caseId }).catch(() => {});
  }

  async _resume(caseIds) {
    let asking = caseIds;
    while (asking.length) {
      const cursors = Object.fromEntries(asking.map((id) => [id, this.cursors.get(id) ?? 0]));
      const frame = { t: "resume", cursors };
      if (this.generation) frame.generation = this.generation;
      const answer = await this.request(frame);
      asking = (answer.more || []).filter((id) => this.cursors.has(id));
    }
  }

  /** Tell the others how far this user has received and read a case (metadata the server may see). */
  receipt(caseId, { delivered, read }) {
    if (!this.online) return;
    const frame = { t: "receipt", case_id: caseId };
    if (delivered) frame.delivered_seq = delivered;
    if (read) frame.read_seq = read;
    this.request(frame).catch(() => {});
  }
}
