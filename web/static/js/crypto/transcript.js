/**
 * A case's transcript, checked by each reader (crypto/transcript.py; docs/protocol.md section 20): every
 * version 2 envelope carries its device's counter in the case and the hash of the newest message the device
 * had seen, so a reader notices replays, reordering, and messages withheld in the middle, and with what it
 * remembers from before, messages withheld at the end.
 * @module crypto/transcript
 */
import { ascii, b64u, bytesEqual, concat } from "./encoding.js";
import { NO_PREV } from "./envelope.js";

const HASH_LABEL = ascii("samtal/msg-hash/v2");

export const REPLAYED = "replayed";
export const MISSING_BEFORE = "missing_before";
export const OUT_OF_ORDER = "out_of_order";
export const NOT_SEEN = "not_seen";
export const GONE = "gone";
export const OWN_MISSING = "own_missing";

/**
 * The hash a later message uses to name this one: SHA-256 over the label and the whole envelope.
 * @param {Uint8Array} raw
 * @returns {Promise<Uint8Array>}
 */
export async function messageHash(raw) {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", concat(HASH_LABEL, raw)));
}

/**
 * One message whose signature verified, as the server ordered it; counter 0 for a version 1 envelope.
 * @typedef {{seq: number, msgId: string, device: string, counter: number, prev: Uint8Array, hash: Uint8Array}} Entry
 * What the reading device remembers of the case: the newest message it showed, and the highest counter of its
 * own messages the server acknowledged.
 * @typedef {{lastHash: Uint8Array | null, ownCounter: number}} Memory
 * @typedef {{code: string, count?: number, seq?: number}} Problem
 */

/**
 * Check the verified messages of one case, all of them, in the server's order (seq ascending).
 * @param {Entry[]} entries
 * @param {Memory | null} memory
 * @param {string | null} ownDevice
 * @returns {{problems: Problem[][], unchecked: boolean[], case: Problem[]}}
 */
export function checkTranscript(entries, memory = null, ownDevice = null) {
  const verdict = { problems: [], unchecked: [], case: [] };
  const firstSeq = new Map();
  const counters = new Map();
  const shown = new Set();
  const later = new Set(entries.map((e) => b64u(e.hash)));
  for (const entry of entries) {
    const found = [];
    verdict.problems.push(found);
    verdict.unchecked.push(entry.counter === 0);
    if (firstSeq.has(entry.msgId)) {
      found.push({ code: REPLAYED, seq: firstSeq.get(entry.msgId) });
      continue; // a copy adds nothing: it is neither checked further nor counted
    }
    firstSeq.set(entry.msgId, entry.seq);
    shown.add(b64u(entry.hash));
    if (entry.counter === 0) continue;
    const last = counters.get(entry.device) ?? 0;
    if (entry.counter > last + 1) found.push({ code: MISSING_BEFORE, count: entry.counter - last - 1 });
    if (entry.counter <= last) found.push({ code: OUT_OF_ORDER });
    counters.set(entry.device, Math.max(last, entry.counter));
    const prev = b64u(entry.prev);
    if (!bytesEqual(entry.prev, NO_PREV) && !shown.has(prev)) {
      if (later.has(prev)) {
        if (!found.some((p) => p.code === OUT_OF_ORDER)) found.push({ code: OUT_OF_ORDER });
      } else {
        found.push({ code: NOT_SEEN });
      }
    }
  }
  if (memory) {
    if (memory.lastHash && !shown.has(b64u(memory.lastHash))) verdict.case.push({ code: GONE });
    const mine = ownDevice ? counters.get(ownDevice) ?? 0 : 0;
    if (memory.ownCounter > mine) verdict.case.push({ code: OWN_MISSING, count: memory.ownCounter - mine });
  }
  return verdict;
}

/**
 * The memory to keep after showing `entries`.
 * @param {Entry[]} entries @param {Memory} memory @param {string | null} ownDevice
 * @returns {Memory}
 */
export function rememberTranscript(entries, memory, ownDevice) {
  const own = entries.filter((e) => e.device === ownDevice).map((e) => e.counter);
  return {
    lastHash: entries.length ? entries[entries.length - 1].hash : memory.lastHash,
    ownCounter: Math.max(memory.ownCounter, ...own),
  };
}
