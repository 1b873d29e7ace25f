/**
 * Samtal's end-to-end cryptography in the browser: the same bytes as the Python package `crypto/`
 * (docs/protocol.md, docs/browser-crypto.md). Import from here; the other modules are its parts.
 * @module crypto
 */
export { CryptoError, DecryptionError, MalformedError } from "./errors.js";
export { b64u, unb64u, utf8, isId16 } from "./encoding.js";
export { verifyStrict } from "./ed25519.js";
export { importX25519Private, isAcceptableX25519Public, x25519, x25519PublicKey } from "./x25519.js";
export {
  HpkeContext, deriveKeyPair, hpkeOpen, hpkeSeal, hpkeSetupReceiver, hpkeSetupSender, keySchedule,
} from "./hpke.js";
export {
  deviceId, deviceKeysFromStored, deviceKeysToStored, devicePublicFromJson, devicePublicToJson, deviceSign,
  fingerprint, generateDeviceKeys, importDeviceKeysForTest, registrationProof, verifyRegistrationProof,
} from "./keys.js";
export {
  addressKeyInfo, addressSignKeyInfo, openAddressKeyWrap, unwrapAddressKey, unwrapAddressSignKey, wrapAddressKey,
  wrapAddressSignKey,
} from "./wrap.js";
export {
  caseKeyInfo, importCaseKeyForTest, signUnitEpoch, signWrap, unitEpochSigningBytes, unitKeyInfo, unwrapCaseKey,
  unwrapUnitKey, verifyUnitEpoch, verifyWrap, wrapCaseKey, wrapSigningBytes, wrapUnitKey, wrappedFromJson,
  wrappedToJson,
} from "./wrap.js";
export {
  caseHistoryAad, historySigningBytes, openCaseHistory, openCaseHistoryKey, openUnitHistory, openUnitHistoryKey,
  sealCaseHistory, sealUnitHistory, signHistory, unitHistoryInfo, verifyHistory,
} from "./history.js";
export { decodeBody, encodeBody } from "./body.js";
export {
  NO_PREV, headerBytes, newMsgId, openMessage, parseEnvelope, sealMessage, verifyEnvelope,
} from "./envelope.js";
export {
  GONE, MISSING_BEFORE, NOT_SEEN, OUT_OF_ORDER, OWN_MISSING, REPLAYED, checkTranscript, messageHash, rememberTranscript,
} from "./transcript.js";
export {
  CONTENT_ENC, KEY_WRAP_ALG, concatKdf, decryptJwe, encryptJwe, importP256Private, jweHeader, sha256B64u,
} from "./jwe.js";
export { jwsParts, signJws, verifyJws } from "./jws.js";
export {
  SALT_BYTES, checkSignin, citizenDeviceFromJson, evaluateDevices, linkCode, linkSigned, signinNonce, signLink,
  verifyIdToken,
} from "./devicelink.js";
export {
  CASE_GRANT_LEN, KEY_GRANT_LEN, grantRecipientKind, grantToCase, grantToKey, newRecordId, newRecordKey, openCaseGrant,
  openKeyGrant, openRecord, parseRecord, recordHeaderBytes, sealRecord, signGrant, verifyGrant, verifyRecord,
} from "./record.js";
export {
  headFromJson, headSigningBytes, leafBytes, leafHash, merkleRoot, nodeHash, unitCertLeafBody, verifyConsistency,
  verifyHead, verifyInclusion,
} from "./merkle.js";
export {
  ChainError, UnitIdentityChanged, certFromJson, certSigningBytes, certVerifies, evaluateChain, parseSubject,
  unitFingerprint,
} from "./unitcert.js";
export {
  deviceSubject, epochSubject, identityFile, identityKeyFromSeed, identitySeedInfo, identitySubject, openIdentitySeal,
  revokeSubject, sealIdentity, sealSigningBytes, signCert, verifyIdentityFile, verifyIdentitySeal,
} from "./identityseal.js";
