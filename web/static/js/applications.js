// Ansökan in the browser (docs/applications.md): the forms and the units that take them, and every sealed
// step of an application. The answers, what the unit asks, what the citizen adds and the decision are
// sealed records (crypto/record.js) under a fresh key each, granted to the unit's current key epoch (its
// public key checked against the signed epoch publication) and to the citizen's devices, and, once the case
// has a key, to the case key. Every record is checked (the author device's signature, the device belongs to
// the author the server names, each grant's signature) before it is opened.
import * as c from "./crypto/index.js";
import { api, ApiError } from "./api.js";
import { decryptFrom, encryptFile } from "./attachments.js";
import { h } from "./dom.js";
import { fullTime, isoTime, shortDate } from "./format.js";
import { lang, t } from "./i18n.js";
import { attachmentsOf, finalize } from "./forms/engine.js";
import { FormView } from "./forms/render.js";
import { fileButton } from "./file-button.js";

export const STATUS_NAMES = {
  received: () => t("Application received"), assessing: () => t("Being assessed"),
  completion_requested: () => t("More information requested"), supplemented: () => t("Supplement received"),
  communicated: () => t("Basis shared, waiting for comments"), communication_answered: () => t("Comments received"),
  decided: () => t("Decided"), withdrawn: () => t("Withdrawn"),
  appealed: () => t("Appealed, waiting for reconsideration"), appeal_reconsidered: () => t("Appeal reconsidered"),
  appeal_forwarded: () => t("Appeal sent to the administrative court"), appeal_dismissed: () => t("Appeal dismissed, too late"),
};

/** Not yet decided (chat/applications/service.py OPEN): the unit asks, shares the basis and decides. */
export const OPEN_STATUSES = ["received", "assessing", "completion_requested", "supplemented", "communicated",
  "communication_answered"];

const EVENT_NAMES = {
  received: () => t("The application was received"), assessing: () => t("The unit started assessing it"),
  completion_requested: () => t("The unit asked for more information"),
  supplemented: () => t("The citizen sent more information"), decided: () => t("The unit made a decision"),
  communicated: () => t("The unit shared the basis for its decision (kommunicering)"),
  communication_answered: () => t("The citizen commented on the basis for the decision"),
  withdrawn: () => t("The application was withdrawn"), reopened: () => t("The unit took up the decided application again"),
  appealed: () => t("The decision was appealed"), appeal_reconsidered: () => t("The unit reconsidered the decision"),
  appeal_forwarded: () => t("The unit sent the appeal to the administrative court"),
  appeal_dismissed: () => t("The unit dismissed the appeal because it came in too late"),
};

/** How kommunicering was done (the event's detail.method). */
export const METHODS = {
  app: () => t("in Samtal"), phone: () => t("by phone"), in_person: () => t("in person"), letter: () => t("by letter"),
};

export const OUTCOMES = {
  granted: () => t("Granted"), partly: () => t("Partly granted"), refused: () => t("Refused"),
};

const path = (id) => `/api/applications/${encodeURIComponent(id)}`;

export class RecordError extends Error {
  constructor(message) {
    super(message);
    this.code = "record_unreadable";
  }
}

export class ApplicationClient {
  constructor(session) {
    this.session = session;
    this._forms = null;
  }

  // -- the forms ---------------------------------------------------------------------------------------
  /** {units: [{id, name, forms: [id], keyEpoch: {epoch, publicKey} | null}], forms: Map id -> definition}. */
  async forms() {
    if (!this._forms) {
      const listing = await api("GET", "/api/forms");
      const units = [];
      for (const unit of listing.units) {
        units.push({ id: unit.id, name: unit.name, forms: unit.forms, keyEpoch: await this._epoch(unit) });
      }
      this._forms = { units, forms: new Map(listing.forms.map((f) => [f.id, f])), decisions: listing.decisions || { units: {} } };
    }
    return this._forms;
  }

