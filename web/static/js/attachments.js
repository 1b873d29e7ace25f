// Attachments: the file is encrypted here with a fresh AES-256-GCM key, uploaded as an opaque blob,
// and the key travels inside the (end-to-end encrypted) message body (or sealed record, applications.js):
//   {"type": "attachment", "text", "name", "mime", "size", "blob_id", "key", "nonce", "sha256"}
// blob = AES-GCM(key, nonce, file, aad = "samtal/attachment/v1"). Only images and PDF are accepted, and
// only what the file's first bytes confirm, so that a file cannot pose as another type.
import { b64u, unb64u } from "./crypto/index.js";
import { api } from "./api.js";

const AAD = new TextEncoder().encode("samtal/attachment/v1");
const TAG_BYTES = 16;

const SIGNATURES = {
  "image/png": [[0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]],
  "image/jpeg": [[0xff, 0xd8, 0xff]],
  "image/gif": [[0x47, 0x49, 0x46, 0x38]],
  "image/webp": [[0x52, 0x49, 0x46, 0x46, null, null, null, null, 0x57, 0x45, 0x42, 0x50]],
  "application/pdf": [[0x25, 0x50, 0x44, 0x46, 0x2d]],
};
export const ACCEPTED_TYPES = Object.keys(SIGNATURES);

export class AttachmentError extends Error {
  constructor(code) {
    super(code);
    this.code = code;
  }
}

function matches(bytes, signature) {
  return signature.every((b, i) => b === null || bytes[i] === b);
}

/** The type the file's bytes show, if it is one we accept; null otherwise. */
export function sniff(bytes) {
  for (const [mime, signatures] of Object.entries(SIGNATURES)) {
    if (signatures.some((s) => matches(bytes, s))) return mime;
  }
  return null;
}

export function isImage(mime) {
  return mime.startsWith("image/") && mime in SIGNATURES;
}

/** Will the encrypted file fit the server's limit? (The limit applies to the ciphertext.) */
export function fits(file, maxBytes) {
  return file.size + TAG_BYTES <= maxBytes;
}

async function aesKey(raw, usage) {
  return crypto.subtle.importKey("raw", raw, "AES-GCM", false, [usage]);
}

async function sha256(bytes) {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
}

/** Encrypt a File: {body (without blob_id), blob (ciphertext)}. Throws AttachmentError. */
export async function encryptFile(file, caption, maxBytes) {
  if (!fits(file, maxBytes)) throw new AttachmentError("too_large");
  const bytes = new Uint8Array(await file.arrayBuffer());
  const mime = sniff(bytes);
  if (!mime) throw new AttachmentError("unsupported_type");
  const raw = crypto.getRandomValues(new Uint8Array(32));
  const nonce = crypto.getRandomValues(new Uint8Array(12));
  const key = await aesKey(raw, "encrypt");
  const blob = new Uint8Array(await crypto.subtle.encrypt({ name: "AES-GCM", iv: nonce, additionalData: AAD }, key, bytes));
  const body = {
    type: "attachment", text: caption, name: (file.name || "file").slice(0, 200), mime, size: bytes.length,
    blob_id: null, key: b64u(raw), nonce: b64u(nonce), sha256: b64u(await sha256(bytes)),
  };
  raw.fill(0);
  return { body, blob };
}

/** Fetch and decrypt a message's attachment; returns a Blob of the declared type, checked against its hash. */
export function decryptAttachment(caseId, body) {
  if (typeof body.blob_id !== "string") return Promise.reject(new AttachmentError("unsupported_type"));
  return decryptFrom(`/api/cases/${encodeURIComponent(caseId)}/blobs/${encodeURIComponent(body.blob_id)}`, body);
}

/** Fetch the ciphertext at `path` (an API address) and decrypt it with the key, nonce and hash in `body`. */
export async function decryptFrom(path, body) {
  if (typeof body.blob_id !== "string" || !(body.mime in SIGNATURES)) throw new AttachmentError("unsupported_type");
  const blob = await api("GET", path, undefined, { bytes: true });
  let plain;
  try {
    const key = await aesKey(unb64u(body.key), "decrypt");
    plain = new Uint8Array(await crypto.subtle.decrypt(
      { name: "AES-GCM", iv: unb64u(body.nonce), additionalData: AAD }, key, blob));
  } catch (error) {
    throw new AttachmentError("damaged");
  }
  if (b64u(await sha256(plain)) !== body.sha256 || sniff(plain) !== body.mime) throw new AttachmentError("damaged");
  return new Blob([plain], { type: body.mime });
}
