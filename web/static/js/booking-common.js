// What the booking pages share: the meeting forms' names and the refusals a person can act on, in words.
import { alertError } from "./app.js";
import { h, status } from "./dom.js";
import { t } from "./i18n.js";

export const FORM_NAMES = {
  in_person: () => t("Meeting in person"), phone: () => t("Phone meeting"), video: () => t("Video meeting"),
};
// Refusals the person can act on, in words; anything else is told by the app's general explanation.
export const REFUSALS = {
  slot_taken: () => t("Someone else has just booked that time. Choose another."),
  too_late_to_change: () => t("It is too late to change this booking here. Call the unit."),
  slot_past: () => t("That time has already passed."),
  slot_overlaps: () => t("You already have a time that overlaps this one."),
  slot_booked: () => t("The time is booked: cancel the booking first."),
};

const VIDEO_UNAVAILABLE = () => t("This video meeting cannot be held safely here: it needs a relay server that is not set up. Call the unit to meet by phone or at the office instead.");

/**
 * The open times of GET /api/cases/{id}/bookings as they may be booked for this citizen: no video choice
 * where the call would be refused (a protected identity and no relay), and no time that offered only video.
 */
export function bookableSlots(view) {
  if (!view.video_unavailable) return view.open_slots;
  return view.open_slots.map((s) => ({ ...s, forms: s.forms.filter((f) => f !== "video") })).filter((s) => s.forms.length);
}

export function guardedWith(alertId) {
  return async (work) => {
    status(alertId, "");
    try {
      await work();
    } catch (error) {
      if (REFUSALS[error?.code]) status(alertId, REFUSALS[error.code](), "error");
      else alertError(alertId, error);
    }
  };
}


/**
 * How to join a booked video meeting: the unit's meeting link when it uses one, otherwise Samtal's own
 * video call (/cases/{case}/calls/{booking}). Nothing for other meetings, or cancelled ones.
 */
export function joinVideo(booking, { staff = false } = {}) {
  if (booking.form !== "video" || booking.status !== "booked") return null;
  // A protected identity's call needs a relay that is not set up: no way in that the server would refuse,
  // and what to do instead.
  if (booking.video_unavailable) {
    return h("p", { class: "notice", text: staff ? t("This video meeting cannot be held safely: the citizen has a protected identity and no relay server is set up. Call the citizen to meet by phone or at the office instead.")
      : VIDEO_UNAVAILABLE() });
  }
  if (booking.video_link) return h("p", {}, h("a", { href: booking.video_link, text: t("Join the video meeting") }));
  return h("p", {}, h("a", { class: "button primary", "data-join-call": booking.id, text: t("Join video call"),
    href: `/cases/${encodeURIComponent(booking.case_id)}/calls/${booking.id}` }));
}