  /** The unit's current key epoch, only when its publication is signed by the device that made it. */
  async _epoch(unit) {
    const e = unit.key_epoch;
    if (!e) return null;
    const publicKey = c.unb64u(e.public_key);
    const creator = await this.session.deviceKeys(e.created_by_device);
    if (!await c.verifyUnitEpoch(creator, c.unb64u(e.signature), unit.id, e.epoch, publicKey)) {
      throw new c.CryptoError("the unit's key epoch is not signed by the device that made it");
    }
    return { epoch: e.epoch, publicKey };
  }

  // -- sealing -----------------------------------------------------------------------------------------
  /** Grants of `recordKey`: the unit's current epoch, every device in `deviceIds`, and the case key if given. */
  async _grants(recordId, recordKey, unitEpoch, deviceIds, caseGrant = null) {
    const keys = this.session.keys;
    const grants = [];
    const add = async (recipient, grant) => {
      grants.push({ recipient, grant: c.b64u(grant), signature: c.b64u(await c.signGrant(keys, recordId, recipient, grant)) });
    };
    await add(`unit:${unitEpoch.epoch}`, await c.grantToKey(recordKey, recordId, unitEpoch.publicKey));
    for (const id of new Set(deviceIds)) {
      const device = await this.session.deviceKeys(id); // its keys, checked against its id
      await add(id, await c.grantToKey(recordKey, recordId, device.kemPub));
    }
    if (caseGrant) {
      await add(`case:${caseGrant.epoch}`, await c.grantToCase(recordKey, recordId, caseGrant.caseId, caseGrant.epoch,
        caseGrant.key));
    }
    return grants;
  }

  async _seal(kind, recordId, unitId, caseId, body, unitEpoch, deviceIds, caseGrant = null) {
    const recordKey = c.newRecordKey();
    try {
      const header = { kind, record_id: recordId, unit_id: unitId, case_id: caseId, author_device: this.session.deviceId,
        created_at_ms: Date.now() };
      const record = await c.sealRecord(recordKey, header, body, this.session.keys);
      return { record: c.b64u(record), grants: await this._grants(recordId, recordKey, unitEpoch, deviceIds, caseGrant) };
    } finally {
      recordKey.fill(0);
    }
  }

  async _unitEpoch(unitId) {
    this._forms = null; // the epoch may have changed since the page opened
    const unit = (await this.forms()).units.find((u) => u.id === unitId);
    if (!unit?.keyEpoch) throw new ApiError(409, "no_unit_key", "the unit has no key yet");
    return unit.keyEpoch;
  }

  async _ownDevices() {
    const me = await api("GET", "/api/me");
    return this._proven(me.user.id, me.devices.filter((d) => !d.revoked_at).map((d) => d.id));
  }

  /**
   * Of a citizen's devices, those a record may be granted to: the ones proven theirs (docs/protocol.md section
   * 21), never one the server added to the account.
   */
  async _proven(citizenId, deviceIds) {
    const views = [];
    for (const id of new Set(deviceIds)) {
      try {
        views.push((await api("GET", `/api/devices/${encodeURIComponent(id)}`)).device);
      } catch {
        // a device the server does not show is not granted anything
      }
    }
    const proven = await this.session.citizenDevices.proven(citizenId, views);
    return deviceIds.filter((id) => proven.has(id));
  }

  /**
   * Upload the encrypted files the answers name (from `files`: local id -> ciphertext); returns blob ids. The
   * references get their blob ids and lose their local ids: pass copies.
   */
  async _upload(uploadPath, refs, files) {
    const blobIds = [];
    for (const ref of refs) {
      if (!ref.blob_id) {
        const blob = files.get(ref.local);
        if (!blob) throw new RecordError("an attachment of the draft is missing");
        ref.blob_id = (await api("POST", uploadPath, blob)).blob_id;
      }
      delete ref.local;
      blobIds.push(ref.blob_id);
    }
    return blobIds;
  }

