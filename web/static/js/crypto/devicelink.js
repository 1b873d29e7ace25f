/**
 * Whose a citizen's device is, in a way the server cannot forge (crypto/devicelink.py; docs/protocol.md
 * section 21): the sign-in nonce a device's keys make (so the identity provider's ID token attests the device),
 * link certificates from another of the person's devices, and the verdict over an account's devices.
 * @module crypto/devicelink
 */
import { MalformedError } from "./errors.js";
import { ascii, b64u, concat, lp16, u64, unb64u, utf8 } from "./encoding.js";
import { verifyStrict } from "./ed25519.js";
import { deviceId, deviceSign, fingerprint, verifyRegistrationProof } from "./keys.js";

const NONCE_LABEL = ascii("samtal/signin-nonce/v1");
const LINK_LABEL = ascii("samtal/device-link/v1");
export const SALT_BYTES = 32;
const KTY = { RS256: "RSA", PS256: "RSA", ES256: "EC", EdDSA: "OKP" };

export const NO_PROOF = "no_proof";
export const BAD_REGISTRATION = "bad_registration";
export const BAD_TOKEN = "bad_token";
export const BAD_LINK = "bad_link";
export const OTHER_PERSON = "other_person";

/**
 * The OpenID nonce that binds a sign-in to this device.
 * @param {{signPub: Uint8Array, kemPub: Uint8Array}} keys @param {Uint8Array} salt 32 bytes
 * @returns {Promise<string>}
 */
export async function signinNonce(keys, salt) {
  if (salt.length !== SALT_BYTES) throw new MalformedError("the salt is 32 bytes");
  return b64u(new Uint8Array(await crypto.subtle.digest("SHA-256", concat(NONCE_LABEL, keys.signPub, keys.kemPub, salt))));
}

/** @param {string} userId @param {{signPub, kemPub}} keys @param {string} id @param {number} issuedAt */
export function linkSigned(userId, keys, id, issuedAt) {
  return concat(LINK_LABEL, lp16(utf8(userId)), lp16(ascii(id)), keys.signPub, keys.kemPub, u64(issuedAt));
}

/**
 * The binding this (proven) device gives a new device of the same person.
 * @returns {Promise<{kind: string, by: string, issued_at: number, signature: string}>}
 */
export async function signLink(linker, userId, newKeys, issuedAt) {
  const id = await deviceId(newKeys.signPub, newKeys.kemPub);
  const signature = await deviceSign(linker, linkSigned(userId, newKeys, id, issuedAt));
  return { kind: "link", by: linker.id, issued_at: issuedAt, signature: b64u(signature) };
}

/** What a person compares on both devices: the first three groups of the new device's safety number. */
export async function linkCode(keys) {
  return (await fingerprint(keys.signPub, keys.kemPub)).split(" ").slice(0, 3).join(" ");
}

function jsonPart(part) {
  const value = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(unb64u(part)));
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new MalformedError("not an object");
  return value;
}

async function verifySignature(alg, jwk, signed, signature) {
  try {
    if (alg === "EdDSA") return jwk.crv === "Ed25519" && await verifyStrict(unb64u(jwk.x), signed, signature);
    if (alg === "ES256") {
      if (jwk.crv !== "P-256" || signature.length !== 64) return false;
      const key = await crypto.subtle.importKey("jwk", { kty: "EC", crv: "P-256", x: jwk.x, y: jwk.y },
        { name: "ECDSA", namedCurve: "P-256" }, false, ["verify"]);
      return await crypto.subtle.verify({ name: "ECDSA", hash: "SHA-256" }, key, signature, signed);
    }
    if (unb64u(jwk.n).length < 256) return false; // RSA keys of at least 2048 bits
    const name = alg === "RS256" ? "RSASSA-PKCS1-v1_5" : "RSA-PSS";
    const key = await crypto.subtle.importKey("jwk", { kty: "RSA", n: jwk.n, e: jwk.e }, { name, hash: "SHA-256" },
      false, ["verify"]);
    return await crypto.subtle.verify(alg === "RS256" ? { name } : { name, saltLength: 32 }, key, signature, signed);
  } catch {
    return false;
  }
}

/**
 * The claims of an ID token whose signature verifies with one of the provider's keys; null otherwise.
 * @param {string} token @param {{keys: object[]}} jwks
 */
