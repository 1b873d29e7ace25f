// This browser as a Samtal device: its keys (made here, non-extractable, kept in IndexedDB), the keys it
// was given (unit keys for staff, case keys for everyone), and sealing and opening messages. The flows
// follow the Python client, web/client/session.py, step for step; the formats are docs/protocol.md.
import * as c from "./crypto/index.js";
import { api, ApiError, useDevice } from "./api.js";
import * as db from "./idb.js";
import { t } from "./i18n.js";
import { followCaseLinks, followUnitLinks } from "./key-history.js";
import { checkUnit, TrustError } from "./trust.js";
import { CitizenDevices, demoSigninBinding, takePreparedSignin } from "./citizen-devices.js";

// How long a new device waits for a key holder (a supervisor's device, or the demo key steward).
const KEY_WAIT_MS = 30000;
const KEY_POLL_MS = 1000;
// How often sealing looks up the unit's identity again (a change stops sending within this time).
const TRUST_RECHECK_MS = 5000;

/** A message that failed a check (docs/protocol.md §9, §20): `code` says which, the page says it in words. */
export class MessageRefused extends c.CryptoError {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

export class NoKeyError extends Error {
  constructor() {
    super("this device has not been given the case key yet");
    this.code = "no_key";
  }
}

function deviceLabel() {
  const platform = navigator.userAgentData?.platform || (/Android/.test(navigator.userAgent) ? "Android"
    : /iPhone|iPad/.test(navigator.userAgent) ? "iOS" : /Mac/.test(navigator.platform) ? "macOS"
      : /Win/.test(navigator.platform) ? "Windows" : /Linux/.test(navigator.platform) ? "Linux" : "");
  // The browser's name too: two devices of one person ("Webbläsare på Linux" twice) could not be told apart.
  const ua = navigator.userAgent;
  const browser = /Edg\//.test(ua) ? "Edge" : /Firefox\//.test(ua) ? "Firefox" : /Chrome\//.test(ua) ? "Chrome"
    : /Safari\//.test(ua) ? "Safari" : "";
  if (browser && platform) return t("%(browser)s on %(platform)s", { browser, platform });
  return platform ? t("Browser on %(platform)s", { platform }) : t("Browser");
}

export class Session {
  constructor(user) {
    this.user = user;
    this.keys = null;
    this.deviceId = null;
    this.replacedRevoked = false;
    this._devices = new Map(); // device id -> Promise<{signPub, kemPub, owner}>
    this._unitKeys = new Map(); // "unit:epoch" -> X25519 CryptoKey
    this._caseKeys = new Map(); // "case:epoch" -> AES-GCM CryptoKey
    this._currentEpoch = new Map(); // case id -> epoch last seen as current
    this._cases = new Map(); // case id -> case view
    this._newest = new Map(); // case id -> {seq, hash}: the newest stored message seen, named by the next sent
    this._keysChanged = null; // resolves when a `keys` frame says new keys are there
    this.demo = false;
    this.citizenDevices = new CitizenDevices(this); // which citizen devices are the person's (section 21)
  }

  get isCitizen() {
    return this.user.role === "citizen";
  }

  _key(...parts) {
    return [this.user.id, ...parts].join("|");
  }

  // -- the device --------------------------------------------------------------------------------
  /** Load this browser's device for the user, or make and register one. `devices`: from /api/me. */
  async ensureDevice(devices) {
    let record = await db.get("devices", this.user.id);
    const known = record && devices?.find((d) => d.id === record.device_id);
    if (record && known?.revoked_at) {
      // This device was removed (from another device): it gets new keys and must be given keys anew.
      await db.del("devices", this.user.id);
      record = null;
      this.replacedRevoked = true;
    }
    if (!record) {
      // A citizen who signed in with e-identification made this device's keys before, so that the sign-in's
      // nonce carries them (docs/protocol.md section 21): those keys, with their salt.
      const prepared = this.isCitizen && devices ? await takePreparedSignin() : null;
      const stored = prepared ? prepared.keys : c.deviceKeysToStored(await c.generateDeviceKeys());
      const keys = c.deviceKeysFromStored(stored);
      record = { user_id: this.user.id, device_id: keys.id, keys: stored, registered: false, salt: prepared?.salt };
      await db.put("devices", record);
    }
    this.keys = c.deviceKeysFromStored(record.keys);
    this.deviceId = this.keys.id;
    if (!record.registered || (devices && !known)) {
      const body = {
        ...c.devicePublicToJson(this.keys), label: deviceLabel(),
        proof: c.b64u(await c.registrationProof(this.keys, this.user.id)),
      };
      // A citizen's device is proven theirs by the sign-in that carried its key (the server adds that sign-in's
      // ID token), or in the demo by the demo's stand-in for e-identification; otherwise another of their
      // devices links it (the devices page).
      let binding = null;
      if (this.isCitizen && record.salt) binding = { kind: "signin", salt: record.salt };
      else if (this.isCitizen && this.demo) binding = await demoSigninBinding(this.keys).catch(() => null);
      try {
        await api("POST", "/api/devices", binding ? { ...body, binding } : body);
      } catch (error) {
        if (!binding || !(error instanceof ApiError) || error.status !== 400) throw error;
        await api("POST", "/api/devices", body); // registered unproven: another device of theirs can link it
      }
      record.registered = true;
      await db.put("devices", record);
    }
    useDevice(this.deviceId);
    return this.keys;
  }

