// The receiving agency's side with panva's `jose` (not Samtal's code): verify a document's envelope (JWS)
// with the sender's public key, check its content hash, and decrypt the content (JWE) with the agency's
// private key. Used to show that what a caseworker's browser makes opens in an independent implementation.
// usage: node open.mjs INPUT_JSON   where INPUT_JSON is {envelope, content, sign_jwk, enc_jwk}
//        (prints {envelope: <verified payload>, header: <JWS header>, document: <decrypted JSON>})
import { readFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { createRequire } from "node:module";

const jose = createRequire(`${process.env.NPM_PREFIX}/`)("jose");

const { envelope, content, sign_jwk: signJwk, enc_jwk: encJwk } = JSON.parse(readFileSync(process.argv[2], "utf8"));
const verified = await jose.compactVerify(envelope, await jose.importJWK(signJwk, signJwk.alg));
if (verified.protectedHeader.typ !== "exchange-envelope+json") throw new Error("not an exchange envelope");
const payload = JSON.parse(new TextDecoder().decode(verified.payload));
if (payload.content_sha256 !== createHash("sha256").update(content, "ascii").digest("base64url")) {
  throw new Error("content_sha256 does not match the content");
}
const { kid, ...privateJwk } = encJwk;
const { plaintext, protectedHeader } = await jose.compactDecrypt(
  content, await jose.importJWK(privateJwk, "ECDH-ES+A256KW"), { keyManagementAlgorithms: ["ECDH-ES+A256KW"] });
if (protectedHeader.enc !== "A256GCM" || protectedHeader.kid !== kid) throw new Error("unexpected JWE header");
console.log(JSON.stringify({ envelope: payload, header: verified.protectedHeader,
  document: JSON.parse(new TextDecoder().decode(plaintext)) }));
