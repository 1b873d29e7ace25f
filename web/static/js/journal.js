// Dokumentation (the case journal) in the browser (docs/documentation.md). Every entry version, supplement,
// remark and response is a sealed record (crypto/record.js) under a fresh key, granted to the unit's current
// key epoch (its public key checked against the signed epoch publication) and, where the citizen may read
// it, to the case key. The sealing, the grants and the key lookup are the applications' (same records, same
// checks): JournalClient extends ApplicationClient. A record is opened only after its author device's
// signature, that device's owner and each grant's signature are checked.
//
// A draft shared live ("Dela live") travels as message envelopes under the case key (journal.live frames),
// signed by the caseworker's device, relayed and never stored; the citizen's page checks them as it checks
// a message.
import * as c from "./crypto/index.js";
import { api, ApiError } from "./api.js";
import { ApplicationClient, RecordError } from "./applications.js";
import { decryptFrom } from "./attachments.js";
import { t } from "./i18n.js";

export const LIVE_TYPE = "journal.live";
const REMARK_KINDS = { supplement: "journal.supplement", comment: "journal.remark", dispute: "journal.remark",
  response: "journal.response" };

const caseJournal = (caseId) => `/api/cases/${encodeURIComponent(caseId)}/journal`;
const entryPath = (entryId) => `/api/journal/${encodeURIComponent(entryId)}`;

export class JournalClient extends ApplicationClient {
  constructor(session, live) {
    super(session);
    this.live = live;
    this._liveRevs = new Map(); // entry id -> the last rev shown (an older snapshot is never shown again)
  }

  _scope(view) {
    return { unit_id: view.case.unit_id, case_id: view.case.id };
  }

  // -- reading ---------------------------------------------------------------------------------------------
  /**
   * The case's journal, every record checked and opened: view.opened is a Map record id -> {body} or {error};
   * view.caseView is the case (for the case key and the unit's key epochs).
   */
  async load(caseId) {
    const view = await api("GET", caseJournal(caseId));
    view.caseView = await this.session.caseView(caseId, { refresh: true });
    view.opened = new Map();
    for (const entry of view.entries) {
      entry.versions.sort((a, b) => a.version - b.version);
      for (const v of entry.versions) {
        view.opened.set(v.record_id, await this._openSafely(view, { id: v.record_id, kind: "journal.entry",
          record: v.record, author: v.author, author_device: v.author_device }));
      }
    }
    for (const r of view.remarks) {
      view.opened.set(r.id, await this._openSafely(view, { id: r.id, kind: REMARK_KINDS[r.kind], record: r.record,
        author: r.author, author_device: r.author_device }));
    }
    return view;
  }

  async _openSafely(view, item) {
    try {
      return { body: await this._open(view, item) };
    } catch (error) {
      if (error instanceof ApiError) throw error;
      return { error: error.code || error.name };
    }
  }

  async _open(view, item) {
    const rec = c.parseRecord(c.unb64u(item.record));
    const { header } = rec;
    if (header.record_id !== item.id || header.kind !== item.kind || header.unit_id !== view.case.unit_id
        || header.case_id !== view.case.id || header.author_device !== item.author_device) {
      throw new RecordError("the server's labels do not match the signed record");
    }
    const author = await this.session.deviceKeys(header.author_device);
    if (!await c.verifyRecord(rec, author.signPub) || author.owner !== item.author) {
      throw new RecordError("the record is not signed by its author's device");
    }
    const raw = await this._recordKey(view, item.id);
    let body;
    try {
      body = await c.openRecord(raw, rec);
    } finally {
      raw.fill(0);
    }
    if (body?.type !== item.kind || typeof body.text !== "string") throw new RecordError("not a journal record");
    return body;
  }

  // -- sealing ---------------------------------------------------------------------------------------------
  /** The unit's current key epoch from the case view, checked against its signed publication. */
  async _unitEpoch(caseView) {
    const epochs = caseView.unit_key_epochs || [];
    const current = epochs[epochs.length - 1];
    if (!current) throw new ApiError(409, "no_unit_key", "the unit has no key yet");
    return this._epoch({ id: caseView.unit, key_epoch: current });
  }

