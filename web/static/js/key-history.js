// History links in the browser (docs/protocol.md section 17): from the newest key epoch this device was given,
// open every older one by following the links each newer epoch keeps of the one before it; and, for staff
// browsers doing key work, make those links. Follows web/client/key_history.py step for step.
import * as c from "./crypto/index.js";
import { api } from "./api.js";

const enc = encodeURIComponent;

/**
 * Open older epochs into `held` (Map epoch -> CryptoKey) from the epochs already there, newest first, as far as
 * the links reach. A link that is not signed by the device it names, or does not open, is skipped.
 */
async function walkLinks(session, kind, target, links, held, openLink, unitId = null) {
  const ordered = [...links].sort((a, b) => b.epoch - a.epoch || b.sealed_epoch - a.sealed_epoch);
  for (let pass = 0; pass < links.length; pass++) { // bounded: each pass opens one more epoch, or the walk stops
    let progress = false;
    for (const link of ordered) {
      if (!held.has(link.epoch) || held.has(link.sealed_epoch)) continue;
      // Only a link a device the unit's identity certified signed (revoked since is allowed: it opens older
      // epochs only), docs/protocol.md §18.
      if (unitId && !await session.entitled(unitId, link.signer_device, true)) continue;
      const raw = c.unb64u(link.link);
      const signer = await session.deviceKeys(link.signer_device);
      if (!await c.verifyHistory(signer, c.unb64u(link.signature), kind, target, link.epoch, link.sealed_epoch, raw)) continue;
      try {
        held.set(link.sealed_epoch, await openLink(link.epoch, held.get(link.epoch), link.sealed_epoch, raw));
        progress = true;
      } catch (error) {
        if (!(error instanceof c.CryptoError)) throw error;
      }
    }
    if (!progress) return;
  }
}

/** A unit key epoch's public key, once its publication verifies against the device that made it. */
async function checkedUnitPub(session, unitId, record) {
  if (!record) throw new c.CryptoError("a history link names a unit key epoch that was never published");
  const pub = c.unb64u(record.public_key);
  const creator = await session.deviceKeys(record.created_by_device);
  if (!await c.verifyUnitEpoch(creator, c.unb64u(record.signature), unitId, record.epoch, pub)) {
    throw new c.CryptoError("a unit key epoch is not signed by the device that made it");
  }
  return pub;
}

/** Every older unit key epoch the links reach from `held` (Map epoch -> CryptoKey); `epochs`: /keys's epochs. */
export async function followUnitLinks(session, unitId, epochs, held) {
  if (!held.size || epochs.every((e) => held.has(e.epoch))) return;
  const byEpoch = new Map(epochs.map((e) => [e.epoch, e]));
  const { links } = await api("GET", `/api/units/${enc(unitId)}/history`);
  await walkLinks(session, "unit", unitId, links, held, async (epoch, key, sealed, raw) =>
    c.openUnitHistoryKey(unitId, epoch, key, sealed, raw, await checkedUnitPub(session, unitId, byEpoch.get(sealed))),
  unitId);
}

/** Every older case key epoch the links reach from `held` (Map epoch -> CryptoKey); `unitId`: the case's unit. */
export async function followCaseLinks(session, caseId, held, unitId = null) {
  if (!held.size) return;
  const { links } = await api("GET", `/api/cases/${enc(caseId)}/history`);
  await walkLinks(session, "case", caseId, links, held, (epoch, key, sealed, raw) =>
    c.openCaseHistoryKey(caseId, epoch, key, sealed, raw), unitId);
}

// -- making links (staff browsers' key work) -----------------------------------------------------------------
/**
 * The raw private key of unit key `epoch`, for sealing it into a link: from this device's grant, or else from
 * a link of a newer epoch this device holds; checked against the epoch's signed public key. null if neither.
 * The caller wipes it.
 */
