// What this browser trusts and remembers (docs/protocol.md §18-19), as web/client/trust.py: the unit identities
// it pinned on first use, the key log's signing key and the newest log head it saw. A unit's certificates are
// checked here (each one's inclusion in the log, the log's consistency with every head seen before, the chain
// against the pinned identity) before the session uses any key or device of the unit.
import * as c from "./crypto/index.js";
import { api } from "./api.js";
import * as db from "./idb.js";
import { UNIT_IDENTITY_URLS } from "./unit-identity-urls.js";

export class TrustError extends Error {
  constructor(code, message) {
    super(message);
    this.name = "TrustError";
    this.code = code;
  }
}

const P = (list) => list.map(c.unb64u);

/** Check a head the server gave against the pinned log key and the newest head kept; keep the newer. */
async function acceptHead(storeKey, answer) {
  const logKey = c.unb64u(answer.log_key);
  const head = c.headFromJson(answer.head);
  const kept = await db.get("meta", storeKey);
  if (kept && c.b64u(c.unb64u(kept.log_key)) !== answer.log_key) {
    throw new TrustError("log_key_changed", "the key log is signed by another key than before");
  }
  if (!await c.verifyHead(head, logKey)) throw new TrustError("log_fork", "the key log's head is not signed by its key");
  if (kept?.head) {
    const seen = c.headFromJson(kept.head);
    const [small, large] = seen.size <= head.size ? [seen, head] : [head, seen];
    if (small.size === large.size) {
      if (c.b64u(small.root) !== c.b64u(large.root)) {
        throw new TrustError("log_fork", "two heads of the key log with one size and different roots");
      }
    } else if (small.size > 0) {
      const { proof } = await api("GET", `/api/log/consistency?first=${small.size}&second=${large.size}`);
      if (!await c.verifyConsistency(small.size, large.size, small.root, large.root, P(proof))) {
        throw new TrustError("log_fork", "the key log is not consistent with a head seen before");
      }
    }
  }
  const newest = kept?.head && c.headFromJson(kept.head).size > head.size ? kept.head : answer.head;
  await db.put("meta", { log_key: answer.log_key, head: newest }, storeKey);
  return head;
}

/**
 * The identity key the municipality's signed file names for the unit, fetched from the address the signed
 * release names (unit-identity-urls.js, never the server's answer): TrustError identity_unreachable when it
 * cannot be read, identity_mismatch when it does not verify.
 */
async function publishedKey(url, unitId) {
  let data;
  try {
    const response = await fetch(url, { credentials: "omit", cache: "no-store", redirect: "error",
      referrerPolicy: "no-referrer" });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    data = await response.json();
  } catch {
    throw new TrustError("identity_unreachable", "the municipality's published identity of the unit could not be read");
  }
  try {
    return await c.verifyIdentityFile(data, unitId);
  } catch {
    throw new TrustError("identity_mismatch", "the municipality's published identity file does not verify");
  }
}

/**
 * The unit's checked certificates (evaluateChain's result), or null while the unit has no identity and none
 * was pinned. `keyOf(name)` names this user's records in IndexedDB. When the release names the municipality's
 * file for the unit, the current key is compared with it the first time it is seen (every time with
 * `recheck`; not at all without `published`); `trust.published` then says where ({url, host}), and a file
 * naming another key stops everything for the unit (identity_mismatch), as a changed identity does.
 */
export async function checkUnit(keyOf, unitId, { recheck = false, published = true } = {}) {
  const answer = await api("GET", `/api/units/${encodeURIComponent(unitId)}/identity`);
  const head = await acceptHead(keyOf("trust-log"), answer);
  const certs = [];
  let last = -1;
  for (const item of answer.certificates) {
    let cert, leaf;
    try {
      cert = c.certFromJson(item);
      leaf = c.leafBytes("unit-cert", item.logged_at, c.unitCertLeafBody(
        c.certSigningBytes(cert.unitId, cert.kind, cert.subject, cert.issuedAt), cert.signature));
    } catch {
      throw new TrustError("bad_chain", "a unit certificate is malformed");
    }
    if (!Number.isInteger(item.log_index) || item.log_index <= last
        || !await c.verifyInclusion(await c.leafHash(leaf), item.log_index, head.size, P(item.inclusion), head.root)) {
      throw new TrustError("not_in_log", "a unit certificate is not in the key log the server signed");
    }
    last = item.log_index;
    certs.push(cert);
  }
  const pin = await db.get("meta", keyOf("pin", unitId));
  const pinned = pin ? c.unb64u(pin.identity_key) : null;
  if (!certs.length) {
    if (pinned) throw new TrustError("unit_identity_changed", "the unit's identity is gone");
    return null;
  }
  let trust;
  try {
    trust = await c.evaluateChain(unitId, certs, pinned);
  } catch (error) {
    if (error instanceof c.UnitIdentityChanged) {
      throw new TrustError("unit_identity_changed", "the unit's identity changed without a hand-over");
    }
    throw new TrustError("bad_chain", `the unit's certificates do not verify: ${error.message}`);
  }
  trust.fingerprint = await c.unitFingerprint(unitId, trust.currentKey);
  const current = c.b64u(trust.currentKey);
  const url = published && Object.hasOwn(UNIT_IDENTITY_URLS, unitId) ? UNIT_IDENTITY_URLS[unitId] : null;
  let fileChecked = pin?.file_checked ?? null;
  if (url) {
    if (recheck || fileChecked !== current) {
      if (c.b64u(await publishedKey(url, unitId)) !== current) {
        throw new TrustError("identity_mismatch", "the municipality publishes another identity key for the unit");
      }
      fileChecked = current;
    }
    trust.published = { url, host: new URL(url).host };
  }
  await db.put("meta", { identity_key: current, fingerprint: trust.fingerprint,
    first: pin?.first ?? trust.fingerprint, file_checked: fileChecked }, keyOf("pin", unitId));
  return trust;
}

/**
 * The signed-in person's own device records as the key log shows them, each checked to be in the log the
 * server signed (and the log checked against the heads this browser saw): [{kind, deviceId, loggedAt}].
 */
export async function ownDevicesInLog(keyOf) {
  const answer = await api("GET", "/api/me/devices/log");
  const head = await acceptHead(keyOf("trust-log"), answer);
  const out = [];
  for (const entry of answer.entries) {
    const leaf = c.unb64u(entry.leaf);
    if (!await c.verifyInclusion(await c.leafHash(leaf), entry.log_index, head.size, P(entry.inclusion), head.root)) {
      throw new TrustError("not_in_log", "a device record is not in the key log the server signed");
    }
    out.push(parseDeviceLeaf(leaf));
  }
  return out;
}

/** kind ("device" or "revoked"), logged_at and the device id of a device leaf (§19). */
function parseDeviceLeaf(leaf) {
  const u16 = (at) => (leaf[at] << 8) | leaf[at + 1];
  const label = "samtal/log-leaf/v1".length;
  const kindLen = u16(label);
  const kind = new TextDecoder().decode(leaf.slice(label + 2, label + 2 + kindLen));
  let at = label + 2 + kindLen;
  const loggedAt = Number(leaf.slice(at, at + 8).reduce((n, b) => n * 256n + BigInt(b), 0n));
  at += 10; // the time, then the body's length
  at += 2 + u16(at); // the user id
  const idLen = u16(at);
  return { kind, loggedAt, deviceId: new TextDecoder().decode(leaf.slice(at + 2, at + 2 + idLen)) };
}
