// Drafts of applications, kept on this device only (never sent before the person sends the application):
// the answers and the chosen files, resumable after a reload, deletable. A draft is stored encrypted with
// AES-256-GCM under a non-extractable key of this browser profile, and its files as the ciphertext they will
// be uploaded as (attachments.js), so that nothing of it lies in the database files in clear. The key is kept
// beside the drafts in the same profile: this keeps the text out of the stored files, not from someone who
// can use the browser as the person (docs/applications.md).
import * as db from "../idb.js";
import { newRecordId } from "../crypto/index.js";

const STORE = "drafts";
const AAD = new TextEncoder().encode("samtal/draft/v1");

async function draftKey(userId) {
  const id = `key:${userId}`;
  const kept = await db.get(STORE, id);
  if (kept) return kept.key;
  const key = await crypto.subtle.generateKey({ name: "AES-GCM", length: 256 }, false, ["encrypt", "decrypt"]);
  await db.put(STORE, { id, user_id: userId, kind: "key", key });
  return key;
}

async function seal(userId, value) {
  const nonce = crypto.getRandomValues(new Uint8Array(12));
  const plain = new TextEncoder().encode(JSON.stringify(value));
  const ct = new Uint8Array(await crypto.subtle.encrypt({ name: "AES-GCM", iv: nonce, additionalData: AAD },
    await draftKey(userId), plain));
  return { nonce, ct };
}

async function unseal(userId, sealed) {
  const plain = await crypto.subtle.decrypt({ name: "AES-GCM", iv: sealed.nonce, additionalData: AAD },
    await draftKey(userId), sealed.ct);
  return JSON.parse(new TextDecoder().decode(plain));
}

/**
 * One person's drafts. A draft: {id, application_id, unit_id, form_id, form_version, updated_at, answers,
 * files: Map localId -> encrypted file bytes}. `application_id` is the record id the application gets when it
 * is sent (its attachments are uploaded under it).
 */
export class Drafts {
  constructor(userId) {
    this.userId = userId;
  }

  /** Every draft of this person, newest first, with what they were about; the answers stay sealed. */
  async list() {
    const all = await db.byIndex(STORE, "user", this.userId);
    return all.filter((d) => d.kind === "draft").sort((a, b) => b.updated_at - a.updated_at)
      .map(({ id, unit_id: unitId, form_id: formId, updated_at: updatedAt }) => ({ id, unitId, formId, updatedAt }));
  }

  create(unitId, form) {
    return { id: newRecordId(), application_id: newRecordId(), unit_id: unitId, form_id: form.id,
      form_version: form.version, updated_at: Date.now(), answers: null, files: new Map() };
  }

  async load(id) {
    const stored = await db.get(STORE, id);
    if (!stored || stored.kind !== "draft" || stored.user_id !== this.userId) return null;
    const { answers, application_id: applicationId } = await unseal(this.userId, stored.sealed);
    return { id, application_id: applicationId, unit_id: stored.unit_id, form_id: stored.form_id,
      form_version: stored.form_version, updated_at: stored.updated_at, answers, files: new Map(stored.files) };
  }

  async save(draft) {
    draft.updated_at = Date.now();
    await db.put(STORE, {
      id: draft.id, user_id: this.userId, kind: "draft", unit_id: draft.unit_id, form_id: draft.form_id,
      form_version: draft.form_version, updated_at: draft.updated_at,
      sealed: await seal(this.userId, { answers: draft.answers, application_id: draft.application_id }),
      files: [...draft.files],
    });
  }

  async remove(id) {
    await db.del(STORE, id);
  }
}