  /**
   * Send an application: the answers are finalized (only what is shown and filled in), its files uploaded,
   * the record sealed and granted to the unit and to the citizen's devices (`citizen` for staff registering a
   * paper application: {id, deviceIds}). Returns the server's answer ({application, case_id}).
   */
  async submit({ unitId, def, applicationId, answers, files, citizen = null, assignToMe = true }) {
    const final = structuredClone(finalize(def, answers)); // the draft's own answers stay as they are
    const refs = attachmentsOf(def, final).map((a) => a.ref);
    const blobs = await this._upload(`/api/units/${encodeURIComponent(unitId)}/applications/${encodeURIComponent(applicationId)}/blobs`,
      refs, files);
    const body = { type: "application", form: { id: def.id, version: def.version }, answers: final };
    const deviceIds = citizen ? await this._proven(citizen.id, citizen.deviceIds) : await this._ownDevices();
    const sealed = await this._seal("application", applicationId, unitId, "", body, await this._unitEpoch(unitId), deviceIds);
    try {
      return await api("POST", `/api/units/${encodeURIComponent(unitId)}/applications`, {
        form_id: def.id, form_version: def.version, ...sealed, blobs,
        ...(citizen ? { citizen_id: citizen.id, assign_to_me: assignToMe } : {}),
      });
    } catch (error) {
      // Sent before, and the answer lost on the way: the application is there.
      if (error instanceof ApiError && error.code === "record_exists") return { application: { id: applicationId } };
      throw error;
    }
  }

  /** Encrypt a chosen file for an application or a supplement: {ref, blob}; the key travels in the record. */
  async encrypt(file, maxBytes) {
    const { body, blob } = await encryptFile(file, "", maxBytes);
    const { type: _type, text: _caption, ...ref } = body; // a record's attachment has no caption of its own
    return { ref: { ...ref, local: c.newRecordId() }, blob };
  }

  // -- reading ---------------------------------------------------------------------------------------------
  async list(caseId = null) {
    const query = caseId ? `?case=${encodeURIComponent(caseId)}` : "";
    return (await api("GET", `/api/applications${query}`)).applications;
  }

  /**
   * One application with its timeline; every record checked and opened: view.opened is a Map record id ->
   * {kind, author, createdAt, body} or {kind, error}.
   */
  async view(applicationId) {
    const view = await api("GET", path(applicationId));
    view.opened = new Map();
    for (const record of view.records) view.opened.set(record.id, await this._openSafely(view, record));
    return view;
  }

  async _openSafely(view, record) {
    try {
      return { kind: record.kind, author: record.author, createdAt: record.created_at, body: await this._open(view, record) };
    } catch (error) {
      if (error instanceof ApiError) throw error;
      return { kind: record.kind, author: record.author, createdAt: record.created_at, error: error.code || error.name };
    }
  }

  async _open(view, record) {
    const app = view.application;
    const rec = c.parseRecord(c.unb64u(record.data));
    const { header } = rec;
    if (header.record_id !== record.id || header.kind !== record.kind || header.unit_id !== app.unit_id
        || header.author_device !== record.author_device
        || header.case_id !== (record.kind === "application" ? "" : app.case_id)) {
      throw new RecordError("the server's labels do not match the signed record");
    }
    const author = await this.session.deviceKeys(header.author_device);
    if (!await c.verifyRecord(rec, author.signPub) || author.owner !== record.author) {
      throw new RecordError("the record is not signed by its author's device");
    }
    const raw = await this._recordKey(view, record.id);
    try {
      return await c.openRecord(raw, rec);
    } finally {
      raw.fill(0);
    }
  }

  /** What a view's records belong to: {unit_id, case_id} (the journal's views name it otherwise). */
  _scope(view) {
    return view.application;
  }

