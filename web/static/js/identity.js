// The unit's identity key in a supervisor's browser (docs/protocol.md §18, Holders), as web/client/identity.py:
// made here in the key ceremony, kept on the server only sealed to each holder's device (and signed by the
// identity itself), opened for the moment of signing and wiped after. A holder certifies the staff devices a
// supervisor approves, revokes the certificates of removed devices, certifies unit key epochs a certified
// device made, gives the key to a second supervisor's device, and hands the identity over to a new key.
import * as c from "./crypto/index.js";
import { api } from "./api.js";

const HOLDER_ROLES = new Set(["supervisor", "unit_admin"]);

/** This browser is asked to sign for the unit but holds no seal of its current identity key. */
export class NotHolder extends Error {
  constructor() {
    super("this device does not hold the unit's identity key");
    this.name = "NotHolder";
    this.code = "not_holder";
  }
}

const unitBase = (unitId) => `/api/units/${encodeURIComponent(unitId)}`;
const file = (unitId, certificate) => api("POST", `${unitBase(unitId)}/certificates`, { certificate });

/**
 * The unit's checked chain (null: no identity yet), the devices that hold its current key, and this device's
 * own seal (null when it holds none). The chain is this browser's own check (trust.js), never the server's word.
 */
export async function identityState(session, unitId) {
  const trust = await session.unitTrust(unitId, true);
  if (!trust || !HOLDER_ROLES.has(session.user.role)) return { trust, holders: [], mine: null };
  const answer = await api("GET", `${unitBase(unitId)}/identity/seals`);
  const current = answer.identity_key === c.b64u(trust.currentKey);
  return { trust, holders: current ? answer.holders : [], mine: current ? answer.mine : null };
}

/** Run `work(key, seed, trust)` with the identity key opened from this device's seal; the seed is wiped after. */
async function withIdentity(session, unitId, work) {
  const { trust, mine } = await identityState(session, unitId);
  if (!trust || !mine) throw new NotHolder();
  const seed = await c.openIdentitySeal(session.keys.kem.privateKey, unitId, session.deviceId, trust.currentKey,
    { enc: c.unb64u(mine.enc), ct: c.unb64u(mine.ct) }, c.unb64u(mine.signature));
  try {
    return await work(await c.identityKeyFromSeed(seed), seed, trust);
  } finally {
    seed.fill(0);
    session._units?.delete(unitId); // what was filed changes the chain
  }
}

/** Seal the seed to a device (its keys checked against its id) and file the seal. */
async function sealTo(session, unitId, seed, deviceId) {
  const device = await session.deviceKeys(deviceId);
  const { wrapped, signature } = await c.sealIdentity(seed, unitId, deviceId, device.kemPub);
  await api("POST", `${unitBase(unitId)}/identity/seals`,
    { device_id: deviceId, ...c.wrappedToJson(wrapped), signature: c.b64u(signature) });
}

async function deviceCert(session, key, unitId, deviceId) {
  const device = await session.deviceKeys(deviceId);
  // Whose device it is comes from its own registration proof (§3); a proof that fails is never certified.
  if (device.ownerProof === "invalid") throw new c.CryptoError("the device's registration proof does not verify");
  return c.signCert(key, unitId, "device", await c.deviceSubject(deviceId, device.signPub, device.kemPub, device.owner));
}

/**
 * The key ceremony (the unit's first supervisor): make the identity in this browser, file its genesis and this
 * device's certificate, seal it to this device. Returns {fingerprint, file}: the safety number the
 * municipality prints and the signed file it publishes on its own web site.
 */
export async function createIdentity(session, unitId, name = "") {
  const seed = crypto.getRandomValues(new Uint8Array(32));
  try {
    const key = await c.identityKeyFromSeed(seed);
    await file(unitId, await c.signCert(key, unitId, "identity", c.identitySubject(key.publicKey)));
    await file(unitId, await deviceCert(session, key, unitId, session.deviceId));
    await sealTo(session, unitId, seed, session.deviceId);
    session._units?.delete(unitId);
    return { fingerprint: await c.unitFingerprint(unitId, key.publicKey), file: await c.identityFile(key, unitId, name) };
  } finally {
    seed.fill(0);
  }
}

/**
 * Take up a key file made away from the server (`samtal keys identity create|hand-over`, web/cli/identity.py):
 * for a unit without an identity its genesis is filed; a file of the next key carries the hand-over its
 * predecessor signed, which is filed first. This device is then certified (by the key itself, if need be) and
 * the key sealed to it. The seed is read here and never leaves the browser unsealed. Returns {fingerprint}.
 */
