// Myndighetspost: the unit's agency exchange in the caseworker's browser (docs/exchange.md). The lists
// show envelopes only (priority, type, sender or recipient, time, receipt state). Opening a received
// document verifies the envelope's signature against the signed directory, checks the content's hash
// against it, decrypts the JWE with the address key (unwrapped with the unit key on this device),
// validates it against its document type's schema and shows it with text nodes only; the device then
// posts accepted (or rejected with the reason) and, because a person has it in front of them, read.
// Sending is the same in reverse: validated against the schema, encrypted to the agency's key from the
// verified directory, the envelope signed with the address's signing key (also unwrapped with the unit
// key), and the endpoint's signed receipts verified before they are shown.
// The directory is the server's word (it signs it), so a key it lists for an agency is trusted only when this
// browser pinned it: the first key seen for an agency's address is pinned (trust on first use, as the command
// line's `samtal exchange unit ... --pin`), and a document signed by another key of that address is not opened
// until a person, having checked the key with the agency, trusts it.
import { h, icon } from "./dom.js";
import { api } from "./api.js";
import * as db from "./idb.js";
import * as c from "./crypto/index.js";
import { fullTime, isoTime, shortTime } from "./format.js";
import { t } from "./i18n.js";

const DIRECTORY_TYP = "exchange-directory+json";
const ENVELOPE_TYP = "exchange-envelope+json";
const RECEIPT_TYP = "exchange-receipt+json";
const KEY_WAIT_MS = 15000;
const ENVELOPE_SECONDS = 7 * 24 * 3600; // how long a sent envelope stays valid (as web/client/exchange.py)
// The type a document is usually answered with (chat/exchange/documents.py), when the agency accepts it.
const REPLY_TYPE = { "begaran-om-uppgifter/v1": "svar-uppgifter/v1" };
export const DEFAULT_PRIORITY = { "orosanmalan/v1": "urgent" };

export function typeName(type) {
  return {
    "message/v1": t("Message"), "orosanmalan/v1": t("Report of concern about a child"),
    "begaran-om-uppgifter/v1": t("Request for information"), "svar-uppgifter/v1": t("Reply to a request for information"),
    "begaran-om-handrackning/v1": t("Request for assistance"), "beslut/v1": t("Decision or notification"),
    "sip-kallelse/v1": t("Invitation to a coordinated care planning meeting (SIP)"),
  }[type] || type;
}

/** The receipt state a person cares about: read, then accepted or rejected, then received. */
export function receiptState(statuses) {
  for (const s of ["read", "rejected", "accepted"]) if (statuses.includes(s)) return s;
  return "received";
}

export function stateWords(state) {
  return { read: t("Read"), accepted: t("Opened, not read"), rejected: t("Could not be opened"), received: t("New") }[state];
}

/** The same states for a document the unit sent: what the agency has done with it. */
export function sentStateWords(state) {
  return {
    read: t("Read by the recipient"), accepted: t("Opened by the recipient"),
    rejected: t("Rejected by the recipient"), received: t("Sent"),
  }[state];
}

/** One receipt in words: its status, and a rejection's reason. */
export function receiptWords(claims, sent) {
  const reasons = {
    undecryptable: t("could not be decrypted"), schema_invalid: t("does not follow its document type"),
    wrong_recipient: t("wrong recipient"), content_hash_mismatch: t("the content is not what was signed"),
    other: t("other reason"),
  };
  const words = claims.status === "received" ? t("Received by the exchange")
    : sent ? sentStateWords(claims.status) : stateWords(claims.status);
  return claims.reason ? `${words}: ${reasons[claims.reason] || claims.reason}` : words;
}

/** Urgent and unread first, then newest first. */
export function compareMail(a, b) {
  const first = (m) => (m.priority === "urgent" && !m.statuses.includes("read") ? 0 : 1);
  return first(a) - first(b) || b.stored_at - a.stored_at || a.id.localeCompare(b.id);
}

