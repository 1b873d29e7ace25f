/**
 * Holding a unit's identity key in a supervisor's browser (docs/protocol.md §18, Holders), as
 * crypto/identityseal.py and crypto/unitcert.py: the seed sealed to a staff device and signed by the identity
 * itself, certificates signed with it, and the signed file the municipality publishes. The seed exists as
 * bytes only for the moment of sealing; signing uses a non-extractable CryptoKey made from it.
 * @module crypto/identityseal
 */
import { ascii, bytesEqual, b64u, concat, isId16, lp16, requireLen, u32, unb64uLen, utf8 } from "./encoding.js";
import { CryptoError, MalformedError } from "./errors.js";
import { ed25519Sign, importEd25519Seed, verifyStrict } from "./ed25519.js";
import { hpkeOpen, hpkeSeal } from "./hpke.js";
import { deviceId } from "./keys.js";
import { certSigningBytes, unitFingerprint } from "./unitcert.js";
import { isAcceptableX25519Public } from "./x25519.js";

const SEED_LABEL = ascii("samtal/unit-identity-seed/v1");
const SEAL_LABEL = ascii("samtal/unit-identity-seal/v1");
const FILE_LABEL = ascii("samtal/unit-identity-file/v1");
const NO_AAD = new Uint8Array(0);

/**
 * The identity key from its seed: {privateKey (non-extractable CryptoKey), publicKey (32 bytes)}. WebCrypto
 * derives an Ed25519 public key only by exporting, so a short-lived extractable copy gives it.
 */
export async function identityKeyFromSeed(seed) {
  requireLen(seed, 32, "identity seed");
  const jwk = await crypto.subtle.exportKey("jwk", await importEd25519Seed(seed, true));
  return { privateKey: await importEd25519Seed(seed, false), publicKey: unb64uLen(jwk.x, 32, "identity key") };
}

export function identitySeedInfo(unitId, identityPub) {
  return concat(SEED_LABEL, lp16(utf8(unitId)), requireLen(identityPub, 32, "identity key"));
}

export function sealSigningBytes(unitId, identityPub, recipient, wrapped) {
  if (!isId16(recipient)) throw new MalformedError("the recipient must be a device id");
  return concat(SEAL_LABEL, lp16(utf8(unitId)), requireLen(identityPub, 32, "identity key"), lp16(ascii(recipient)),
    lp16(requireLen(wrapped.enc, 32, "enc")), lp16(requireLen(wrapped.ct, 48, "ct")));
}

/** The seed sealed to `recipient` (its id and X25519 key), and the identity's signature over the seal. */
export async function sealIdentity(seed, unitId, recipient, recipientKemPub, ikmE) {
  if (!isAcceptableX25519Public(recipientKemPub)) throw new MalformedError("the recipient's key is not acceptable");
  const key = await identityKeyFromSeed(seed);
  const wrapped = await hpkeSeal(recipientKemPub, identitySeedInfo(unitId, key.publicKey), NO_AAD, seed, ikmE);
  const signature = await ed25519Sign(key.privateKey, sealSigningBytes(unitId, key.publicKey, recipient, wrapped));
  return { wrapped, signature };
}

export async function verifyIdentitySeal(identityPub, unitId, recipient, wrapped, signature) {
  try {
    return await verifyStrict(identityPub, sealSigningBytes(unitId, identityPub, recipient, wrapped), signature);
  } catch (error) {
    if (error instanceof MalformedError) return false;
    throw error;
  }
}

/**
 * The seed a seal carries, after checking it is signed by `identityPub` (the current key of this device's own
 * checked chain) and is that key's seed. The caller wipes the bytes when done.
 */
export async function openIdentitySeal(kemPrivateKey, unitId, recipient, identityPub, wrapped, signature) {
  if (!await verifyIdentitySeal(identityPub, unitId, recipient, wrapped, signature)) {
    throw new CryptoError("the identity seal is not signed by the unit's identity key");
  }
  const seed = await hpkeOpen(kemPrivateKey, wrapped.enc, identitySeedInfo(unitId, identityPub), NO_AAD, wrapped.ct);
  if (!bytesEqual((await identityKeyFromSeed(seed)).publicKey, identityPub)) {
    seed.fill(0);
    throw new CryptoError("the sealed seed is not the seed of the unit's identity key");
  }
  return seed;
}

// -- certificates the identity signs (the subjects of §18) ----------------------------------------------------
export const identitySubject = (identityPub) => requireLen(identityPub, 32, "identity key");

export async function deviceSubject(id, signPub, kemPub, userId) {
  if (await deviceId(signPub, kemPub) !== id) throw new MalformedError("the device id is not the hash of its keys");
  return concat(lp16(ascii(id)), signPub, kemPub, lp16(utf8(userId)));
}

export function revokeSubject(id) {
  if (!isId16(id)) throw new MalformedError("not a device id");
  return lp16(ascii(id));
}

export function epochSubject(epoch, unitPub) {
  if (!Number.isInteger(epoch) || epoch < 1) throw new MalformedError("epochs start at 1");
  return concat(u32(epoch), requireLen(unitPub, 32, "unit public key"));
}

/** A certificate in its JSON form, signed by `key` ({privateKey, publicKey} of identityKeyFromSeed). */
export async function signCert(key, unitId, kind, subject, issuedAt = Date.now()) {
  const signature = await ed25519Sign(key.privateKey, certSigningBytes(unitId, kind, subject, issuedAt));
  return { unit_id: unitId, kind, subject: b64u(subject), issued_at: issuedAt, signer: b64u(key.publicKey),
    signature: b64u(signature) };
}

/** The signed file the municipality hosts on its own web site (identity_file in Python). */
export async function identityFile(key, unitId, name = "") {
  const signature = await ed25519Sign(key.privateKey, concat(FILE_LABEL, lp16(utf8(unitId)), key.publicKey));
  return { samtal_unit_identity: 1, unit_id: unitId, name, identity_key: b64u(key.publicKey),
    fingerprint: await unitFingerprint(unitId, key.publicKey), signature: b64u(signature) };
}

/** The identity key a municipality's file names for `unitId` (verify_identity_file in Python). */
export async function verifyIdentityFile(data, unitId) {
  if (!data || typeof data !== "object" || data.samtal_unit_identity !== 1) {
    throw new MalformedError("not a Samtal unit identity file of version 1");
  }
  if (data.unit_id !== unitId) throw new CryptoError("the identity file is for another unit");
  if (typeof data.identity_key !== "string" || typeof data.signature !== "string") {
    throw new MalformedError("identity_key and signature must be strings");
  }
  const pub = unb64uLen(data.identity_key, 32, "identity_key");
  if (!await verifyStrict(pub, concat(FILE_LABEL, lp16(utf8(unitId)), pub), unb64uLen(data.signature, 64, "signature"))) {
    throw new CryptoError("the identity file's signature does not verify");
  }
  return pub;
}