export async function rawUnitKey(session, unitId, epoch) {
  const answer = await api("GET", `/api/units/${enc(unitId)}/keys`);
  const pub = await checkedUnitPub(session, unitId, answer.epochs.find((e) => e.epoch === epoch));
  for (const grant of await session._checkedGrants(unitId, (e) => e !== epoch, answer)) {
    const raw = await c.hpkeOpen(session.keys.kem.privateKey, grant.wrapped.enc, c.unitKeyInfo(unitId, epoch),
      new Uint8Array(0), grant.wrapped.ct);
    if (await matches(raw, pub)) return raw;
    raw.fill(0);
  }
  const held = await session.unitKeys(unitId);
  const { links } = await api("GET", `/api/units/${enc(unitId)}/history`);
  for (const link of links.filter((l) => l.sealed_epoch === epoch && held.has(l.epoch))) {
    const raw = c.unb64u(link.link);
    const signer = await session.deviceKeys(link.signer_device);
    if (!await c.verifyHistory(signer, c.unb64u(link.signature), "unit", unitId, link.epoch, epoch, raw)) continue;
    try {
      return await c.openUnitHistory(unitId, link.epoch, held.get(link.epoch), epoch, raw, pub);
    } catch (error) {
      if (!(error instanceof c.CryptoError)) throw error;
    }
  }
  return null;
}

/** Whether a raw X25519 private key is that of the public key `pub`. */
async function matches(raw, pub) {
  const derived = await c.x25519PublicKey(await c.importX25519Private(raw));
  return derived.length === pub.length && derived.every((b, i) => b === pub[i]);
}

/**
 * The raw case key of `epoch`, from its wrap to a unit key epoch this device holds (every case key epoch is
 * wrapped to the unit key when it is made); null if none opens. The caller wipes it.
 */
export async function rawCaseKey(session, unitId, caseId, epoch) {
  const unitKeys = await session.unitKeys(unitId);
  const { wraps } = await api("GET", `/api/cases/${enc(caseId)}/keys`);
  for (const wrap of wraps) {
    const unitEpoch = wrap.recipient.startsWith("unit:") ? Number(wrap.recipient.slice(5)) : NaN;
    if (wrap.epoch !== epoch || !unitKeys.has(unitEpoch)) continue;
    const wrapped = { enc: c.unb64u(wrap.enc), ct: c.unb64u(wrap.ct) };
    const wrapper = await session.deviceKeys(wrap.wrapped_by_device);
    if (!await c.verifyWrap(wrapper, c.unb64u(wrap.signature), "case", caseId, epoch, wrap.recipient, wrapped)) continue;
    return c.hpkeOpen(unitKeys.get(unitEpoch), wrapped.enc, c.caseKeyInfo(caseId, epoch), new Uint8Array(0), wrapped.ct);
  }
  return null;
}

/** Post the link by which unit key `epoch` (public key `pub`) seals `epoch - 1`; false if this device lacks it. */
export async function addUnitLink(session, unitId, epoch, pub) {
  const older = await rawUnitKey(session, unitId, epoch - 1);
  if (!older) return false;
  try {
    const link = await c.sealUnitHistory(unitId, epoch, pub, epoch - 1, older);
    const signature = await c.signHistory(session.keys, "unit", unitId, epoch, epoch - 1, link);
    await api("POST", `/api/units/${enc(unitId)}/history`,
      { links: [{ epoch, sealed_epoch: epoch - 1, link: c.b64u(link), signature: c.b64u(signature) }] });
  } finally {
    older.fill(0);
  }
  return true;
}

/** Post the link by which case key `epoch` (raw `key`, or looked up) seals `epoch - 1`; false if not held. */
export async function addCaseLink(session, unitId, caseId, epoch, key = null) {
  const newer = key || await rawCaseKey(session, unitId, caseId, epoch);
  const older = newer && await rawCaseKey(session, unitId, caseId, epoch - 1);
  try {
    if (!older) return false;
    const link = await c.sealCaseHistory(caseId, epoch, newer, epoch - 1, older);
    const signature = await c.signHistory(session.keys, "case", caseId, epoch, epoch - 1, link);
    await api("POST", `/api/cases/${enc(caseId)}/history`,
      { links: [{ epoch, sealed_epoch: epoch - 1, link: c.b64u(link), signature: c.b64u(signature) }] });
    return true;
  } finally {
    older?.fill(0);
    if (!key) newer?.fill(0);
  }
}