  /** The case key of the case's current epoch, when this device holds it: {caseId, epoch, key}. */
  async _caseKeyNow(view) {
    const [epoch, key] = await this.session.caseKey(view.caseView, view.case.case_key_epoch || null, true);
    return { caseId: view.case.id, epoch, key };
  }

  /** {record, grants}: sealed by this device, granted to the unit, and to the case key when `toCase`. */
  async _sealFor(view, kind, recordId, body, toCase) {
    const caseGrant = toCase ? await this._caseKeyNow(view) : null;
    return this._seal(kind, recordId, view.case.unit_id, view.case.id, body, await this._unitEpoch(view.caseView), [],
      caseGrant);
  }

  /** The body of an entry version from the form's values. */
  static entryBody({ title, text, source = null, corrects = null, reason = "" }) {
    const body = { type: "journal.entry", title, text };
    if (source) body.source = source;
    if (corrects) body.corrects = corrects;
    if (reason) body.reason = reason;
    return body;
  }

  /** (staff) A new entry: a draft, or signed at once (and published when `publish`). Returns the entry. */
  async create(view, entryId, fields, { sign = false, publish = false } = {}) {
    const sealed = await this._sealFor(view, "journal.entry", entryId, JournalClient.entryBody(fields), publish);
    try {
      const answer = await api("POST", caseJournal(view.case.id), { ...sealed, sign, publish,
        ...(fields.source ? { source_seq: fields.source.seq } : {}) });
      return answer.entry;
    } catch (error) {
      if (error instanceof ApiError && error.code === "record_exists") return { id: entryId }; // sent before
      throw error;
    }
  }

  /** (staff) Save the draft again: its one version is replaced by a new record. */
  async saveDraft(view, entryId, fields) {
    const sealed = await this._sealFor(view, "journal.entry", c.newRecordId(), JournalClient.entryBody(fields), false);
    return (await api("PUT", `${entryPath(entryId)}/draft`, sealed)).entry;
  }

  /** (staff) Sign the draft with this final content; published to the citizen at once when `publish`. */
  async sign(view, entryId, fields, publish) {
    const sealed = await this._sealFor(view, "journal.entry", c.newRecordId(), JournalClient.entryBody(fields), publish);
    return (await api("POST", `${entryPath(entryId)}/sign`, { ...sealed, publish })).entry;
  }

  /** (staff) A correction (rättelse): version N+1, signed now; the citizen gets it if the entry is published. */
  async correct(view, entry, fields) {
    const last = entry.versions[entry.versions.length - 1];
    const body = JournalClient.entryBody({ ...fields, corrects: last.version });
    const sealed = await this._sealFor(view, "journal.entry", c.newRecordId(), body, Boolean(entry.published_at));
    return (await api("POST", `${entryPath(entry.id)}/versions`, sealed)).entry;
  }

  /** (staff) Publish a signed entry: a case key grant for every signed version, each checked before. */
  async publish(view, entry) {
    const { epoch, key } = await this._caseKeyNow(view);
    const recipient = `case:${epoch}`;
    const grants = [];
    for (const v of entry.versions.filter((x) => x.signed_at)) {
      if (view.opened.get(v.record_id)?.error) throw new RecordError("a version does not verify"); // never pass it on
      const raw = await this._recordKey(view, v.record_id);
      try {
        const grant = await c.grantToCase(raw, v.record_id, view.case.id, epoch, key);
        grants.push({ record_id: v.record_id, recipient, grant: c.b64u(grant),
          signature: c.b64u(await c.signGrant(this.session.keys, v.record_id, recipient, grant)) });
      } finally {
        raw.fill(0);
      }
    }
    return (await api("POST", `${entryPath(entry.id)}/publish`, { grants })).entry;
  }

  /** (staff) Throw a draft away. */
  deleteDraft(entryId) {
    return api("DELETE", entryPath(entryId));
  }

  /** (the citizen) A comment on a draft shared live, or a dispute of a published entry. */
  async remark(view, entryId, text) {
    const sealed = await this._sealFor(view, "journal.remark", c.newRecordId(), { type: "journal.remark", text }, true);
    return (await api("POST", `${entryPath(entryId)}/remarks`, sealed)).remark;
  }

