// An agency written only against the standards, with panva's `jose` (not Samtal's code): fetch and verify
// the directory, encrypt an orosanmälan to the unit's key (JWE), sign the envelope (JWS), send it, and
// verify the received receipt with the endpoint key the directory published.
// usage: node agency.mjs SERVER KEY_FILE TO DOCUMENT_JSON   (prints the verified receipt claims as JSON)
import { readFileSync } from "node:fs";
import { createHash, randomUUID } from "node:crypto";
import { createRequire } from "node:module";

// jose comes from npm in the git-ignored .cache/npm (NPM_PREFIX), not from a package.json here.
const jose = createRequire(`${process.env.NPM_PREFIX}/`)("jose");

const [server, keyFile, to, documentPath] = process.argv.slice(2);
const keys = JSON.parse(readFileSync(keyFile, "utf8"));
const b64u = (bytes) => Buffer.from(bytes).toString("base64url");

const directoryJws = await (await fetch(`${server}/exchange/v1/directory`)).text();
const endpointJwk = JSON.parse(Buffer.from(directoryJws.split(".")[1], "base64url")).endpoint_key;
const endpointKey = await jose.importJWK(endpointJwk, "EdDSA");
const { payload: dirBytes } = await jose.compactVerify(directoryJws, endpointKey);
const directory = JSON.parse(new TextDecoder().decode(dirBytes));
if (directory.expires * 1000 < Date.now()) throw new Error("directory expired");
const recipient = directory.addresses.find((a) => a.address === to);
const encJwk = recipient.keys.filter((k) => k.use === "enc").at(-1);

const content = await new jose.CompactEncrypt(new TextEncoder().encode(readFileSync(documentPath, "utf8")))
  .setProtectedHeader({ alg: "ECDH-ES+A256KW", enc: "A256GCM", kid: encJwk.kid, cty: "json" })
  .encrypt(await jose.importJWK(encJwk, "ECDH-ES+A256KW"));
const now = Math.floor(Date.now() / 1000);
const envelope = {
  id: randomUUID(), conversation: randomUUID(), in_reply_to: null, type: "orosanmalan/v1", priority: "urgent",
  from: keys.address, to, label: "Orosanmälan från Polisen", created: now, expires: now + 86400,
  content_sha256: b64u(createHash("sha256").update(content, "ascii").digest()),
};
const { kid, alg, ...signJwk } = keys.sign;
const signed = await new jose.CompactSign(new TextEncoder().encode(JSON.stringify(envelope)))
  .setProtectedHeader({ alg, kid, typ: "exchange-envelope+json" })
  .sign(await jose.importJWK(signJwk, alg));

const response = await fetch(`${server}/exchange/v1/messages`, {
  method: "POST", headers: { "content-type": "application/json" },
  body: JSON.stringify({ envelope: signed, content }),
});
if (response.status !== 201) throw new Error(`status ${response.status}: ${await response.text()}`);
const { receipt } = await response.json();
const verified = await jose.compactVerify(receipt, endpointKey);
if (verified.protectedHeader.typ !== "exchange-receipt+json") throw new Error("not a receipt");
const claims = JSON.parse(new TextDecoder().decode(verified.payload));
const envelopeHash = b64u(createHash("sha256").update(signed, "ascii").digest());
if (claims.envelope_sha256 !== envelopeHash || claims.message !== envelope.id) throw new Error("wrong receipt");
console.log(JSON.stringify(claims));