  async fingerprint() {
    return c.fingerprint(this.keys.signPub, this.keys.kemPub);
  }

  /** A device's public keys, checked against its id (the id is a hash of the keys), and its owner. */
  /** The devices whose keys this page has looked up (for js/early.js on the next visit). */
  knownDevices() {
    return [...this._devices.keys()];
  }

  deviceKeys(deviceId) {
    if (!this._devices.has(deviceId)) {
      const lookup = (async () => {
        const { device } = await api("GET", `/api/devices/${encodeURIComponent(deviceId)}`);
        const pub = c.devicePublicFromJson(device);
        if (await c.deviceId(pub.signPub, pub.kemPub) !== deviceId) {
          throw new c.CryptoError("the server gave keys that do not match the device id");
        }
        // Whose it is: by the device's own registration proof (protocol §3), not by the server's label.
        let ownerProof = "missing"; // registered before proofs were kept
        if (device.proof) {
          ownerProof = await c.verifyRegistrationProof(pub, device.user_id, c.unb64u(device.proof)) ? "valid" : "invalid";
        }
        return { ...pub, owner: device.user_id, ownerProof };
      })();
      lookup.catch(() => this._devices.delete(deviceId)); // a failed lookup is tried again next time
      this._devices.set(deviceId, lookup);
    }
    return this._devices.get(deviceId);
  }

  // -- waiting for keys ---------------------------------------------------------------------------
  /** Called when the server says this device got new keys (a `keys` frame). */
  keysChanged() {
    if (this._keysChanged) this._keysChanged();
  }

