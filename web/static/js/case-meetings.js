// The booked meetings of the case open in the inbox: when, which form, where, and (for a video meeting)
// the way in, so that the caseworker joins the call from the case as well as from the calendar; and the way
// to book a time on the citizen's behalf (the calendar, with this case chosen).
import { api } from "./api.js";
import { byId, h } from "./dom.js";
import { fullTime, isoTime } from "./format.js";
import { FORM_NAMES, joinVideo } from "./booking-common.js";

const HOUR_MS = 3600 * 1000;

/** Bookings still ahead (or under way, up to an hour after their end), soonest first. */
export function upcoming(bookings, now = Date.now()) {
  return bookings.filter((b) => b.status === "booked" && b.slot.ends_at + HOUR_MS > now)
    .sort((a, b) => a.slot.starts_at - b.slot.starts_at);
}

function meeting(b) {
  return h("li", { class: "device case-meeting", "data-booking-id": b.id },
    h("p", {}, h("time", { datetime: isoTime(b.slot.starts_at), text: fullTime(b.slot.starts_at) }),
      " · ", h("strong", { text: FORM_NAMES[b.form]() })),
    b.form === "in_person" && b.slot.address ? h("p", { class: "muted", text: b.slot.address }) : null,
    joinVideo(b, { staff: true }));
}

/** Fill `section` with the case's meetings and the way to book one for the citizen (hidden if unreadable). */
export async function showMeetings(section, list, bookLink, caseId) {
  section.hidden = true;
  let bookings;
  try {
    ({ bookings } = await api("GET", `/api/cases/${encodeURIComponent(caseId)}/bookings`));
  } catch (error) {
    return; // the conversation works without the meetings
  }
  const ahead = upcoming(bookings);
  // No meetings: one short line, so that the conversation keeps its room.
  list.replaceChildren(...ahead.map(meeting));
  list.hidden = !ahead.length;
  byId("case-no-meetings").hidden = ahead.length > 0;
  bookLink.href = `/calendar?case=${encodeURIComponent(caseId)}`;
  section.hidden = false;
}
