// The server's refusals in words: each `code` of a problem+json answer or a WebSocket error frame
// (docs/protocol.md) that a page can meet, said as what happened and what to do, in the page's language.
// A code without words of its own is told by its kind (HTTP status), with the server's own reason quoted
// where it has one, so that no refusal is ever only "something went wrong".

import { t } from "./i18n.js";

const RELOAD = () => t("Reload the page to see how things are now.");

const WORDS = {
  // Access
  forbidden: () => t("You may not do this here. If you think you should, ask a supervisor."),
  device_revoked: () => t("This device has been removed from your account. Sign in again to set it up anew."),
  device_not_owned: () => t("This device is not registered to you. Sign out and sign in again."),
  device_required: () => t("This page has not set up this device yet. Reload the page."),
  bad_origin: () => t("The request came from another address than Samtal's. Open Samtal from its own address."),
  // Gone or changed meanwhile
  unknown_case: () => t("The case could not be found. It may have been closed or moved. %(reload)s", { reload: RELOAD() }),
  unknown_slot: () => t("That time is no longer there: it has been withdrawn or booked. Choose another time."),
  unknown_booking: () => t("The booking could not be found. It may have been cancelled. %(reload)s", { reload: RELOAD() }),
  unknown_application: () => t("The application could not be found. %(reload)s", { reload: RELOAD() }),
  unknown_entry: () => t("The entry could not be found. It may have been deleted. %(reload)s", { reload: RELOAD() }),
  unknown_substitution: () => t("The substitution is already removed. %(reload)s", { reload: RELOAD() }),
  unknown_office: () => t("The office is no longer used. %(reload)s", { reload: RELOAD() }),
  unknown_blob: () => t("The attachment is no longer on the server. Attach the file again."),
  booking_not_active: () => t("The booking has already been cancelled or moved. %(reload)s", { reload: RELOAD() }),
  wrong_status: () => t("The application has moved on meanwhile; someone else may have handled it. %(reload)s", { reload: RELOAD() }),
  entry_signed: () => t("The entry is already signed, and a signed entry is not changed. Write a correction instead."),
  stale_epoch: () => t("The case's keys were renewed meanwhile. Reload the page and try again."),
  msg_id_conflict: () => t("The message could not be sent as it was. Write it again."),
  // Booking
  slot_taken: () => t("Someone else has just booked that time. Choose another."),
  too_late_to_change: () => t("It is too late to change this booking here. Call the unit."),
  slot_past: () => t("That time has already passed. Choose a later time."),
  slot_overlaps: () => t("You already have a time that overlaps this one."),
  slot_booked: () => t("The time is booked: cancel the booking first."),
  slot_other_unit: () => t("That time belongs to another unit than the case. Choose one of the case's unit's times."),
  form_not_offered: () => t("That time is not offered as that kind of meeting. Choose another meeting form."),
  no_office: () => t("A meeting in person needs one of the unit's offices. Choose an office, or add one on the Unit page."),
  office_in_use: () => t("Times still to come are at this office. Withdraw or move them first."),
  relay_unavailable: () => t("This call cannot be held safely here: it needs a relay server that is not set up. Meet by phone or at the office instead."),
  contact_email_missing: () => t("Give your e-mail address first, then turn on e-mail."),
  // Documentation
  too_many_live_drafts: () => t("You already share as many drafts live as you can. Stop sharing one first."),
  not_a_dispute: () => t("Only something the citizen marked as incorrect is answered here. %(reload)s", { reload: RELOAD() }),
  // Limits
  too_large: () => t("It is too large to send. Make it smaller or send it in parts."),
  quota_exceeded: () => t("Your attachments take more room than you are allowed. Send fewer or smaller files, or ask the unit."),
  too_many_attachments: () => t("Too many attachments wait to be sent. Send or remove some first."),
  staged_by_another: () => t("Someone else is adding attachments here right now. Wait a moment and try again."),
  rate_limited: () => t("Too much at once. Wait a minute and try again."),
  // The server's state
  storage_unavailable: () => t("Samtal cannot save anything right now: the server's storage is failing. Nothing you did is lost; try again in a minute."),
  draining: () => t("The server is restarting. Try again in a moment."),
  internal_error: () => t("The server failed to do this. Try again in a while; if it keeps failing, tell your IT support."),
};

/** Refusals that mean the page itself sent something wrong: a reload gets it fresh code and data. */
const PAGE_FAULTS = new Set(["malformed_body", "malformed_envelope", "malformed_record", "malformed_grant",
  "json_invalid_string", "json_too_deep", "json_number_out_of_range", "method_not_allowed",
  "unsupported_media_type", "bad_signature", "invalid_input", "wrong_kind", "wrong_target"]);

/**
 * The words for a refusal {status, code, detail}; null when it is not one the server sent (offline, or
 * an error of this page's own code).
 */
export function refusalWords({ status, code, detail } = {}) {
  if (WORDS[code]) return WORDS[code]();
  if (code?.startsWith("unknown_")) return t("It could not be found. It may have been removed. %(reload)s", { reload: RELOAD() });
  if (PAGE_FAULTS.has(code)) {
    return t("This page sent something the server could not accept. Reload the page and try again; if it happens again, tell your IT support (%(code)s).", { code });
  }
  if (!status) return null;
  // Said with the server's own reason, quoted: what it did not accept.
  const reason = detail && !/^HTTP \d+$/.test(detail) ? detail : code;
  if (status === 403) return t("You may not do this here (the server says: “%(reason)s”). If you think you should, ask a supervisor.", { reason });
  if (status === 404) return t("It could not be found. It may have been removed. %(reload)s", { reload: RELOAD() });
  if (status === 409) return t("This has changed meanwhile (the server says: “%(reason)s”). %(reload)s", { reason, reload: RELOAD() });
  if (status >= 500) return WORDS.internal_error();
  return t("The server did not accept this: “%(reason)s”. Correct it and try again.", { reason });
}