  _nextKeysChange(ms) {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this._keysChanged = () => { clearTimeout(timer); resolve(); };
    });
  }

  // -- the unit identity (docs/protocol.md §18) ----------------------------------------------------
  /**
   * The unit's certificates, checked against the identity this browser pinned and the key log (trust.js);
   * null while the unit has no identity and none was pinned. Throws TrustError (unit_identity_changed, …).
   */
  async unitTrust(unitId, refresh = false, { recheck = false } = {}) {
    this._units ??= new Map();
    if (refresh || recheck || !this._units.has(unitId)) {
      // The municipality's published file is the citizen's anchor; staff devices are certified by the identity
      // their supervisors hold and compare in person (and a new unit's file is published after its ceremony).
      this._units.set(unitId, await checkUnit((...p) => this._key(...p), unitId,
        { recheck, published: this.isCitizen }));
    }
    return this._units.get(unitId);
  }

  /**
   * Whether `deviceId` is a staff device the unit's identity certified (and has not revoked, unless
   * `allowRevoked`: what it did before, such as an old message, stays its). The certificate then says whose
   * device it is, not the server.
   */
  async entitled(unitId, deviceId, allowRevoked = false) {
    for (const refresh of [false, true]) { // a certificate filed a moment ago is fetched once more
      const trust = await this.unitTrust(unitId, refresh);
      if (!trust) return true; // a unit without an identity: the directory is all there is (§13)
      const cert = trust.device(deviceId, allowRevoked);
      if (cert) {
        const known = await this.deviceKeys(deviceId);
        known.owner = cert.userId;
        return true;
      }
    }
    return false;
  }

  /** Whether the unit's identity certified unit key `epoch` as `publicKey`. */
  async certifiedEpoch(unitId, epoch, publicKey) {
    let trust = await this.unitTrust(unitId);
    if (trust && c.b64u(trust.epochs.get(epoch) ?? new Uint8Array(0)) !== c.b64u(publicKey)) {
      trust = await this.unitTrust(unitId, true);
    }
    return !trust || c.b64u(trust.epochs.get(epoch) ?? new Uint8Array(0)) === c.b64u(publicKey);
  }

  // -- unit keys (staff) --------------------------------------------------------------------------
  /**
   * This device's unit key grants, each checked before use: the epoch signed by the device that made it,
   * the grant signed by the device that gave it. [{epoch, wrapped, publicKey}]; `skip(epoch)` leaves some out;
   * `answer`: GET /api/units/{unit}/keys when the caller has it already.
   */
  async _checkedGrants(unitId, skip = () => false, answer = null) {
    answer ??= await api("GET", `/api/units/${encodeURIComponent(unitId)}/keys`);
    const epochs = new Map(answer.epochs.map((e) => [e.epoch, e]));
    const checked = [];
    for (const grant of answer.grants) {
      const { epoch } = grant;
      if (skip(epoch) || !epochs.has(epoch)) continue;
      const record = epochs.get(epoch);
      const publicKey = c.unb64u(record.public_key);
      const creator = await this.deviceKeys(record.created_by_device);
      if (!await c.verifyUnitEpoch(creator, c.unb64u(record.signature), unitId, epoch, publicKey)) {
        throw new c.CryptoError("a unit key epoch is not signed by the device that made it");
      }
      const wrapped = { enc: c.unb64u(grant.enc), ct: c.unb64u(grant.ct) };
      const granter = await this.deviceKeys(grant.granted_by_device);
      if (!await c.verifyWrap(granter, c.unb64u(grant.signature), "unit", unitId, epoch, this.deviceId, wrapped)) {
        throw new c.CryptoError("a unit key grant's signature does not verify");
      }
      // Only an epoch the unit's identity certified, granted by a device it certified (§18); anything else
      // is left aside, and taken on a later call once it is certified.
      if (!await this.certifiedEpoch(unitId, epoch, publicKey) || !await this.entitled(unitId, grant.granted_by_device)) {
        continue;
      }
      checked.push({ epoch, wrapped, publicKey });
    }
    return checked;
  }

  /**
   * Unwrap every unit key epoch granted to this device, and every older one its history links reach
   * (docs/protocol.md section 17); returns Map epoch -> private CryptoKey.
   */
  async unitKeys(unitId) {
    const answer = await api("GET", `/api/units/${encodeURIComponent(unitId)}/keys`);
    for (const { epoch, wrapped, publicKey } of await this._checkedGrants(unitId,
      (epoch) => this._unitKeys.has(`${unitId}:${epoch}`), answer)) {
      this._unitKeys.set(`${unitId}:${epoch}`,
        await c.unwrapUnitKey(this.keys.kem.privateKey, unitId, epoch, wrapped, publicKey));
    }
    const mine = new Map();
    for (const [name, key] of this._unitKeys) {
      const [unit, epoch] = name.split(":");
      if (unit === unitId) mine.set(Number(epoch), key);
    }
    await followUnitLinks(this, unitId, answer.epochs, mine);
    for (const [epoch, key] of mine) this._unitKeys.set(`${unitId}:${epoch}`, key);
    return mine;
  }

  /**
   * Approve a staff device (a supervisor's act, after comparing safety numbers): wrap every unit key
   * epoch this device holds to the new device's KEM key, sign each wrap, and post the grants. The raw
   * unit key exists only here, in memory, for the moment of wrapping (web/client/steward.py does the same).
   */
  async approveDevice(unitId, deviceId) {
    const device = await this.deviceKeys(deviceId); // its keys, checked against its id
    const grants = [];
    for (const { epoch, wrapped, publicKey } of await this._checkedGrants(unitId)) {
      // Checks the unwrapped key against the unit's signed public key before anything is wrapped with it.
      await c.unwrapUnitKey(this.keys.kem.privateKey, unitId, epoch, wrapped, publicKey);
      const raw = await c.hpkeOpen(this.keys.kem.privateKey, wrapped.enc, c.unitKeyInfo(unitId, epoch),
        new Uint8Array(0), wrapped.ct);
      try {
        const wrap = await c.wrapUnitKey(raw, unitId, epoch, device.kemPub);
        const signature = await c.signWrap(this.keys, "unit", unitId, epoch, deviceId, wrap);
        grants.push({ epoch, grant: { device_id: deviceId, ...c.wrappedToJson(wrap), signature: c.b64u(signature) } });
      } finally {
        raw.fill(0);
      }
    }
    if (!grants.length) throw new NoKeyError();
    for (const { epoch, grant } of grants) {
      await api("POST", `/api/units/${encodeURIComponent(unitId)}/grants`, { epoch, grants: [grant] });
    }
    return grants.length;
  }

  /**
   * The devices a case key may be wrapped to (section 21): the citizen's proven devices, and each
   * representative's devices proven that person's (the staff's case view lists `representative_devices`).
   */
  async provenForCase(view) {
    const proven = await this.citizenDevices.proven(view.citizen, view.citizen_devices);
    const byHolder = new Map();
    for (const d of view.representative_devices || []) byHolder.set(d.user_id, [...(byHolder.get(d.user_id) || []), d]);
    for (const [holder, devices] of byHolder) {
      for (const id of await this.citizenDevices.proven(holder, devices)) proven.add(id);
    }
    return proven;
  }

  /**
   * Give citizens' new devices their case keys. A citizen's device is proven theirs by their e-identification
   * or by a link from another of their devices (section 21), so no staff member approves it: any staff device
   * that holds the unit key does this when the server says key work is pending, for proven devices only. For each device missing a case's current key, the unit's wrap of that key
   * is checked (signed by the device that made it) and opened, the raw key is wrapped to the citizen's
   * device (its keys checked against its id) and signed, and the raw key is wiped. Returns how many.
   */
  async giveCitizenKeys() {
    if (this.isCitizen || this._giving) return 0;
    this._giving = true;
    let given = 0;
    try {
      const tasks = await api("GET", "/api/keys/pending");
      // The citizens' devices, and the devices of the people who act for them (docs/representatives.md).
      const missing = [...tasks.citizen_devices_missing_case_key,
        ...(tasks.representative_devices_missing_case_key || [])];
      if (!missing.length) return 0;
      const unitKeys = await this.unitKeys(tasks.unit_id);
      for (const { case_id: caseId, epoch, device } of missing) {
        // Only to a device proven the citizen's, or its representative's (section 21): never to one the server
        // added to an account.
        const view = await this.caseView(caseId, { refresh: true });
        if (!(await this.provenForCase(view)).has(device.id)) continue;
        const answer = await api("GET", `/api/cases/${encodeURIComponent(caseId)}/keys`);
        for (const wrap of answer.wraps) {
          const unitEpoch = wrap.recipient.startsWith("unit:") ? Number(wrap.recipient.slice(5)) : NaN;
          if (wrap.epoch !== epoch || !unitKeys.has(unitEpoch)) continue;
          const wrapped = { enc: c.unb64u(wrap.enc), ct: c.unb64u(wrap.ct) };
          const wrapper = await this.deviceKeys(wrap.wrapped_by_device);
          if (!await c.verifyWrap(wrapper, c.unb64u(wrap.signature), "case", caseId, epoch, wrap.recipient, wrapped)
              || !await this.entitled(tasks.unit_id, wrap.wrapped_by_device)) {
            continue; // never pass on a key nobody (entitled) signed for
          }
          const citizenDevice = await this.deviceKeys(device.id);
          const raw = await c.hpkeOpen(unitKeys.get(unitEpoch), wrapped.enc, c.caseKeyInfo(caseId, epoch),
            new Uint8Array(0), wrapped.ct);
          try {
            const rewrap = await c.wrapCaseKey(raw, caseId, epoch, citizenDevice.kemPub);
            const signature = await c.signWrap(this.keys, "case", caseId, epoch, device.id, rewrap);
            await api("POST", `/api/cases/${encodeURIComponent(caseId)}/wraps`, {
              epoch, wraps: [{ recipient: device.id, ...c.wrappedToJson(rewrap), signature: c.b64u(signature) }] });
            given += 1;
          } finally {
            raw.fill(0);
          }
          break;
        }
      }
    } catch (error) {
      if (!(error instanceof ApiError) && !(error instanceof NoKeyError)) throw error;
    } finally {
      this._giving = false;
    }
    return given;
  }

  // -- the agency exchange (docs/exchange.md) -------------------------------------------------------
  /**
   * The unit's exchange address private keys this device can open: each wrap checked against the signature
   * of the staff device that made it (a device of the unit's staff), opened with the unit key of its epoch,
   * and checked against the address's public key. Map kid -> non-extractable CryptoKey: X25519 for an
   * address's decryption key (use "enc"), Ed25519 for its signing key (use "sig"); the raw key exists only
   * inside the unwrap.
   */
  async addressKeys(unitId) {
    this._addressKeys ??= new Map();
    const { address_keys: wraps } = await api("GET", `/exchange/v1/units/${encodeURIComponent(unitId)}/address-keys`);
    const missing = wraps.filter((w) => !this._addressKeys.has(w.kid));
    const unitKeys = missing.length ? await this.unitKeys(unitId) : new Map();
    const unwrapFor = { enc: ["address", "X25519", c.unwrapAddressKey], sig: ["address-sign", "Ed25519", c.unwrapAddressSignKey] };
    for (const w of missing) {
      const [kind, curve, unwrap] = unwrapFor[w.use] || [];
      if (!kind || this._addressKeys.has(w.kid) || !unitKeys.has(w.unit_epoch) || w.public_key?.crv !== curve) continue;
      const wrapped = { enc: c.unb64u(w.enc), ct: c.unb64u(w.ct) };
      const wrapper = await this.deviceKeys(w.wrapped_by_device);
      if (!await c.verifyWrap(wrapper, c.unb64u(w.signature), kind, w.address, w.key_version,
        `unit:${w.unit_epoch}`, wrapped)) {
        continue; // a wrap nobody signed is never used
      }
      this._addressKeys.set(w.kid, await unwrap(unitKeys.get(w.unit_epoch), w.address, w.key_version,
        wrapped, c.unb64u(w.public_key.x)));
    }
    return this._addressKeys;
  }

  // -- cases ------------------------------------------------------------------------------------
  async cases() {
    const { cases } = await api("GET", "/api/cases");
    return cases;
  }

  /** The case view (metadata, receipts, key epochs); kept in IndexedDB for an offline start. */
  async caseView(caseId, { refresh = false } = {}) {
    if (refresh || !this._cases.has(caseId)) {
      try {
        const { case: view } = await api("GET", `/api/cases/${encodeURIComponent(caseId)}`);
        this._cases.set(caseId, view);
        await db.put("meta", view, this._key("case", caseId));
      } catch (error) {
        const cached = error instanceof ApiError && error.offline && await db.get("meta", this._key("case", caseId));
        if (!cached) throw error;
        this._cases.set(caseId, cached);
      }
    }
    return this._cases.get(caseId);
  }

  /** The case key of `epoch` (default: the current one): [epoch, CryptoKey]; waits for a key holder. */
  async caseKey(caseView, epoch = null, wait = true) {
    const caseId = caseView.id;
    const known = epoch ?? this._currentEpoch.get(caseId);
    if (known !== undefined && this._caseKeys.has(`${caseId}:${known}`)) {
      return [known, this._caseKeys.get(`${caseId}:${known}`)];
    }
    const deadline = Date.now() + (wait ? KEY_WAIT_MS : 0);
    for (;;) {
      const [current, key] = await this._tryCaseKey(caseView, epoch);
      if (key) {
        if (epoch === null) this._currentEpoch.set(caseId, current);
        return [current, key];
      }
      if (Date.now() >= deadline) throw new NoKeyError();
      await this._nextKeysChange(KEY_POLL_MS);
    }
  }

  async _tryCaseKey(caseView, epoch) {
    const caseId = caseView.id;
    let answer;
    try {
      answer = await api("GET", `/api/cases/${encodeURIComponent(caseId)}/keys`);
    } catch (error) {
      if (!(error instanceof ApiError && error.offline)) throw error;
      return this._offlineCaseKey(caseId, epoch);
    }
    const want = epoch ?? answer.epoch;
    if (want === 0) return [0, null];
    if (this._caseKeys.has(`${caseId}:${want}`)) return [want, this._caseKeys.get(`${caseId}:${want}`)];
    const unitKeys = this.isCitizen ? new Map() : await this.unitKeys(caseView.unit);
    const refused = await this._openCaseWraps(caseView, answer.wraps, unitKeys, want, answer.epoch);
    if (!this._caseKeys.has(`${caseId}:${want}`) && want < answer.epoch) {
      // An older epoch this device was never given: open what it was given, then follow the history links
      // down from there (a new device gets only the current epoch, docs/protocol.md section 17).
      await this._openCaseWraps(caseView, answer.wraps, unitKeys, null, answer.epoch);
      const held = new Map();
      for (const [name, key] of this._caseKeys) {
        const [id, e] = name.split(":");
        if (id === caseId) held.set(Number(e), key);
      }
      await followCaseLinks(this, caseId, held, caseView.unit);
      for (const [e, key] of held) {
        if (this._caseKeys.has(`${caseId}:${e}`)) continue;
        this._caseKeys.set(`${caseId}:${e}`, key);
        await db.put("keys", { key, epoch: e }, this._key(caseId, e));
      }
    }
    const key = this._caseKeys.get(`${caseId}:${want}`);
    if (!key && refused) {
      throw new TrustError("not_entitled", "the case key was made by a device the unit's identity did not certify");
    }
    if (key && epoch === null) await db.put("keys", { key, epoch: want }, this._key(caseId, "current"));
    return [want, key || null];
  }

  /**
   * Open the wraps of epoch `only` (or of every epoch) this device can open into the key cache; a wrap nobody
   * signed is ignored, never used. Only a staff device the unit's identity certified may hand out a case key;
   * one revoked since may have made an older epoch, never the current one. True when a wrap was refused so.
   */
  async _openCaseWraps(caseView, wraps, unitKeys, only, current) {
    const caseId = caseView.id;
    let refused = false;
    for (const wrap of wraps) {
      const { recipient, epoch } = wrap;
      if ((only !== null && epoch !== only) || this._caseKeys.has(`${caseId}:${epoch}`)) continue;
      const wrapped = { enc: c.unb64u(wrap.enc), ct: c.unb64u(wrap.ct) };
      const wrapper = await this.deviceKeys(wrap.wrapped_by_device);
      if (!await c.verifyWrap(wrapper, c.unb64u(wrap.signature), "case", caseId, epoch, recipient, wrapped)) continue;
      if (!await this.entitled(caseView.unit, wrap.wrapped_by_device, epoch < current)) {
        refused = true;
        continue;
      }
      let key;
      if (recipient === this.deviceId) {
        key = await c.unwrapCaseKey(this.keys.kem.privateKey, caseId, epoch, wrapped);
      } else if (recipient.startsWith("unit:") && unitKeys.has(Number(recipient.slice(5)))) {
        key = await c.unwrapCaseKey(unitKeys.get(Number(recipient.slice(5))), caseId, epoch, wrapped);
      } else {
        continue;
      }
      this._caseKeys.set(`${caseId}:${epoch}`, key);
      // The CryptoKey is non-extractable: IndexedDB keeps it for an offline start without its bytes.
      await db.put("keys", { key, epoch }, this._key(caseId, epoch));
    }
    return refused;
  }

  async _offlineCaseKey(caseId, epoch) {
    const stored = await db.get("keys", this._key(caseId, epoch ?? "current"));
    if (!stored) throw new ApiError(0, "offline", "offline, and no key kept for this case");
    this._caseKeys.set(`${caseId}:${stored.epoch}`, stored.key);
    return [stored.epoch, stored.key];
  }

  /** After a stale_epoch refusal: the case key was rotated; look up the current epoch again. */
  forgetEpoch(caseId) {
    this._currentEpoch.delete(caseId);
  }

  // -- messages ---------------------------------------------------------------------------------
  /** Encrypt and sign a body; `msgId` is given when an outbox message is sealed again. */
  async seal(caseView, body, msgId = null) {
    // Nothing is sent while the unit's identity is not the one pinned (or reached from it by a hand-over).
    // Offline, a message is sealed with a key checked when it was taken, and waits in the outbox.
    // Looked up again at most every few seconds: a call's signals are sealed many to a second.
    this._trustCheckedAt ??= new Map();
    const stale = Date.now() - (this._trustCheckedAt.get(caseView.unit) ?? 0) > TRUST_RECHECK_MS;
    try {
      await this.unitTrust(caseView.unit, stale);
      if (stale) this._trustCheckedAt.set(caseView.unit, Date.now());
    } catch (error) {
      if (!(error instanceof ApiError && error.offline)) throw error;
    }
    const [epoch, key] = await this.caseKey(caseView);
    const header = {
      case_id: caseView.id, msg_id: msgId || c.newMsgId(), sender_device: this.deviceId, epoch, sent_at_ms: Date.now(),
    };
    return { msgId: header.msg_id, env: await c.sealMessage(key, header, body, this.keys) };
  }

  // -- the transcript (docs/protocol.md §20) -----------------------------------------------------------
  /** What this device remembers of a case's transcript: {lastHash, ownCounter, allocated}. */
  async transcriptMemory(caseId) {
    return (await db.get("meta", this._key("transcript", caseId))) || { lastHash: null, ownCounter: 0, allocated: 0 };
  }

  async _keepMemory(caseId, memory) {
    await db.put("meta", memory, this._key("transcript", caseId));
  }

  _saw(caseId, seq, hash) {
    if (seq && seq > (this._newest.get(caseId)?.seq ?? 0)) this._newest.set(caseId, { seq, hash });
  }

  /**
   * Seal a message of the case (version 2): this device's next counter in the case (or `counter`, when an
   * outbox message is sealed again under its msg id) and the newest stored message this page has seen.
   */
  async sealMessage(caseView, body, msgId = null, counter = null) {
    const [epoch, key] = await this.caseKey(caseView);
    const caseId = caseView.id;
    if (!counter) {
      const memory = await this.transcriptMemory(caseId);
      counter = Math.max(memory.allocated || 0, memory.ownCounter || 0) + 1;
      await this._keepMemory(caseId, { ...memory, allocated: counter });
    }
    const header = {
      case_id: caseId, msg_id: msgId || c.newMsgId(), sender_device: this.deviceId, epoch, sent_at_ms: Date.now(),
      counter, prev: this._newest.get(caseId)?.hash ?? c.NO_PREV,
    };
    return { msgId: header.msg_id, counter, env: await c.sealMessage(key, header, body, this.keys) };
  }

  /** The server stored this device's message: it is the newest seen, and its counter is taken for good. */
  async stored(caseId, envBytes, seq) {
    const { header } = c.parseEnvelope(envBytes);
    this._saw(caseId, seq, await c.messageHash(envBytes));
    const memory = await this.transcriptMemory(caseId);
    if ((header.counter ?? 0) > (memory.ownCounter || 0)) await this._keepMemory(caseId, { ...memory, ownCounter: header.counter });
  }

  /** The transcript entry (§20) of an envelope this device sent, stored at `seq`. */
  async entryOf(envBytes, seq) {
    const { header } = c.parseEnvelope(envBytes);
    return { seq, msgId: header.msg_id, device: header.sender_device, counter: header.counter ?? 0,
             prev: header.prev ?? c.NO_PREV, hash: await c.messageHash(envBytes) };
  }

  /** An outbox message was deleted unsent: its counter is given again if no later one was. */
  async unsent(caseId, envBytes) {
    const { header } = c.parseEnvelope(envBytes);
    const memory = await this.transcriptMemory(caseId);
    if (header.counter && memory.allocated === header.counter) {
      await this._keepMemory(caseId, { ...memory, allocated: header.counter - 1 });
    }
  }

  /**
   * Check the opened messages of a case against its transcript, in seq order, with what this device remembered
   * before `memory`: sets `problems` ([{code, count?, seq?}]) and `unchecked` on each item, keeps the new memory,
   * and returns the problems of the case as a whole.
   */
  async checkTranscript(caseId, items, memory) {
    const opened = items.filter((item) => item.entry).sort((a, b) => a.seq - b.seq);
    const entries = opened.map((item) => item.entry);
    const verdict = c.checkTranscript(entries, memory, this.deviceId);
    opened.forEach((item, i) => {
      item.problems = verdict.problems[i];
      item.unchecked = verdict.unchecked[i];
    });
    const kept = await this.transcriptMemory(caseId);
    const next = c.rememberTranscript(entries, { lastHash: memory?.lastHash ?? null, ownCounter: memory?.ownCounter ?? 0 },
      this.deviceId);
    await this._keepMemory(caseId, { ...kept, lastHash: next.lastHash, ownCounter: Math.max(kept.ownCounter || 0, next.ownCounter) });
    return verdict.case;
  }

  /** Decrypt an envelope this device sealed itself (an outbox message). */
  async openOwn(caseView, envBytes) {
    const env = c.parseEnvelope(envBytes);
    if (env.header.sender_device !== this.deviceId || env.header.case_id !== caseView.id) {
      throw new c.CryptoError("not an envelope of this device for this case");
    }
    const [, key] = await this.caseKey(caseView, env.header.epoch, false);
    return { body: await c.openMessage(key, env), sentAt: env.header.sent_at_ms };
  }

  /**
   * Verify and decrypt one stored message (a history item or a pushed msg frame). Throws MessageRefused with a
   * code (malformed, mislabelled, unknown_device, bad_signature, wrong_sender, no_key, undecryptable, bad_body).
   * The item has `entry`, its place in the transcript (§20).
   */
  async open(caseView, item) {
    let env;
    try {
      env = c.parseEnvelope(c.unb64u(item.env));
    } catch (error) {
      throw new MessageRefused("malformed", error.message);
    }
    const { header } = env;
    if (header.case_id !== caseView.id || header.msg_id !== item.msg_id || header.sender_device !== item.sender_device) {
      throw new MessageRefused("mislabelled", "the server's labels do not match the signed envelope");
    }
    let sender;
    try {
      sender = await this.deviceKeys(header.sender_device);
    } catch (error) {
      if (error instanceof ApiError && (error.offline || error.status >= 500)) throw error;
      throw new MessageRefused("unknown_device", "the sending device is not known or its keys do not match its id");
    }
    if (!await c.verifyEnvelope(env, sender.signPub)) {
      throw new MessageRefused("bad_signature", "a message's signature does not verify");
    }
    // The citizen's own devices and her representatives' (docs/representatives.md: the case names who holds a
    // mandate, ended ones too; the device's registration proof names its owner); else a certified staff device.
    const citizenSide = new Set([caseView.citizen, ...(caseView.representatives || []).map((r) => r.holder)]);
    if (!citizenSide.has(sender.owner) && !await this.entitled(caseView.unit, header.sender_device, true)) {
      throw new TrustError("not_entitled", "a message from a staff device the unit's identity did not certify");
    }
    if (sender.owner !== item.sender || sender.ownerProof === "invalid") {
      throw new MessageRefused("wrong_sender", "the sending device does not belong to the named sender");
    }
    const hash = await c.messageHash(env.raw);
    this._saw(caseView.id, item.seq, hash); // a genuine message of the case: the next one sent may name it
    let key;
    try {
      [, key] = await this.caseKey(caseView, header.epoch, false);
    } catch (error) {
      if (error instanceof NoKeyError) throw new MessageRefused("no_key", "no case key of this epoch");
      throw error;
    }
    let body;
    try {
      body = await c.openMessage(key, env);
    } catch (error) {
      throw new MessageRefused(error instanceof c.DecryptionError ? "undecryptable" : "bad_body", error.message);
    }
    return {
      seq: item.seq, msgId: header.msg_id, sender: item.sender, senderDevice: header.sender_device, body,
      sentAt: header.sent_at_ms, storedAt: item.stored_at, unprovenSender: sender.ownerProof === "missing",
      entry: { seq: item.seq, msgId: header.msg_id, device: header.sender_device, counter: header.counter ?? 0,
               prev: header.prev ?? c.NO_PREV, hash },
    };
  }

  /** Every message after `after`, verified and decrypted, in seq order. */
  async history(caseView, after = 0, page = 200) {
    const out = [];
    for (;;) {
      const { messages } = await api("GET",
        `/api/cases/${encodeURIComponent(caseView.id)}/messages?after=${after}&limit=${page}`);
      // Every sender device's keys at once, not one round trip per new sender while opening in order.
      await Promise.all([...new Set(messages.map((m) => m.sender_device))].map((d) => this.deviceKeys(d).catch(() => null)));
      for (const item of messages) out.push(await this.openSafely(caseView, item));
      if (messages.length < page) return out;
      after = messages[messages.length - 1].seq;
    }
  }

  /** Like open, but a message that fails verification becomes a visible "could not be opened" item. */
  async openSafely(caseView, item) {
    try {
      return await this.open(caseView, item);
    } catch (error) {
      if (error instanceof ApiError) throw error;
      return {
        seq: item.seq, msgId: item.msg_id, sender: item.sender, senderDevice: item.sender_device, body: null,
        error: error.code || error.name || "error", sentAt: item.stored_at, storedAt: item.stored_at,
      };
    }
  }
}
