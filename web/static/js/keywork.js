// The key work a staff browser does when the server says it is due (GET /api/keys/pending), so that a unit
// needs no key steward: a new unit's first unit key, a new unit key epoch after a device that held it was
// revoked, case keys for new cases (an application opens one), new case keys after a rotation, and the
// exchange address keys wrapped to the new unit key epoch (docs/exchange.md), and the history links by which each
// new epoch seals the one before it (docs/protocol.md section 17). None of this needs a person's
// judgement; approving a staff device does, and stays a supervisor's click on /unit.
// The demo's steward (web/client/steward.py) does the same steps; whoever is first wins, the other is told
// `epoch_exists` and moves on. Raw keys exist only in memory, for the moment of wrapping.
import * as c from "./crypto/index.js";
import { api, ApiError } from "./api.js";
import { addCaseLink, addUnitLink } from "./key-history.js";
import { certifyDue } from "./identity.js";

const MANAGERS = new Set(["supervisor", "unit_admin"]);
// A unit key is made at most twice in one round (the first epoch, then nothing; or a rotation), then the
// case keys follow against it; the bound keeps a misbehaving server from making the page loop.
const MAX_PASSES = 3;
// Rounds asked for by events that came while a round ran; bounded like the passes.
const MAX_ROUNDS = 5;

/** Sign and wrap a raw unit key of `epoch` to one staff device (its keys checked against its id). */
async function unitGrant(session, unitId, epoch, raw, deviceId) {
  const device = await session.deviceKeys(deviceId);
  const wrapped = await c.wrapUnitKey(raw, unitId, epoch, device.kemPub);
  const signature = await c.signWrap(session.keys, "unit", unitId, epoch, deviceId, wrapped);
  return { device_id: deviceId, ...c.wrappedToJson(wrapped), signature: c.b64u(signature) };
}

/** Make unit key `epoch` and grant it to this device and `deviceIds`. */
async function makeUnitKey(session, unitId, epoch, deviceIds) {
  const raw = crypto.getRandomValues(new Uint8Array(32));
  try {
    const pub = await c.x25519PublicKey(await c.importX25519Private(raw));
    const signature = await c.signUnitEpoch(session.keys, unitId, epoch, pub);
    const grants = [];
    for (const id of new Set([session.deviceId, ...deviceIds])) grants.push(await unitGrant(session, unitId, epoch, raw, id));
    await api("POST", `/api/units/${encodeURIComponent(unitId)}/keys`,
      { epoch, public_key: c.b64u(pub), signature: c.b64u(signature), grants });
    // The new epoch seals the one before it, so a device given only the new epoch reads the unit's history.
    if (epoch > 1) await addUnitLink(session, unitId, epoch, pub);
  } finally {
    raw.fill(0);
  }
  session.keysChanged();
}

/** Make case key `epoch`, wrapped to the unit's current key and to the citizen's active devices. */
async function makeCaseKey(session, unitId, caseId, epoch, unitEpoch) {
  const unitKey = (await session.unitKeys(unitId)).get(unitEpoch);
  if (!unitKey) return false; // this device was not (yet) given the current unit key
  const unitPub = await c.x25519PublicKey(unitKey);
  const view = await session.caseView(caseId, { refresh: true });
  const raw = crypto.getRandomValues(new Uint8Array(32));
  try {
    const wrapTo = async (recipient, kemPub) => {
      const wrapped = await c.wrapCaseKey(raw, caseId, epoch, kemPub);
      const signature = await c.signWrap(session.keys, "case", caseId, epoch, recipient, wrapped);
      return { recipient, ...c.wrappedToJson(wrapped), signature: c.b64u(signature) };
    };
    const wraps = [await wrapTo(`unit:${unitEpoch}`, unitPub)];
    // Only to the citizen's devices proven theirs (docs/protocol.md section 21), never to one the server added;
    // and to the proven devices of the people who act for the citizen now (docs/representatives.md).
    const proven = await session.provenForCase(view);
    for (const d of [...view.citizen_devices, ...(view.representative_devices || [])].filter((x) => proven.has(x.id))) {
      wraps.push(await wrapTo(d.id, (await session.deviceKeys(d.id)).kemPub));
    }
    await api("POST", `/api/cases/${encodeURIComponent(caseId)}/keys`, { epoch, wraps });
    // The new key seals the one before it: a citizen's new phone is given the new key and reads the whole case.
    if (epoch > 1) await addCaseLink(session, unitId, caseId, epoch, raw);
  } finally {
    raw.fill(0);
  }
  return true;
}

/**
 * After a unit key rotation: wrap each exchange address key that is wrapped only to older unit key epochs to
 * the current one (web/client/exchange.py `rewrap_address_keys` does the same). An old wrap is used only when
 * its record is signed by the device that made it; the key is checked against the address's public key
 * before it is wrapped again, and the raw bytes are wiped after. Returns how many.
 */