export class AgencyMail {
  constructor(session, unitId) {
    this.session = session;
    this.unitId = unitId;
    this.base = `/exchange/v1/units/${encodeURIComponent(unitId)}`;
    this._directory = null;
    this._schemas = null;
  }

  /** {inbox, outbox}: received documents urgent and unread first, sent ones newest first. */
  async list() {
    const answer = await api("GET", `${this.base}/messages`);
    this.addresses = answer.addresses;
    this.names = answer.names;
    const newest = (a, b) => b.stored_at - a.stored_at || a.id.localeCompare(b.id);
    return { inbox: [...answer.inbox].sort(compareMail), outbox: [...answer.outbox].sort(newest) };
  }

  /** The agencies this unit can send to, from the verified directory: address, name, types, keys. */
  async recipients() {
    return (await this.directory()).addresses.filter((a) => a.kind === "agency")
      .sort((a, b) => a.name.localeCompare(b.name, "sv"));
  }

  async directory() {
    if (!this._directory) {
      const response = await fetch("/exchange/v1/directory", { credentials: "same-origin" });
      const token = (await response.text()).trim();
      const { payload } = c.jwsParts(token);
      // Signed by the endpoint key it names; the municipality publishes that key's thumbprint.
      const verified = await c.verifyJws(token, payload.endpoint_key, DIRECTORY_TYP);
      if (!verified || verified.expires * 1000 < Date.now()) throw new c.CryptoError("the directory does not verify");
      this._directory = verified;
    }
    return this._directory;
  }

  async schema(type) {
    if (!this._schemas) {
      this._schemas = (await api("GET", "/exchange/v1/openapi.json")).components.schemas;
    }
    return this._schemas[`Document_${type.replace("/", "_").replaceAll("-", "_")}`];
  }

  /** The envelope's payload when its signature verifies with its sender's key in the directory, else null. */
  async verifyEnvelope(envelope) {
    const { header } = c.jwsParts(envelope);
    for (const entry of (await this.directory()).addresses) {
      const key = entry.keys.find((k) => k.kid === header.kid && k.use === "sig");
      if (!key) continue;
      const payload = await c.verifyJws(envelope, key, ENVELOPE_TYP);
      return payload && payload.from === entry.address ? payload : null;
    }
    return null;
  }

  _pinsKey() {
    return this.session._key("agency-pins", this.unitId);
  }

  /** The agency signing keys this browser pinned: {address: [kid, …]}. */
  async pins() {
    return (await db.get("meta", this._pinsKey())) || {};
  }

  /** Trust `kid` for `address` from now on (the first key seen, or one a person checked with the agency). */
  async pin(address, kid) {
    const pins = await this.pins();
    pins[address] = [...new Set([...(pins[address] || []), kid])];
    await db.put("meta", pins, this._pinsKey());
  }

  /**
   * Whether the envelope's signing key is one this browser trusts for its sender: pinned on first use; null
   * when it is, else {address, kid, pinned} (the key the server's directory now lists beside the pinned ones).
   */
  async keyChange(envelopeToken, envelope) {
    const { kid } = c.jwsParts(envelopeToken).header;
    const pinned = (await this.pins())[envelope.from];
    if (!pinned) {
      await this.pin(envelope.from, kid);
      return null;
    }
    return pinned.includes(kid) ? null : { address: envelope.from, kid, pinned };
  }

  /** The address key `kid`, waiting a little for it when this device is new (its unit key is on its way). */
  async addressKey(kid) {
    const deadline = Date.now() + KEY_WAIT_MS;
    for (;;) {
      const key = (await this.session.addressKeys(this.unitId)).get(kid);
      if (key || Date.now() >= deadline) return key;
      await new Promise((resolve) => { setTimeout(resolve, 1000); });
    }
  }

