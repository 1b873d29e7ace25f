/**
 * The unit identity (docs/protocol.md §18), as crypto/unitcert.py: certificates, the unit's safety number,
 * and the chain rules (`evaluateChain`) that say which staff devices and unit key epochs a client may trust.
 * Making certificates (a supervisor's browser that holds the identity) is in crypto/identityseal.js.
 * @module crypto/unitcert
 */
import { ascii, bytesEqual, concat, isId16, lp16, u64, unb64u, unb64uLen, utf8 } from "./encoding.js";
import { CryptoError, MalformedError } from "./errors.js";
import { isSmallOrderOrNoncanonical, verifyStrict } from "./ed25519.js";
import { deviceId } from "./keys.js";

const CERT_LABEL = ascii("samtal/unit-cert/v1");
const FINGERPRINT_LABEL = ascii("samtal/unit-fingerprint/v1");
export const CERT_KINDS = ["identity", "handover", "device", "revoke", "epoch"];

/** The pinned identity is not in the unit's chain: another key took the unit's place. */
export class UnitIdentityChanged extends CryptoError {}
/** The certificates do not form a valid chain. */
export class ChainError extends CryptoError {}

export function certSigningBytes(unitId, kind, subject, issuedAt) {
  if (!CERT_KINDS.includes(kind)) throw new MalformedError("unknown certificate kind");
  return concat(CERT_LABEL, lp16(utf8(unitId)), lp16(ascii(kind)), lp16(subject), u64(issuedAt));
}

/** A certificate's JSON form, with its bytes decoded; MalformedError for any other shape. */
export function certFromJson(d) {
  if (!d || !CERT_KINDS.includes(d.kind) || typeof d.unit_id !== "string" || !Number.isInteger(d.issued_at)
      || d.issued_at < 0 || typeof d.subject !== "string" || typeof d.signer !== "string"
      || typeof d.signature !== "string") {
    throw new MalformedError("a certificate is {unit_id, kind, subject, issued_at, signer, signature}");
  }
  return { unitId: d.unit_id, kind: d.kind, subject: unb64u(d.subject), issuedAt: d.issued_at,
    signer: unb64uLen(d.signer, 32, "signer"), signature: unb64uLen(d.signature, 64, "signature") };
}

export async function certVerifies(cert) {
  try {
    return await verifyStrict(cert.signer, certSigningBytes(cert.unitId, cert.kind, cert.subject, cert.issuedAt),
      cert.signature);
  } catch (error) {
    if (error instanceof MalformedError) return false;
    throw error;
  }
}

function identityKey(bytes) {
  if (bytes.length !== 32 || isSmallOrderOrNoncanonical(bytes)) throw new MalformedError("not an identity key");
  return bytes;
}

const u16 = (b, at) => (b[at] << 8) | b[at + 1];

/** The subject's fields, as parse_subject in Python. */
export async function parseSubject(kind, s) {
  if (kind === "identity" || kind === "handover") return identityKey(s);
  if (kind === "epoch") {
    if (s.length !== 36) throw new MalformedError("an epoch subject is 36 bytes");
    const epoch = ((s[0] << 24) >>> 0) + (s[1] << 16) + (s[2] << 8) + s[3];
    if (epoch < 1) throw new MalformedError("epochs start at 1");
    return { epoch, unitPub: s.slice(4) };
  }
  const n = u16(s, 0);
  const id = new TextDecoder("ascii").decode(s.slice(2, 2 + n));
  if (!isId16(id)) throw new MalformedError("not a device id");
  if (kind === "revoke") {
    if (s.length !== 2 + n) throw new MalformedError("trailing bytes");
    return id;
  }
  const rest = s.slice(2 + n);
  const signPub = rest.slice(0, 32), kemPub = rest.slice(32, 64);
  const m = u16(rest, 64);
  if (rest.length !== 66 + m) throw new MalformedError("malformed device subject");
  if (await deviceId(signPub, kemPub) !== id) throw new MalformedError("the device id is not the hash of its keys");
  return { deviceId: id, signPub, kemPub, userId: new TextDecoder("utf-8", { fatal: true }).decode(rest.slice(66)) };
}

/** The unit's safety number: six groups of five digits (§18). */
export async function unitFingerprint(unitId, identityPub) {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256",
    concat(FINGERPRINT_LABEL, lp16(utf8(unitId)), identityKey(identityPub))));
  const groups = [];
  for (let i = 0; i < 30; i += 5) {
    groups.push(String(digest.subarray(i, i + 5).reduce((n, b) => n * 256 + b, 0) % 100000).padStart(5, "0"));
  }
  return groups.join(" ");
}

/**
 * Check a unit's certificates in log order (the rules of §18, as evaluate_chain in Python): the self-signed
 * genesis first, then each certificate signed by the key current at its place. With `pinned`, the pinned key
 * must be in the chain. Returns {keys, currentKey, devices: Map id -> {deviceId, signPub, kemPub, userId},
 * revoked: Set, epochs: Map epoch -> unitPub, device(id, allowRevoked)}.
 */
export async function evaluateChain(unitId, certs, pinned = null) {
  const keys = [], devices = new Map(), revoked = new Set(), epochs = new Map();
  for (const [position, cert] of certs.entries()) {
    if (cert.unitId !== unitId) throw new ChainError("a certificate of another unit");
    const subject = await parseSubject(cert.kind, cert.subject);
    if (position === 0) {
      if (cert.kind !== "identity" || !bytesEqual(subject, cert.signer) || !await certVerifies(cert)) {
        throw new ChainError("the first certificate must be the self-signed identity");
      }
      keys.push(cert.signer);
      continue;
    }
    if (cert.kind === "identity") throw new ChainError("a second genesis");
    if (!bytesEqual(cert.signer, keys[keys.length - 1]) || !await certVerifies(cert)) {
      throw new ChainError(`a ${cert.kind} certificate not signed by the unit's current identity key`);
    }
    if (cert.kind === "handover") keys.push(subject);
    else if (cert.kind === "device") { devices.set(subject.deviceId, subject); revoked.delete(subject.deviceId); }
    else if (cert.kind === "revoke") revoked.add(subject);
    else if (cert.kind === "epoch") {
      const known = epochs.get(subject.epoch);
      if (known && !bytesEqual(known, subject.unitPub)) throw new ChainError("two keys certified for one epoch");
      epochs.set(subject.epoch, subject.unitPub);
    }
  }
  if (!keys.length) throw new ChainError("the unit has no identity");
  if (pinned && !keys.some((k) => bytesEqual(k, pinned))) {
    throw new UnitIdentityChanged("the unit's identity key changed without a hand-over from the pinned key");
  }
  return {
    unitId, keys, currentKey: keys[keys.length - 1], devices, revoked, epochs,
    device(id, allowRevoked = false) {
      return revoked.has(id) && !allowRevoked ? null : devices.get(id) ?? null;
    },
  };
}

