/**
 * Compact JWS (RFC 7515) for the agency exchange: verification of the signed directory, envelopes and
 * receipts, with the exchange's allowed algorithms EdDSA (Ed25519, strictly, like every Samtal signature),
 * ES256 and PS256 (chat/exchange/jose.py `verify`); and signing with EdDSA or ES256, for envelopes a unit
 * sends (chat/exchange/jose.py `sign`: the same header and payload bytes, so an EdDSA signature is
 * byte-identical to the server's library's).
 * @module crypto/jws
 */
import { CryptoError, MalformedError } from "./errors.js";
import { ascii, b64u, unb64u, utf8 } from "./encoding.js";
import { verifyStrict } from "./ed25519.js";
import { encodeBody } from "./body.js";

const ALG_OF_KTY = { OKP: "EdDSA", EC: "ES256", RSA: "PS256" };

/** @param {Uint8Array} bytes */
function json(bytes) {
  try {
    const value = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
    if (typeof value === "object" && value !== null && !Array.isArray(value)) return value;
  } catch { /* falls through */ }
  throw new MalformedError("not base64url JSON object");
}

/**
 * The header and payload of a compact JWS, unverified.
 * @param {string} token
 * @returns {{header: Record<string, any>, payload: Record<string, any>}}
 */
export function jwsParts(token) {
  const parts = String(token).split(".");
  if (parts.length !== 3) throw new MalformedError("not a compact JWS");
  return { header: json(unb64u(parts[0])), payload: json(unb64u(parts[1])) };
}

/**
 * Verify a compact JWS with a public JWK and, when given, its `typ`. Returns the payload, or null when the
 * signature, the algorithm or the typ does not fit (never an exception for a bad signature).
 * @param {string} token @param {Record<string, any>} jwk @param {string} [typ]
 * @returns {Promise<Record<string, any> | null>}
 */
export async function verifyJws(token, jwk, typ) {
  const { header, payload } = jwsParts(token);
  const alg = ALG_OF_KTY[jwk?.kty];
  if (!alg || header.alg !== alg || header.crit !== undefined || (typ !== undefined && header.typ !== typ)) return null;
  const [h, p, s] = token.split(".");
  const signed = ascii(`${h}.${p}`);
  const signature = unb64u(s);
  if (alg === "EdDSA") {
    if (jwk.crv !== "Ed25519") return null;
    return await verifyStrict(unb64u(jwk.x), signed, signature) ? payload : null;
  }
  const params = alg === "ES256"
    ? [{ name: "ECDSA", namedCurve: "P-256" }, { name: "ECDSA", hash: "SHA-256" }]
    : [{ name: "RSA-PSS", hash: "SHA-256" }, { name: "RSA-PSS", saltLength: 32 }];
  const publicJwk = alg === "ES256" ? { kty: "EC", crv: jwk.crv, x: jwk.x, y: jwk.y } : { kty: "RSA", n: jwk.n, e: jwk.e };
  try {
    const key = await crypto.subtle.importKey("jwk", publicJwk, params[0], false, ["verify"]);
    return await crypto.subtle.verify(params[1], key, signature, signed) ? payload : null;
  } catch {
    return null;
  }
}

/**
 * Sign a JSON object as a compact JWS, header `{"alg","kid","typ"}`, payload as canonical JSON (keys
 * sorted, compact, UTF-8). An Ed25519 key signs with EdDSA, an ECDSA P-256 key with ES256 (WebCrypto's
 * ECDSA signature is r || s, exactly JWS's form).
 * @param {Record<string, unknown>} payload @param {CryptoKey} key a private signing key
 * @param {string} kid @param {string} typ
 * @returns {Promise<string>}
 */
export async function signJws(payload, key, kid, typ) {
  const name = key?.algorithm?.name;
  const alg = name === "Ed25519" ? "EdDSA" : name === "ECDSA" && key.algorithm.namedCurve === "P-256" ? "ES256" : null;
  if (!alg || key.type !== "private") throw new CryptoError("an exchange document is signed with Ed25519 or P-256");
  const signingInput = `${b64u(utf8(JSON.stringify({ alg, kid, typ })))}.${b64u(encodeBody(payload))}`;
  const params = alg === "EdDSA" ? { name: "Ed25519" } : { name: "ECDSA", hash: "SHA-256" };
  const signature = new Uint8Array(await crypto.subtle.sign(params, key, ascii(signingInput)));
  return `${signingInput}.${b64u(signature)}`;
}