async function rewrapAddressKeys(session, tasks) {
  if (!tasks.address_keys_to_rewrap?.length) return 0;
  const unitId = tasks.unit_id;
  const unitKeys = await session.unitKeys(unitId);
  const current = unitKeys.get(tasks.unit_epoch);
  if (!current) return 0; // this device was not (yet) given the current unit key
  const unitPub = await c.x25519PublicKey(current);
  const base = `/exchange/v1/units/${encodeURIComponent(unitId)}/address-keys`;
  const { address_keys: wraps } = await api("GET", base);
  let done = 0;
  for (const task of tasks.address_keys_to_rewrap) {
    for (const w of wraps.filter((x) => x.kid === task.kid && unitKeys.has(x.unit_epoch))) {
      const wrapped = { enc: c.unb64u(w.enc), ct: c.unb64u(w.ct) };
      const wrapper = await session.deviceKeys(w.wrapped_by_device);
      if (!await c.verifyWrap(wrapper, c.unb64u(w.signature), w.kind, w.address, w.key_version,
        `unit:${w.unit_epoch}`, wrapped)) continue; // never pass on a key nobody signed for
      const raw = await c.openAddressKeyWrap(unitKeys.get(w.unit_epoch), w.kind, w.address, w.key_version, wrapped,
        c.unb64u(w.public_key.x));
      try {
        const wrap = w.kind === "address-sign" ? c.wrapAddressSignKey : c.wrapAddressKey;
        const rewrap = await wrap(raw, w.address, w.key_version, unitPub);
        const recipient = `unit:${tasks.unit_epoch}`;
        const signature = await c.signWrap(session.keys, w.kind, w.address, w.key_version, recipient, rewrap);
        await api("POST", base, { address: w.address, kid: w.kid, key_version: w.key_version,
          unit_epoch: tasks.unit_epoch, ...c.wrappedToJson(rewrap), signature: c.b64u(signature) });
        done += 1;
      } finally {
        raw.fill(0);
      }
      break;
    }
  }
  return done;
}

/** Run one step; "someone else was quicker" (epoch_exists) counts as not done, not as a failure. */
async function step(work) {
  try {
    return (await work()) ? 1 : 0;
  } catch (error) {
    if (error instanceof ApiError && error.code === "epoch_exists") return 0;
    throw error;
  }
}

/** One pass over the pending tasks; returns [things done, whether another pass is needed]. */
async function pass(session) {
  const tasks = await api("GET", "/api/keys/pending");
  const unitId = tasks.unit_id;
  if (MANAGERS.has(session.user.role) && (!tasks.unit_epoch || tasks.unit_key_rotation_needed)) {
    // Old epochs stay with the devices that remain, so the unit can still read its older messages.
    const remaining = tasks.unit_epoch ? tasks.approved_staff_devices.map((d) => d.id) : [];
    const made = await step(async () => {
      await makeUnitKey(session, unitId, (tasks.unit_epoch || 0) + 1, remaining);
      return true;
    });
    return [made, true]; // the case keys follow, against the new epoch
  }
  if (!tasks.unit_epoch || tasks.unit_key_rotation_needed) return [0, false]; // waits for a supervisor
  // A supervisor's browser that holds the unit's identity certifies the new epoch (and ends the certificates of
  // removed devices) before case keys are wrapped to it: citizens' apps take only a certified epoch (§18).
  let done = MANAGERS.has(session.user.role) ? await certifyDue(session, tasks) : 0;
  for (const caseId of tasks.cases_without_key) {
    done += await step(() => makeCaseKey(session, unitId, caseId, 1, tasks.unit_epoch));
  }
  for (const caseId of tasks.cases_needing_new_key) {
    const view = await session.caseView(caseId, { refresh: true });
    done += await step(() => makeCaseKey(session, unitId, caseId, view.key_epoch + 1, tasks.unit_epoch));
  }
  done += await rewrapAddressKeys(session, tasks);
  done += await addMissingLinks(session, tasks);
  return [done, false];
}

/**
 * History links for epochs made before there were links, or whose maker went away before adding one
 * (docs/protocol.md section 17): each made by a device that holds both epochs. Returns how many.
 */
async function addMissingLinks(session, tasks) {
  const unitId = tasks.unit_id;
  let done = 0;
  if (MANAGERS.has(session.user.role) && tasks.unit_history_missing?.length) {
    const { epochs } = await api("GET", `/api/units/${encodeURIComponent(unitId)}/keys`);
    for (const epoch of tasks.unit_history_missing) {
      const record = epochs.find((e) => e.epoch === epoch);
      if (record && await addUnitLink(session, unitId, epoch, c.unb64u(record.public_key))) done += 1;
    }
  }
  for (const { case_id: caseId, epoch } of tasks.case_history_missing || []) {
    if (await addCaseLink(session, unitId, caseId, epoch)) done += 1;
  }
  return done;
}

/**
 * Do the key work that is due; returns how many things were done. Citizens' new devices are then given
 * their case keys (session.giveCitizenKeys). An API refusal or a key this device lacks only postpones the
 * work to the next `keys` event or page load.
 */
export async function doKeyWork(session) {
  if (session.isCitizen) return 0;
  if (session._keyWork) {
    // A `keys` event while a round runs: that round may have read the tasks before the change, so one more
    // round follows it instead of the event being lost.
    session._keyWorkAgain = true;
    return 0;
  }
  session._keyWork = true;
  let done = 0;
  try {
    for (let round = 0; round < MAX_ROUNDS; round++) {
      session._keyWorkAgain = false;
      done += await keyRound(session);
      if (!session._keyWorkAgain) break;
    }
  } finally {
    session._keyWork = false;
  }
  return done;
}

/** One round: the passes over the pending tasks, then citizens' new devices. */
async function keyRound(session) {
  let done = 0;
  try {
    for (let i = 0; i < MAX_PASSES; i++) {
      const [n, again] = await pass(session);
      done += n;
      if (!again) break;
    }
  } catch (error) {
    if (!(error instanceof ApiError) && !(error instanceof c.CryptoError) && error?.code !== "no_key") throw error;
  }
  return done + await session.giveCitizenKeys();
}