  /** The raw record key, from the first grant this device can open whose signature holds. */
  async _recordKey(view, recordId) {
    const app = this._scope(view);
    for (const g of view.grants.filter((x) => x.record_id === recordId)) {
      const grant = c.unb64u(g.grant);
      const granter = await this.session.deviceKeys(g.granted_by_device);
      if (!await c.verifyGrant(granter, c.unb64u(g.signature), recordId, g.recipient, grant)) continue;
      try {
        if (g.recipient === this.session.deviceId) {
          return await c.openKeyGrant(this.session.keys.kem.privateKey, recordId, grant);
        }
        if (g.recipient.startsWith("unit:") && !this.session.isCitizen) {
          const unitKey = (await this.session.unitKeys(app.unit_id)).get(Number(g.recipient.slice(5)));
          if (unitKey) return await c.openKeyGrant(unitKey, recordId, grant);
        }
        if (g.recipient.startsWith("case:")) {
          const epoch = Number(g.recipient.slice(5));
          const [, caseKey] = await this.session.caseKey({ id: app.case_id, unit: app.unit_id }, epoch, false);
          return await c.openCaseGrant(caseKey, recordId, app.case_id, epoch, grant);
        }
      } catch (error) {
        if (error instanceof ApiError) throw error;
        // this grant could not be opened here; another may
      }
    }
    throw new RecordError("this device holds no key to the record");
  }

  /** Decrypt an attachment of the application: a Blob of its type, checked against its hash. */
  openAttachment(applicationId, ref) {
    return decryptFrom(`${path(applicationId)}/blobs/${encodeURIComponent(ref.blob_id)}`, ref);
  }

  // -- steps ---------------------------------------------------------------------------------------------------
  /** The case key, when the case has one and this device holds it: {caseId, epoch, key}; else null. */
  async _caseGrant(app) {
    if (!app.case_key_epoch) return null;
    try {
      const [epoch, key] = await this.session.caseKey({ id: app.case_id, unit: app.unit_id }, app.case_key_epoch, false);
      return { caseId: app.case_id, epoch, key };
    } catch (error) {
      return null; // not given to this device yet: the citizen's devices still get their own grants
    }
  }

  async _step(view, route, kind, body, extra = {}, blobs = []) {
    const app = view.application;
    const sealed = await this._seal(kind, c.newRecordId(), app.unit_id, app.case_id, body,
      await this._unitEpoch(app.unit_id), await this._proven(app.citizen, app.citizen_devices), await this._caseGrant(app));
    return api("POST", `${path(app.id)}/${route}`, { ...sealed, ...extra, ...(blobs.length ? { blobs } : {}) });
  }

  /** (staff) Ask for more information: what (sealed) and by when (metadata, ms). */
  requestCompletion(view, text, dueAt) {
    return this._step(view, "completion-requests", "application.completion", { type: "completion", text },
      { due_at: dueAt });
  }

  /** (staff) The decision document (decision.js), sealed and signed by this device; `replaces` an earlier one. */
  decide(view, body, replaces = null) {
    return this._step(view, "decision", "application.decision", body, replaces ? { replaces } : {});
  }

  /** (the citizen's device, having opened the decision) The day received: the appeal deadline runs from it. */
  received(decisionId) {
    return api("POST", `/api/decisions/${encodeURIComponent(decisionId)}/received`, {});
  }

  /** (staff) The decision was also sent by post on `postedOn` (YYYY-MM-DD); `receivedOn` when known. */
  posted(decisionId, postedOn, receivedOn = "") {
    return api("POST", `/api/decisions/${encodeURIComponent(decisionId)}/posted`,
      { posted_on: postedOn, ...(receivedOn ? { received_on: receivedOn } : {}) });
  }

