/**
 * The key transparency log's tree (docs/protocol.md §19), as crypto/merkle.py: RFC 9162 leaf and node
 * hashes, inclusion and consistency proof verification, leaves and signed tree heads.
 * @module crypto/merkle
 */
import { concat, lp16, requireLen, u64, ascii, unb64uLen, bytesEqual } from "./encoding.js";
import { MalformedError } from "./errors.js";
import { verifyStrict } from "./ed25519.js";

const LEAF_LABEL = ascii("samtal/log-leaf/v1");
const HEAD_LABEL = ascii("samtal/tree-head/v1");
export const LEAF_KINDS = ["device", "revoked", "unit-epoch", "unit-cert"];
const MAX_PROOF = 64;

const sha256 = async (bytes) => new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));

/** SHA-256(0x00 || leaf) */
export const leafHash = (leaf) => sha256(concat(new Uint8Array([0]), leaf));
/** SHA-256(0x01 || left || right) */
export const nodeHash = (left, right) => sha256(concat(new Uint8Array([1]), left, right));

/** MTH over leaf hashes (RFC 9162 §2.1.1). */
export async function merkleRoot(hashes) {
  if (hashes.length === 0) return sha256(new Uint8Array(0));
  if (hashes.length === 1) return hashes[0];
  let k = 1;
  while (k * 2 < hashes.length) k *= 2;
  return nodeHash(await merkleRoot(hashes.slice(0, k)), await merkleRoot(hashes.slice(k)));
}

/** RFC 9162 §2.1.3.2; false for anything that does not check out. */
export async function verifyInclusion(hash, index, size, proof, root) {
  if (!(Number.isInteger(index) && Number.isInteger(size)) || index < 0 || index >= size || proof.length > MAX_PROOF) {
    return false;
  }
  let fn = BigInt(index), sn = BigInt(size - 1), r = hash;
  for (const p of proof) {
    if (sn === 0n) return false;
    if ((fn & 1n) || fn === sn) {
      r = await nodeHash(p, r);
      if (!(fn & 1n)) while (fn && !(fn & 1n)) { fn >>= 1n; sn >>= 1n; }
    } else {
      r = await nodeHash(r, p);
    }
    fn >>= 1n; sn >>= 1n;
  }
  return sn === 0n && bytesEqual(r, root);
}

/** RFC 9162 §2.1.4.2; false for anything that does not check out. */
export async function verifyConsistency(first, second, firstRoot, secondRoot, proof) {
  if (!(Number.isInteger(first) && Number.isInteger(second)) || first < 1 || first > second || proof.length > MAX_PROOF) {
    return false;
  }
  if (first === second) return proof.length === 0 && bytesEqual(firstRoot, secondRoot);
  if (proof.length === 0) return false;
  const path = [...proof];
  if ((first & (first - 1)) === 0) path.unshift(firstRoot);
  let fn = BigInt(first - 1), sn = BigInt(second - 1);
  while (fn & 1n) { fn >>= 1n; sn >>= 1n; }
  let fr = path[0], sr = path[0];
  for (const c of path.slice(1)) {
    if (sn === 0n) return false;
    if ((fn & 1n) || fn === sn) {
      fr = await nodeHash(c, fr);
      sr = await nodeHash(c, sr);
      if (!(fn & 1n)) while (fn && !(fn & 1n)) { fn >>= 1n; sn >>= 1n; }
    } else {
      sr = await nodeHash(sr, c);
    }
    fn >>= 1n; sn >>= 1n;
  }
  return sn === 0n && bytesEqual(fr, firstRoot) && bytesEqual(sr, secondRoot);
}

/** leaf = "samtal/log-leaf/v1" || lp16(kind) || u64(logged_at) || lp16(body) */
export function leafBytes(kind, loggedAt, body) {
  if (!LEAF_KINDS.includes(kind)) throw new MalformedError("unknown log leaf kind");
  return concat(LEAF_LABEL, lp16(ascii(kind)), u64(loggedAt), lp16(body));
}

/** The body of a unit-cert leaf: lp16(cert_signed) || signature. */
export const unitCertLeafBody = (signed, signature) => concat(lp16(signed), requireLen(signature, 64, "signature"));

export function headSigningBytes(size, root, timestamp) {
  return concat(HEAD_LABEL, u64(size), requireLen(root, 32, "root"), u64(timestamp));
}

/** A head's JSON {size, root, timestamp, signature} as bytes; MalformedError for any other shape. */
export function headFromJson(d) {
  if (!d || !Number.isInteger(d.size) || !Number.isInteger(d.timestamp) || typeof d.root !== "string"
      || typeof d.signature !== "string") {
    throw new MalformedError("a tree head is {size, root, timestamp, signature}");
  }
  return { size: d.size, root: unb64uLen(d.root, 32, "root"), timestamp: d.timestamp,
    signature: unb64uLen(d.signature, 64, "signature") };
}

export async function verifyHead(head, logKey) {
  try {
    return await verifyStrict(logKey, headSigningBytes(head.size, head.root, head.timestamp), head.signature);
  } catch (error) {
    if (error instanceof MalformedError) return false;
    throw error;
  }
}