  /** (staff) Answer a dispute. */
  async respond(view, disputeId, text) {
    const sealed = await this._sealFor(view, "journal.response", c.newRecordId(), { type: "journal.response", text }, true);
    return (await api("POST", `/api/journal/remarks/${encodeURIComponent(disputeId)}/responses`, sealed)).remark;
  }

  /** (the citizen) A supplement (tillägg) to the case or to one entry: text and files ([{ref, blob}]). */
  async supplement(view, entryId, text, chosen) {
    const refs = chosen.map((x) => ({ ...x.ref })); // the form's own stay as they are, for a retry
    const blobs = await this._upload(`${caseJournal(view.case.id)}/blobs`, refs, new Map(chosen.map((x) => [x.ref.local, x.blob])));
    const body = { type: "journal.supplement", text, attachments: refs };
    const sealed = await this._sealFor(view, "journal.supplement", c.newRecordId(), body, true);
    return (await api("POST", `${caseJournal(view.case.id)}/supplements`, { ...sealed, blobs,
      ...(entryId ? { entry_id: entryId } : {}) })).remark;
  }

  /** Decrypt an attachment of a supplement: a Blob of its type, checked against its hash. */
  openJournalAttachment(view, ref) {
    return decryptFrom(`${caseJournal(view.case.id)}/blobs/${encodeURIComponent(ref.blob_id)}`, ref);
  }

  // -- the live draft --------------------------------------------------------------------------------------
  /** (staff) Send the draft as it is now to the citizen: an envelope under the case key, relayed, not stored. */
  async sendLive(caseView, entryId, rev, title, text) {
    const { env } = await this.session.seal(caseView, { type: LIVE_TYPE, entry: entryId, rev, title, text });
    return this.live.request({ t: LIVE_TYPE, case_id: caseView.id, entry_id: entryId, env: c.b64u(env) });
  }

  endLive(caseId, entryId) {
    return this.live.request({ t: "journal.live_end", case_id: caseId, entry_id: entryId });
  }

  /**
   * Check and open a live draft (a relayed frame, or one of the journal's `live` list): the checks of a stored
   * message, made for this entry, from a member of the unit's staff (not the citizen). Returns
   * {entryId, rev, title, text, by}; {refused: why} for one that fails a check (nothing of it may be shown);
   * null for a snapshot older than one shown.
   */
  async openLive(caseView, { entry_id: entryId, env, from_user: from, by }) {
    const sender = from || by;
    let opened;
    try {
      const { header } = c.parseEnvelope(c.unb64u(env));
      opened = await this.session.open(caseView, { env, msg_id: header.msg_id, sender, sender_device: header.sender_device,
        seq: null, stored_at: null });
    } catch (error) {
      if (error instanceof ApiError) throw error;
      return { refused: error?.message || "does not verify" };
    }
    const { body } = opened;
    if (sender === caseView.citizen || body?.type !== LIVE_TYPE || body.entry !== entryId || !Number.isInteger(body.rev)
        || typeof body.text !== "string" || typeof body.title !== "string") {
      return { refused: "not a draft of this entry from the unit" };
    }
    if (body.rev <= (this._liveRevs.get(entryId) ?? -1)) return null;
    this._liveRevs.set(entryId, body.rev);
    return { entryId, rev: body.rev, title: body.title, text: body.text, by: sender };
  }
}

// -- words both pages use ---------------------------------------------------------------------------------
/** The newest version of an entry, and what it says (null when it could not be opened here). */
export function latest(view, entry) {
  const v = entry.versions[entry.versions.length - 1];
  return { version: v, body: view.opened.get(v.record_id)?.body || null };
}

export function remarksOf(view, entryId, ...kinds) {
  return view.remarks.filter((r) => r.entry_id === entryId && kinds.includes(r.kind));
}

export function responseTo(view, disputeId) {
  return view.remarks.find((r) => r.kind === "response" && r.responds_to === disputeId) || null;
}

export const UNREADABLE = () => t("This part could not be opened on this device.");