  /**
   * The endpoint's signed receipts of one message (sent or received), each verified with the endpoint key
   * from the verified directory and checked to be for this envelope; oldest first.
   */
  async receipts(msgId) {
    const message = await api("GET", `${this.base}/messages/${encodeURIComponent(msgId)}`);
    const { endpoint_key: endpointKey } = await this.directory();
    const envelopeSha = await c.sha256B64u(message.envelope);
    const verified = [];
    for (const receipt of message.receipts) {
      const claims = await c.verifyJws(receipt, endpointKey, RECEIPT_TYP);
      if (!claims || claims.message !== msgId || claims.envelope_sha256 !== envelopeSha) {
        throw new c.CryptoError("a receipt does not verify");
      }
      verified.push(claims);
    }
    return { message, receipts: verified };
  }

  /** The signing key of one of the unit's addresses on this device: {kid, key}, or null when not shared yet. */
  async signingKey(address) {
    const entry = (await this.directory()).addresses.find((a) => a.address === address);
    const kid = entry?.keys.filter((k) => k.use === "sig" && k.crv === "Ed25519").at(-1)?.kid;
    const key = kid ? await this.addressKey(kid) : null;
    return key ? { kid, key } : null;
  }

  /** The document type a reply to `type` from `agency` defaults to. */
  replyType(type, agency) {
    const accepted = agency?.document_types || [];
    const wanted = [REPLY_TYPE[type], "message/v1"].find((x) => x && accepted.includes(x));
    return wanted || accepted[0];
  }

  /**
   * Send a document from one of the unit's addresses to an agency: validated against its schema, encrypted
   * to the agency's newest `enc` key from the verified directory, the envelope signed with the address's
   * signing key. Returns the verified `received` receipt's claims. A retry of the same document (after a
   * network failure) sends the very same bytes, which the endpoint answers with the original receipt.
   * @param {{from: string, to: string, type: string, document: object, priority: string, label: string,
   *          conversation?: string, inReplyTo?: string}} doc
   */
  async send(doc) {
    const schema = await this.schema(doc.type);
    const problems = schema ? validate(schema, doc.document, "$") : [{ path: "$", problem: "type" }];
    if (problems.length) throw new DocumentInvalid(problems);
    const again = JSON.stringify(doc);
    const body = this._unsent?.again === again ? this._unsent.body : await this._seal(doc);
    this._unsent = { again, body };
    let answer;
    try {
      answer = await api("POST", `${this.base}/messages`, body);
    } catch (error) {
      if (!error.offline && error.status < 500) this._unsent = null; // refused: a new attempt is a new message
      throw error;
    }
    this._unsent = null;
    const claims = await c.verifyJws(answer.receipt, (await this.directory()).endpoint_key, RECEIPT_TYP);
    const envelope = c.jwsParts(body.envelope).payload;
    if (!claims || claims.status !== "received" || claims.message !== envelope.id
        || claims.envelope_sha256 !== await c.sha256B64u(body.envelope)) {
      throw new c.CryptoError("the receipt does not verify");
    }
    return claims;
  }

  async _seal(doc) {
    const agency = (await this.recipients()).find((a) => a.address === doc.to);
    const encKey = agency?.keys.filter((k) => k.use === "enc").at(-1);
    if (!encKey || !agency.document_types.includes(doc.type)) {
      throw new c.CryptoError("the directory has no such recipient for this document type");
    }
    const signing = await this.signingKey(doc.from);
    if (!signing) throw new NoSigningKey();
    const content = await c.encryptJwe(c.encodeBody(doc.document), encKey);
    if (content.length > agency.max_bytes) throw new TooLarge(agency.max_bytes);
    const created = Math.floor(Date.now() / 1000);
    const envelope = {
      id: crypto.randomUUID(), conversation: doc.conversation || crypto.randomUUID(), in_reply_to: doc.inReplyTo || null,
      type: doc.type, priority: doc.priority, from: doc.from, to: doc.to, label: doc.label, created,
      expires: created + ENVELOPE_SECONDS, content_sha256: await c.sha256B64u(content),
    };
    return { envelope: await c.signJws(envelope, signing.key, signing.kid, ENVELOPE_TYP), content };
  }

