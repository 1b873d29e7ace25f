// The outbox: messages written but not yet acknowledged by the server. Each is kept in IndexedDB as a
// sealed envelope (already encrypted and signed; an attachment also as its encrypted file), so it
// survives a lost connection and a reload, and goes out, in order, as soon as the connection is back.
// Sending the same message id again is safe: the server answers with the original acknowledgement.
import { b64u, parseEnvelope } from "./crypto/index.js";
import { api } from "./api.js";
import * as db from "./idb.js";

const RATE_LIMIT_PAUSE_MS = 1000;
// storage_unavailable (a full disk on the server): the message stays here and goes again, waiting longer
// each time up to the longest wait, for as long as the connection lasts.
const STORAGE_RETRY_FIRST_MS = 1000;
const STORAGE_RETRY_LONGEST_MS = 30000;

/**
 * Events: "queued" (detail: record), "acked" (detail: {record, ack}), "failed" (detail: record).
 * A record: {msg_id, user_id, case_id, created_at, env: Uint8Array, blob: Uint8Array | null, failed?: code}.
 */
export class Outbox extends EventTarget {
  constructor(session, live) {
    super();
    this.session = session;
    this.live = live;
    this._flushing = false;
    this._again = false;
    live.addEventListener("ready", () => this.flush());
  }

  _emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  /** Seal `body` for the case and queue it; `blob` is an encrypted attachment to upload first. */
  async add(caseView, body, blob = null) {
    const { msgId, env } = await this.session.sealMessage(caseView, body);
    const record = {
      msg_id: msgId, user_id: this.session.user.id, case_id: caseView.id, created_at: Date.now(), env, blob,
    };
    await db.put("outbox", record);
    this._emit("queued", record);
    this.flush();
    return record;
  }

  /** This user's waiting messages, oldest first; of one case if `caseId` is given. */
  async list(caseId = null) {
    const all = await db.byIndex("outbox", "user", this.session.user.id);
    return all.filter((r) => !caseId || r.case_id === caseId).sort((a, b) => a.created_at - b.created_at);
  }

  async discard(msgId) {
    const record = await db.get("outbox", msgId);
    await db.del("outbox", msgId);
    if (record) await this.session.unsent(record.case_id, record.env);
  }

  async retry(msgId) {
    const record = await db.get("outbox", msgId);
    if (!record) return;
    delete record.failed;
    await db.put("outbox", record);
    this.flush();
  }

  /** A message the server has stored (seen in history or pushed) no longer waits here. */
  async settled(msgId) {
    await db.del("outbox", msgId);
  }

  async flush() {
    if (this._flushing) {
      this._again = true;
      return;
    }
    this._flushing = true;
    try {
      do {
        this._again = false;
        for (const record of await this.list()) {
          if (!this.live.online) return;
          if (record.failed) continue;
          if (!await this._send(record)) return;
        }
      } while (this._again);
    } finally {
      this._flushing = false;
    }
  }

  /** Send one; false when the connection is gone (the rest wait for the next flush). */
  async _send(record) {
    try {
      if (record.blob) record = await this._upload(record);
      let ack;
      let storageWait = STORAGE_RETRY_FIRST_MS;
      for (let attempt = 0; ; attempt += 1) {
        try {
          // The attachment's id beside the envelope too: the server keeps an attachment only while a message
          // names it (docs/protocol.md §14.2).
          const frame = { t: "send", env: b64u(record.env) };
          if (record.blob_id) frame.blobs = [record.blob_id];
          ack = await this.live.request(frame);
          break;
        } catch (error) {
          if (error.code === "stale_epoch" && attempt === 0) {
            // The case key was rotated since this was sealed: seal it again with the new one.
            this.session.forgetEpoch(record.case_id);
            record = await this._reseal(record);
          } else if (error.code === "rate_limited" && attempt < 10) {
            await new Promise((resolve) => setTimeout(resolve, RATE_LIMIT_PAUSE_MS));
          } else if (error.retry) {
            await new Promise((resolve) => setTimeout(resolve, storageWait));
            storageWait = Math.min(storageWait * 2, STORAGE_RETRY_LONGEST_MS);
          } else {
            throw error;
          }
        }
      }
      await db.del("outbox", record.msg_id);
      await this.session.stored(record.case_id, record.env, ack.seq);
      this._emit("acked", { record, ack });
      return true;
    } catch (error) {
      if (["disconnected", "timeout", "offline"].includes(error.code)) return false;
      record.failed = error.code || "error";
      await db.put("outbox", record);
      this._emit("failed", record);
      return true;
    }
  }

  async _upload(record) {
    const answer = await api("POST", `/api/cases/${encodeURIComponent(record.case_id)}/blobs`, record.blob);
    const sealed = await this._reseal(record, (body) => ({ ...body, blob_id: answer.blob_id }));
    sealed.blob = null;
    sealed.blob_id = answer.blob_id;
    await db.put("outbox", sealed);
    return sealed;
  }

  /**
   * Open our own envelope, change the body if asked, and seal it again under the same message id and the
   * same place in the case's transcript (its counter; a version 1 one from before gets the next).
   */
  async _reseal(record, change = (body) => body) {
    const caseView = await this.session.caseView(record.case_id);
    const { body } = await this.session.openOwn(caseView, record.env);
    const counter = parseEnvelope(record.env).header.counter ?? null;
    const { env } = await this.session.sealMessage(caseView, change(body), record.msg_id, counter);
    const updated = { ...record, env };
    await db.put("outbox", updated);
    return updated;
  }
}