  /**
   * (staff) Kommunicering: the decision basis (a summary, copies of chosen journal entries [{title, text, at,
   * author}], documents [{ref, blob}]) sealed; `method` app with `dueAt`, or phone / in_person / letter recorded.
   */
  async communicate(view, { summary, entries, chosen, method, dueAt }) {
    const refs = chosen.map((x) => ({ ...x.ref }));
    const blobs = await this._upload(`${path(view.application.id)}/blobs`, refs, new Map(chosen.map((x) => [x.ref.local, x.blob])));
    return this._step(view, "communications", "application.communication",
      { type: "communication", method, summary, entries, attachments: refs }, { method, due_at: dueAt ?? null }, blobs);
  }

  /** (the citizen) Comments on the shared decision basis: text and files, sealed. */
  async answerCommunication(view, text, chosen) {
    const refs = chosen.map((x) => ({ ...x.ref }));
    const blobs = await this._upload(`${path(view.application.id)}/blobs`, refs, new Map(chosen.map((x) => [x.ref.local, x.blob])));
    return this._step(view, "communication-answers", "application.communication_reply",
      { type: "communication_reply", text, attachments: refs }, {}, blobs);
  }

  /** The citizen withdraws an undecided application (staff: on the citizen's behalf). */
  withdraw(view) {
    return api("POST", `${path(view.application.id)}/withdrawal`, {});
  }

  /** (staff) Take a decided application up again. */
  reopen(view) {
    return api("POST", `${path(view.application.id)}/reopening`, {});
  }

  /**
   * An appeal of `decisionId`: what change is wanted and why, with files ([{ref, blob}]), sealed; staff give
   * `arrivedOn` (YYYY-MM-DD) for one that came on paper.
   */
  async appeal(view, decisionId, { change, why, chosen, arrivedOn = null }) {
    const refs = chosen.map((x) => ({ ...x.ref }));
    const blobs = await this._upload(`${path(view.application.id)}/blobs`, refs, new Map(chosen.map((x) => [x.ref.local, x.blob])));
    return this._step(view, "appeals", "application.appeal",
      { type: "appeal", decision: decisionId, change, why, attachments: refs },
      { decision_id: decisionId, ...(arrivedOn ? { arrived_on: arrivedOn } : {}) }, blobs);
  }

  /** (staff) Omprövning: changed (a new decision follows) or not, and why (sealed). */
  reconsider(view, changed, text) {
    return this._step(view, "reconsideration", "application.reconsideration", { type: "reconsideration", changed, text },
      { changed });
  }

  /** (staff) The appeal is sent to the administrative court. */
  forward(view, court) {
    return api("POST", `${path(view.application.id)}/forwarding`, { court });
  }

  /** (staff) A late appeal is dismissed (FL 45 §). */
  dismiss(view) {
    return api("POST", `${path(view.application.id)}/dismissal`, {});
  }

  /** (staff) Under utredning. */
  assess(view) {
    return api("POST", `${path(view.application.id)}/status`, { status: "assessing" });
  }

  /** (the citizen) More information: text and files ([{ref, blob}]), sealed. */
  async supplement(view, text, chosen) {
    const refs = chosen.map((x) => ({ ...x.ref })); // the form's own stay as they are, for a retry
    const blobs = await this._upload(`${path(view.application.id)}/blobs`, refs, new Map(chosen.map((x) => [x.ref.local, x.blob])));
    return this._step(view, "supplements", "application.supplement", { type: "supplement", text, attachments: refs },
      {}, blobs);
  }

