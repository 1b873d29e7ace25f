// Which of a citizen's devices are the person's (docs/protocol.md section 21), as web/client/citizen_devices.py:
// the key work of a staff browser wraps a case key only to a proven device, and the pages show the others as
// not proven. The e-identification providers are pinned on first use (IndexedDB), each provider's keys are
// fetched from the provider itself (the page's policy allows exactly those origins), never from Samtal's server,
// and the person an account's devices belong to is pinned the first time one of its devices is proven.
import * as c from "./crypto/index.js";
import { api } from "./api.js";
import * as db from "./idb.js";

const KEYS_TTL_MS = 3600_000;
const REFETCH_MS = 60_000;
const RETRY_MS = 5000; // a provider that could not be reached is asked again after this long
const MAX_LINKERS = 16;

async function fetchJson(url) {
  const response = await fetch(url, { credentials: "omit", cache: "no-store" });
  if (!response.ok) throw new Error(`${response.status}`);
  return response.json();
}

export class CitizenDevices {
  constructor(session) {
    this.session = session;
    this._keys = new Map(); // issuer -> {at, jwks}
  }

  /** The pinned providers, each with its published keys (fetched again as web/client/citizen_devices.py does). */
  async providers(refresh = false) {
    const storeKey = this.session._key("citizen-providers");
    let pinned = await db.get("meta", storeKey);
    if (!pinned) {
      const { providers } = await api("GET", "/api/signin/citizen");
      pinned = providers.map((p) => ({ issuer: p.issuer, client_id: p.client_id }));
      await db.put("meta", pinned, storeKey);
    }
    const now = Date.now();
    const list = [];
    for (const p of pinned) {
      let { at, jwks } = this._keys.get(p.issuer) || { at: 0, jwks: null };
      const age = now - at;
      if ((!jwks && age >= RETRY_MS) || (jwks && (age >= KEYS_TTL_MS || (refresh && age >= REFETCH_MS)))) {
        jwks = null;
        try {
          const discovery = await fetchJson(`${p.issuer.replace(/\/$/, "")}/.well-known/openid-configuration`);
          if (discovery.issuer === p.issuer) jwks = await fetchJson(discovery.jwks_uri);
        } catch {
          // this provider cannot be reached now: none of its devices is proven until it can
        }
        this._keys.set(p.issuer, { at: now, jwks });
      }
      if (jwks) list.push({ ...p, jwks });
    }
    return list;
  }

  async _accountDevices(views) {
    const out = new Map();
    const todo = [...views];
    while (todo.length && out.size < views.length + MAX_LINKERS) {
      const view = todo.shift();
      let device;
      try {
        device = await c.citizenDeviceFromJson(view);
      } catch {
        continue;
      }
      if (!out.has(device.id)) out.set(device.id, device);
      const by = device.binding?.by;
      if (typeof by === "string" && !out.has(by) && !todo.some((d) => d.id === by)) {
        try {
          todo.push((await api("GET", `/api/devices/${encodeURIComponent(by)}`)).device); // a revoked linker
        } catch { /* not there: the link does not count */ }
      }
    }
    return [...out.values()];
  }

  /** {proven: Map id -> "signin"|"link", unproven: Map id -> reason} for one citizen's device views. */
  async verdict(userId, views) {
    const devices = await this._accountDevices(views);
    const personKey = this.session._key("citizen-person", userId);
    const pinned = (await db.get("meta", personKey)) || null;
    let verdict = await c.evaluateDevices(userId, devices, await this.providers(), pinned);
    if ([...verdict.unproven.values()].includes("bad_token")) {
      verdict = await c.evaluateDevices(userId, devices, await this.providers(true), pinned); // rotated keys
    }
    if (verdict.person && !pinned) await db.put("meta", verdict.person, personKey);
    return verdict;
  }

  /** The ids of the devices a case key may be wrapped to. */
  async proven(userId, views) {
    return new Set((await this.verdict(userId, views)).proven.keys());
  }
}

// -- the citizen's own device ----------------------------------------------------------------------------------
const PENDING = "pending-signin"; // keys made before an e-identification sign-in, whose nonce they made

/** Before a sign-in with e-identification: this browser's new device keys and the nonce they make. */
export async function prepareSignin() {
  const keys = await c.generateDeviceKeys();
  const salt = crypto.getRandomValues(new Uint8Array(c.SALT_BYTES));
  await db.put("meta", { keys: c.deviceKeysToStored(keys), salt: c.b64u(salt) }, PENDING);
  return c.signinNonce(keys, salt);
}

/** After it: the keys made before it (and their salt), once, or null. */
export async function takePreparedSignin() {
  const pending = await db.get("meta", PENDING);
  if (!pending) return null;
  await db.del("meta", PENDING);
  return pending;
}

/** Demo mode: the demo e-identification's ID token over this device's nonce. */
export async function demoSigninBinding(keys) {
  const salt = crypto.getRandomValues(new Uint8Array(c.SALT_BYTES));
  const { id_token: idToken } = await api("POST", "/api/demo/identify", { nonce: await c.signinNonce(keys, salt) });
  return { kind: "signin", id_token: idToken, salt: c.b64u(salt) };
}