export async function verifyIdToken(token, jwks) {
  let header, claims, signature;
  const parts = String(token).split(".");
  try {
    if (parts.length !== 3) return null;
    header = jsonPart(parts[0]);
    claims = jsonPart(parts[1]);
    signature = unb64u(parts[2]);
  } catch {
    return null;
  }
  const alg = header.alg;
  if (!Object.hasOwn(KTY, alg) || header.crit !== undefined) return null;
  for (const jwk of Array.isArray(jwks?.keys) ? jwks.keys : []) {
    if (typeof jwk !== "object" || jwk === null || jwk.kty !== KTY[alg] || (jwk.use ?? "sig") !== "sig") continue;
    if ("kid" in header && jwk.kid !== header.kid) continue;
    if ((jwk.alg ?? alg) !== alg) continue;
    if (await verifySignature(alg, jwk, ascii(`${parts[0]}.${parts[1]}`), signature)) return claims;
  }
  return null;
}

/** [issuer, sub] of the person whose sign-in attests this device, or null. */
export async function checkSignin(binding, keys, providers) {
  const { id_token: token, salt } = binding;
  if (typeof token !== "string" || typeof salt !== "string") return null;
  let nonce;
  try {
    nonce = await signinNonce(keys, unb64u(salt));
  } catch {
    return null;
  }
  for (const provider of providers) {
    const claims = await verifyIdToken(token, provider.jwks);
    if (!claims || claims.iss !== provider.issuer) continue;
    const aud = typeof claims.aud === "string" ? [claims.aud] : Array.isArray(claims.aud) ? claims.aud : [];
    if (aud.includes(provider.client_id) && claims.nonce === nonce && typeof claims.sub === "string" && claims.sub) {
      return [provider.issuer, claims.sub];
    }
  }
  return null;
}

/**
 * Which of an account's devices are the person's (crypto/devicelink.py `evaluate`, rule for rule).
 * @param {string} userId
 * @param {{id: string, signPub: Uint8Array, kemPub: Uint8Array, proof: Uint8Array|null, binding: object|null,
 *          revokedAt: number|null}[]} devices
 * @param {{issuer: string, client_id: string, jwks: object}[]} providers
 * @param {[string, string]|null} pinned
 * @returns {Promise<{proven: Map<string, string>, unproven: Map<string, string>, person: [string, string]|null}>}
 */
export async function evaluateDevices(userId, devices, providers, pinned = null) {
  const verdict = { proven: new Map(), unproven: new Map(), person: pinned };
  const same = (a, b) => a && b && a[0] === b[0] && a[1] === b[1];
  for (const device of devices) {
    if (!device.proof || !await verifyRegistrationProof(device, userId, device.proof)) {
      verdict.unproven.set(device.id, device.proof ? BAD_REGISTRATION : NO_PROOF);
      continue;
    }
    const binding = device.binding || {};
    if (binding.kind !== "signin") continue;
    const person = await checkSignin(binding, device, providers);
    if (!person) {
      verdict.unproven.set(device.id, BAD_TOKEN);
      continue;
    }
    if (!verdict.person) verdict.person = person;
    if (same(person, verdict.person)) verdict.proven.set(device.id, "signin");
    else verdict.unproven.set(device.id, OTHER_PERSON);
  }
  const byId = new Map(devices.map((d) => [d.id, d]));
  let changed = true;
  while (changed) {
    changed = false;
    for (const device of devices) {
      const binding = device.binding || {};
      if (verdict.proven.has(device.id) || verdict.unproven.has(device.id) || binding.kind !== "link") continue;
      const linker = byId.get(String(binding.by));
      const issuedAt = binding.issued_at;
      if (!linker || !verdict.proven.has(linker.id) || !Number.isSafeInteger(issuedAt) || issuedAt < 0
          || (linker.revokedAt != null && issuedAt >= linker.revokedAt)) continue;
      let ok = false;
      try {
        ok = await verifyStrict(linker.signPub, linkSigned(userId, device, device.id, issuedAt), unb64u(String(binding.signature)));
      } catch {
        ok = false;
      }
      if (ok) {
        verdict.proven.set(device.id, "link");
        changed = true;
      }
    }
  }
  for (const device of devices) {
    if (!verdict.proven.has(device.id) && !verdict.unproven.has(device.id)) {
      verdict.unproven.set(device.id, (device.binding || {}).kind === "link" ? BAD_LINK : NO_PROOF);
    }
  }
  return verdict;
}

/** A device view of the server (GET /api/devices/{id}) as evaluateDevices takes it, its id checked. */
export async function citizenDeviceFromJson(view) {
  const signPub = unb64u(view.sign_pub);
  const kemPub = unb64u(view.kem_pub);
  const id = await deviceId(signPub, kemPub);
  if (view.id && view.id !== id) throw new MalformedError("the device id is not the hash of its keys");
  return { id, signPub, kemPub, proof: view.proof ? unb64u(view.proof) : null,
    binding: view.binding && typeof view.binding === "object" ? view.binding : null,
    revokedAt: Number.isSafeInteger(view.revoked_at) ? view.revoked_at : null };
}