export async function takeUpKeyFile(session, unitId, text) {
  let data = null;
  try {
    data = JSON.parse(text);
  } catch {
    // not JSON: refused below
  }
  if (!data || typeof data.seed !== "string" || data.unit_id !== unitId) {
    throw new KeyFileRefused("not an identity key file of this unit");
  }
  const seed = c.unb64u(data.seed);
  try {
    if (seed.length !== 32) throw new KeyFileRefused("not an identity key file of this unit");
    const key = await c.identityKeyFromSeed(seed);
    let trust = await session.unitTrust(unitId, true);
    if (!trust) await file(unitId, await c.signCert(key, unitId, "identity", c.identitySubject(key.publicKey)));
    else if (c.b64u(trust.currentKey) !== c.b64u(key.publicKey)) {
      if (!data.handover) throw new KeyFileRefused("the key file's key is not the unit's identity key");
      await file(unitId, data.handover); // the server and every client check it is the current key's hand-over
    }
    session._units?.delete(unitId);
    trust = await session.unitTrust(unitId, true);
    if (!trust || c.b64u(trust.currentKey) !== c.b64u(key.publicKey)) {
      throw new KeyFileRefused("the key file's key is not the unit's identity key");
    }
    if (!trust.device(session.deviceId)) await file(unitId, await deviceCert(session, key, unitId, session.deviceId));
    await sealTo(session, unitId, seed, session.deviceId);
    session._units?.delete(unitId);
    return { fingerprint: await c.unitFingerprint(unitId, key.publicKey) };
  } finally {
    seed.fill(0);
  }
}

/** A key file that is not of this unit's identity (or of its next key). */
export class KeyFileRefused extends Error {
  constructor(message) {
    super(message);
    this.name = "KeyFileRefused";
    this.code = "key_file_refused";
  }
}

/** Certify a staff device (a supervisor's act, after comparing its safety number). */
export function certifyDevice(session, unitId, deviceId) {
  return withIdentity(session, unitId, async (key) => file(unitId, await deviceCert(session, key, unitId, deviceId)));
}

/** Give the identity key to a second supervisor's certified device (after comparing its safety number). */
export function giveIdentity(session, unitId, deviceId) {
  return withIdentity(session, unitId, (_key, seed) => sealTo(session, unitId, seed, deviceId));
}

/** The municipality's file again (e.g. when it was lost), made from the held key. */
export function publishedFile(session, unitId, name = "") {
  return withIdentity(session, unitId, async (key) => c.identityFile(key, unitId, name));
}

/**
 * Rotate the identity: a new key, announced by a hand-over certificate the current key signs, sealed to this
 * device. Clients that pinned the old key follow the hand-over. Returns {fingerprint, file} of the new key;
 * the municipality replaces its file, and the other supervisors are given the new key anew.
 */
export function rotateIdentity(session, unitId, name = "") {
  return withIdentity(session, unitId, async (key) => {
    const next = crypto.getRandomValues(new Uint8Array(32));
    try {
      const nextKey = await c.identityKeyFromSeed(next);
      await file(unitId, await c.signCert(key, unitId, "handover", c.identitySubject(nextKey.publicKey)));
      session._units?.delete(unitId);
      await session.unitTrust(unitId, true); // follows the hand-over and pins the new key
      await sealTo(session, unitId, next, session.deviceId);
      return { fingerprint: await c.unitFingerprint(unitId, nextKey.publicKey),
        file: await c.identityFile(nextKey, unitId, name) };
    } finally {
      next.fill(0);
    }
  });
}

/**
 * The identity's share of the key work that needs no person's judgement, when this browser holds it: the
 * certificates of revoked devices end, and a unit key epoch is certified when a certified device made and
 * signed it (never one the server or an uncertified device put there). Returns how many were filed.
 */
export async function certifyDue(session, tasks) {
  const due = tasks.certification;
  if (!due || (!due.devices_to_revoke.length && !due.epochs_to_certify.length)) return 0;
  const unitId = tasks.unit_id;
  if (!(await identityState(session, unitId)).mine) return 0;
  return withIdentity(session, unitId, async (key, _seed, trust) => {
    let done = 0;
    for (const deviceId of due.devices_to_revoke) {
      await file(unitId, await c.signCert(key, unitId, "revoke", c.revokeSubject(deviceId)));
      done += 1;
    }
    const { epochs } = due.epochs_to_certify.length ? await api("GET", `${unitBase(unitId)}/keys`) : { epochs: [] };
    for (const item of due.epochs_to_certify) {
      const record = epochs.find((e) => e.epoch === item.epoch);
      if (!record || !trust.device(record.created_by_device)) continue;
      const creator = await session.deviceKeys(record.created_by_device);
      const publicKey = c.unb64u(record.public_key);
      if (!await c.verifyUnitEpoch(creator, c.unb64u(record.signature), unitId, item.epoch, publicKey)) continue;
      await file(unitId, await c.signCert(key, unitId, "epoch", c.epochSubject(item.epoch, publicKey)));
      done += 1;
    }
    return done;
  });
}