  receipt(msgId, status, reason) {
    return api("POST", `${this.base}/messages/${encodeURIComponent(msgId)}/receipts`, reason ? { status, reason } : { status });
  }

  /**
   * Open one document on this device. Returns {message, envelope, content, schema} or {message, error,
   * reason}; a rejection reason is also posted as a rejected receipt (once), an opened document as
   * accepted (once) and read.
   */
  async open(msgId) {
    const message = await api("GET", `${this.base}/messages/${encodeURIComponent(msgId)}`);
    const statuses = message.receipts.map((r) => c.jwsParts(r).payload.status);
    const reject = async (reason, error) => {
      if (!statuses.includes("rejected") && !statuses.includes("accepted")) await this.receipt(msgId, "rejected", reason);
      return { message, error, reason };
    };
    const envelope = await this.verifyEnvelope(message.envelope);
    if (!envelope || envelope.id !== message.id) return reject("other", t("The sender's signature does not verify."));
    if (!this.addresses.includes(envelope.to)) return reject("wrong_recipient", t("The document is not addressed to this unit."));
    const keyChange = await this.keyChange(message.envelope, envelope);
    if (keyChange) {
      // Not opened, and no receipt: a person decides, after checking the key with the agency.
      return { message, keyChange, error: t("Warning: this document is signed with a key of %(sender)s that this device has not seen before. The server may have added it. Do not trust the document until %(sender)s has confirmed the key.", { sender: this.names?.[keyChange.address] || keyChange.address }) };
    }
    if (await c.sha256B64u(message.content) !== envelope.content_sha256) {
      return reject("content_hash_mismatch", t("The content is not what the sender signed."));
    }
    const key = await this.addressKey(c.jweHeader(message.content).kid);
    if (!key) return { message, error: t("This device has no key for the unit's address yet.") };
    let content;
    try {
      const { plaintext } = await c.decryptJwe(message.content, key);
      content = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(plaintext));
    } catch {
      return reject("undecryptable", t("The document could not be decrypted."));
    }
    const schema = await this.schema(envelope.type);
    if (!schema || validate(schema, content, "$").length) {
      return reject("schema_invalid", t("The document does not follow its document type."));
    }
    if (!statuses.includes("accepted") && !statuses.includes("rejected")) await this.receipt(msgId, "accepted");
    if (!statuses.includes("read")) await this.receipt(msgId, "read");
    return { message, envelope, content, schema };
  }
}

/** A document that does not follow its schema: `problems` is [{path, problem}] as `validate` gives them. */
export class DocumentInvalid extends Error {
  constructor(problems) {
    super("the document does not follow its document type");
    this.code = "document_invalid";
    this.problems = problems;
  }
}

/** The unit's signing key has not been shared with this device (yet). */
export class NoSigningKey extends Error {
  constructor() {
    super("this device has no signing key for the unit's address");
    this.code = "no_signing_key";
  }
}

/** The encrypted document is larger than the recipient accepts. */
export class TooLarge extends Error {
  constructor(limit) {
    super("the document is larger than the recipient accepts");
    this.code = "too_large";
    this.limit = limit;
  }
}

const KINDS = { object: "object", array: "array", string: "string", boolean: "boolean" };

function kindOf(value) {
  if (Array.isArray(value)) return "array";
  if (value === null) return "null";
  return typeof value;
}

/**
 * Everything wrong with `value` for `schema` (the subset chat/exchange/documents.py validates), as
 * [{path, problem}]: problem is type, enum, too_long, too_many, required or not_allowed; path is like
 * "$.guardians[0].name".
 */