  /**
   * (staff) Publish the records to every device of the case: a case key grant for each record that has none
   * for the case's current epoch, so that a citizen's later devices (which get the case key) can read them.
   */
  async publishToCase(view) {
    const app = view.application;
    const caseGrant = await this._caseGrant(app);
    if (!caseGrant) return 0;
    const recipient = `case:${caseGrant.epoch}`;
    let added = 0;
    for (const record of view.records) {
      if (view.grants.some((g) => g.record_id === record.id && g.recipient === recipient)) continue;
      if (view.opened.get(record.id)?.error) continue; // never pass on what does not verify
      const raw = await this._recordKey(view, record.id);
      try {
        const grant = await c.grantToCase(raw, record.id, app.case_id, caseGrant.epoch, caseGrant.key);
        await api("POST", `${path(app.id)}/records/${encodeURIComponent(record.id)}/grants`, { grants: [{
          recipient, grant: c.b64u(grant), signature: c.b64u(await c.signGrant(this.session.keys, record.id, recipient, grant)),
        }] });
        added += 1;
      } finally {
        raw.fill(0);
      }
    }
    return added;
  }
}

/**
 * A small form of text and files, drawn by the forms engine (what the citizen adds to an application or to
 * the documentation): {form: FormView, files()}; each file is encrypted as it is chosen, files() gives the
 * chosen ones as [{ref, blob}] for client.supplement.
 */
export function supplementForm(client, { title, label, help = null, maxLength, idPrefix = "s" }, maxBytes) {
  const text = (s) => ({ sv: s, en: s });
  return textAndFiles(client, { title, idPrefix, fields: [
    { id: "text", type: "multiline", required: true, max_length: maxLength, label: text(label), ...(help ? { help: text(help) } : {}) },
  ] }, maxBytes);
}

/**
 * A small form of text fields (`fields`, forms engine definitions) and files, each file encrypted as it is
 * chosen: {form: FormView, files()} with files() the chosen ones as [{ref, blob}].
 */
export function textAndFiles(client, { title, idPrefix, fields }, maxBytes) {
  const text = (s) => ({ sv: s, en: s });
  const chosen = new Map(); // local id -> {ref, blob}
  const def = { id: idPrefix, version: 1, sections: [{ id: idPrefix, title: text(title), fields: [...fields,
    { id: "files", type: "attachment", max_files: 6, label: text(t("Documents")),
      hint: text(t("Images (PNG, JPEG, WebP, GIF) or PDF. They are encrypted before they are sent.")) },
  ] }] };
  const initial = Object.fromEntries([...fields.map((f) => [f.id, ""]), ["files", []]]);
  const form = new FormView(def, initial, {
    lang, idPrefix, headingLevel: 3, maxBytes,
    attach: async (file) => {
      const encrypted = await client.encrypt(file, maxBytes);
      chosen.set(encrypted.ref.local, encrypted);
      return encrypted.ref;
    },
    detach: (ref) => chosen.delete(ref.local),
  });
  return { form, files: () => form.answers.files.map((ref) => chosen.get(ref.local)) };
}

/** For renderAnswers and the timeline: a button that decrypts one attachment and hands it to the person. */
export function attachmentOpener(client, applicationId) {
  return (ref) => {
    const name = String(ref.name || t("file"));
    const [button, error] = fileButton(name, Number(ref.size) || 0, async () => {
      const url = URL.createObjectURL(await client.openAttachment(applicationId, ref));
      h("a", { href: url, download: name }).click();
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
    });
    return h("span", { class: "attachment" }, button, error);
  };
}

// -- the timeline, as both sides see it ---------------------------------------------------------------------
/** The metadata of an appeal's steps: in time or late (FL 45 §), changed or not, to which court. */
export function appealDetail(event) {
  const d = event.detail || {};
  if (event.kind === "appealed") {
    const text = d.in_time === false ? t("Came in too late: the last day was %(date)s.", { date: d.deadline })
      : d.deadline ? t("Came in time: the last day is %(date)s.", { date: d.deadline })
        : t("Came in time: the day the decision was received is not recorded.");
    return [h("p", { class: d.in_time === false ? "appeal-late" : "appeal-in-time" }, h("strong", { text }))];
  }
  if (event.kind === "appeal_reconsidered") {
    return [h("p", {}, h("strong", { text: d.changed ? t("The decision will be changed.") : t("The decision is not changed.") }))];
  }
  if (event.kind === "appeal_forwarded" && d.court) return [h("p", { text: t("Sent to %(court)s.", { court: d.court }) })];
  return [];
}


