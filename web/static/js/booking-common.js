// What the booking pages share: the meeting forms' names, the times that may be booked, the way into a video meeting.
import { h } from "./dom.js";
import { t } from "./i18n.js";

export const FORM_NAMES = {
  in_person: () => t("Meeting in person"), phone: () => t("Phone meeting"), video: () => t("Video meeting"),
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
  // The way in is the page's main button only near the meeting; days before it is an ordinary link with when.
  const near = joinsSoon(booking);
  return h("p", {}, h("a", { class: near ? "button primary" : "button quiet", "data-join-call": booking.id,
    text: t("Join video call"), href: `/cases/${encodeURIComponent(booking.case_id)}/calls/${booking.id}` }),
  near ? null : " ", near ? null : h("span", { class: "muted", text: t("(from 15 minutes before the meeting)") }));
}

const JOIN_EARLY_MS = 15 * 60 * 1000;

/** From 15 minutes before a meeting until its end. */
export function joinsSoon(booking, now = Date.now()) {
  return now >= booking.slot.starts_at - JOIN_EARLY_MS && now <= booking.slot.ends_at;
}