export function validate(schema, value, path, problems = []) {
  const kind = KINDS[schema.type];
  if (kindOf(value) !== kind) {
    problems.push({ path, problem: "type" });
    return problems;
  }
  if (schema.enum && !schema.enum.includes(value)) problems.push({ path, problem: "enum" });
  if (kind === "string" && [...value].length > (schema.maxLength ?? Infinity)) problems.push({ path, problem: "too_long" });
  if (kind === "array") {
    if (value.length > (schema.maxItems ?? Infinity)) problems.push({ path, problem: "too_many" });
    value.forEach((item, i) => validate(schema.items, item, `${path}[${i}]`, problems));
  }
  if (kind === "object") {
    for (const name of schema.required) if (!(name in value)) problems.push({ path: `${path}.${name}`, problem: "required" });
    for (const [name, item] of Object.entries(value)) {
      if (!(name in schema.properties)) problems.push({ path: `${path}.${name}`, problem: "not_allowed" });
      else validate(schema.properties[name], item, `${path}.${name}`, problems);
    }
  }
  return problems;
}

/** The readable rendering (chat/exchange/documents.py `render`): the schema's titles, in its order. */
export function renderDocument(schema, content) {
  const list = h("dl", { class: "document-fields" });
  for (const [name, prop] of Object.entries(schema.properties)) {
    if (!(name in content)) continue;
    const value = content[name];
    const title = prop.title || name;
    let shown;
    if (prop.type === "object") shown = renderDocument(prop, value);
    else if (prop.type === "array") {
      shown = h("ul", { class: "document-items" }, value.map((entry) => {
        if (prop.items.type !== "object") return h("li", { text: String(entry) });
        if ("data" in entry) {
          return h("li", { text: `${entry.name} (${entry.media_type}, ${Math.floor(entry.data.length * 3 / 4)} B)` });
        }
        return h("li", {}, renderDocument(prop.items, entry));
      }));
    } else if (prop.type === "boolean") shown = value ? t("Yes") : t("No");
    else shown = String(value);
    const danger = name === "immediate_danger" && value === true;
    list.append(h("div", { class: `document-field${danger ? " danger" : ""}`, "data-field": name },
      h("dt", { text: title }), h("dd", {}, danger ? icon("urgent") : null, shown)));
  }
  return list;
}

export function priorityWords(priority) {
  return priority === "urgent" ? t("Urgent") : t("Normal");
}

/**
 * One list entry: priority, type, sender (or recipient, for a sent one), time, receipt state; `onOpen(id)`
 * on a plain click.
 */
export function mailItem(m, names, isOpen, onOpen, sent = false) {
  const state = receiptState(m.statuses);
  const urgent = m.priority === "urgent";
  const received = m.stored_at * 1000;
  const party = sent ? t("To %(recipient)s", { recipient: names[m.to] || m.to })
    : t("From %(sender)s", { sender: names[m.from] || m.from });
  const link = h("a", { href: `/inbox?agency=${encodeURIComponent(m.id)}`, class: "case-link", "data-agency-id": m.id,
    "aria-current": isOpen ? "true" : null },
  h("span", { class: "case-row" },
    h("span", { class: "case-name", text: typeName(m.type) }),
    h("time", { datetime: isoTime(received), title: fullTime(received), text: shortTime(received) })),
  h("span", { class: "case-title", text: party }),
  m.label ? h("span", { class: "case-meta", text: m.label }) : null,
  h("span", { class: "case-row" },
    h("span", { class: `badge priority-${m.priority}` }, urgent ? icon("urgent") : null,
      h("span", { text: priorityWords(m.priority) })),
    h("span", { class: `badge receipt-${state}`, text: sent ? sentStateWords(state) : stateWords(state) })));
  link.addEventListener("click", (event) => {
    if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    onOpen(m.id);
  });
  return h("li", { class: `case-item agency-item${urgent ? " urgent" : ""}${isOpen ? " is-open" : ""}` }, link);
}