function eventDetail(view, event, { openAttachment, isStaff }) {
  const opened = event.record_id ? view.opened.get(event.record_id) : null;
  const parts = [];
  if (event.on_behalf && event.kind === "received") {
    parts.push(h("p", { class: "muted", text: isStaff
      ? t("Registered from a paper application by %(name)s.", { name: event.actor_name || event.actor })
      : t("Registered for you by the unit, from a paper application.") }));
  }
  if ((event.kind === "completion_requested" || event.kind === "communicated") && event.due_at) {
    parts.push(h("p", {}, h("strong", { text: t("Answer by %(date)s", { date: shortDate(event.due_at) }) })));
  }
  if (event.kind === "communicated" && event.detail?.method && event.detail.method !== "app") {
    parts.push(h("p", { class: "muted", text: t("Done %(method)s and recorded by the unit.", { method: METHODS[event.detail.method]?.() || event.detail.method }) }));
  }
  parts.push(...appealDetail(event));
  if (event.kind === "withdrawn" && event.on_behalf) {
    parts.push(h("p", { class: "muted", text: t("Recorded by the unit at the citizen's request.") }));
  }
  if (opened?.error) {
    parts.push(h("p", { class: "error-text", text: t("This part could not be opened on this device.") }));
  } else if (opened && event.kind !== "received") {
    const body = opened.body;
    if (body.outcome && OUTCOMES[body.outcome]) parts.push(h("p", {}, h("strong", { text: OUTCOMES[body.outcome]() })));
    if (body.summary) parts.push(h("p", { class: "record-text", text: String(body.summary) }));
    if (Array.isArray(body.entries) && body.entries.length) {
      parts.push(h("ul", { class: "shared-entries" }, ...body.entries.map((e) => h("li", {},
        h("strong", { text: String(e.title || "") }), " ", h("span", { class: "muted", text: e.at ? shortDate(e.at) : "" }),
        h("p", { class: "record-text", text: String(e.text || "") })))));
    }
    if (body.change) parts.push(h("p", {}, h("strong", { text: t("Change wanted:") }), " ", h("span", { class: "record-text", text: String(body.change) })));
    if (body.why) parts.push(h("p", {}, h("strong", { text: t("Why:") }), " ", h("span", { class: "record-text", text: String(body.why) })));
    if (event.kind === "decided" && body.version === 2) {
      parts.push(h("p", { class: "muted", text: t("The whole decision is shown under The decision.") }));
    } else if (body.text) parts.push(h("p", { class: "record-text", text: String(body.text) }));
    const files = Array.isArray(body.attachments) ? body.attachments : [];
    if (files.length) parts.push(h("ul", { class: "answer-files" }, ...files.map((ref) => h("li", {}, openAttachment(ref)))));
  }
  return parts;
}

/** The status timeline: one item per step, oldest first, with who and when and what was sealed in it. */
export function timeline(view, options) {
  return h("ol", { class: "timeline" }, ...view.events.map((event) => h("li", { class: `timeline-item kind-${event.kind}` },
    h("p", { class: "timeline-head" }, h("strong", { text: EVENT_NAMES[event.kind]?.() || event.kind }), " ",
      h("time", { datetime: isoTime(event.at), text: fullTime(event.at) })),
    options.isStaff || event.kind !== "received"
      ? h("p", { class: "muted", text: event.actor_name || event.actor }) : null,
    ...eventDetail(view, event, options))));
}

/** A status in words, with the due date while information is requested. */
export function statusText(app) {
  const name = STATUS_NAMES[app.status]?.() || app.status;
  if (!["completion_requested", "communicated"].includes(app.status) || !app.due_at) return name;
  return t("%(status)s, answer by %(date)s", { status: name, date: shortDate(app.due_at) });
}
