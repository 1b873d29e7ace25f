// Tidsbokning for the citizen: the open times of the case's unit, picking a meeting form (in person shows the
// office's address), booking, and the person's own bookings with cancel and reschedule (turned off, with
// the reason in words, from the limit before the meeting on).
import { api } from "../api.js";
import { announce, byId, h, status } from "../dom.js";
import { fullTime, isoTime } from "../format.js";
import { t, tn } from "../i18n.js";
import { alertError, boot, config, guardedBy } from "../app.js";
import { FORM_NAMES, bookableSlots, joinVideo } from "../booking-common.js";
import { confirmAction } from "../confirm.js";
import { automated } from "../automated.js";

const STATUS_NAMES = {
  booked: () => t("Booked"), cancelled: () => t("Cancelled"), rescheduled: () => t("Moved to another time"),
};

const guarded = guardedBy("booking-error"); // refusals told in words (refusals.js)
const base = `/api/cases/${encodeURIComponent(config.case_id)}/bookings`;
let rescheduling = null; // the booking being moved, while the person picks its new time

const clock = new Intl.DateTimeFormat(document.documentElement.lang, { hour: "2-digit", minute: "2-digit" });

function when(slot) {
  return h("time", { datetime: isoTime(slot.starts_at), text: whenText(slot) });
}

/** Cancelling a meeting is asked first, with when it is (its time is given up). */
function confirmCancel(slot) {
  return confirmAction({ heading: t("Cancel the meeting?"), action: t("Cancel the meeting"), danger: true,
    text: t("The meeting %(time)s is cancelled, and the time may be booked by someone else.", { time: fullTime(slot.starts_at) }) });
}

function whyNot(booking, hours) {
  if (booking.why_not === "too_late_to_change") {
    return tn("Less than %(n)s hour remains: call the unit to change or cancel this meeting.",
      "Less than %(n)s hours remain: call the unit to change or cancel this meeting.", hours);
  }
  if (booking.why_not === "booking_started") return t("The meeting has started or passed.");
  return "";
}

function bookingItem(booking, hours) {
  const active = booking.status === "booked";
  const form = FORM_NAMES[booking.form]();
  const why = active && !booking.may_change ? whyNot(booking, hours) : "";
  const whyId = `why-${booking.id}`;
  return h("li", { class: "device booking", "data-booking-id": booking.id },
    h("p", {}, h("strong", {}, when(booking.slot))),
    h("p", { text: `${form} · ${STATUS_NAMES[booking.status]()}` }),
    booking.form === "in_person" && booking.slot.address ? h("p", { text: t("Address: %(address)s", { address: booking.slot.address }) }) : null,
    joinVideo(booking),
    booking.on_behalf ? h("p", { class: "muted", text: t("Booked for you by the unit.") }) : null,
    active ? h("div", { class: "form-actions" },
      h("button", { type: "button", class: "button secondary", disabled: !booking.may_change,
        "aria-describedby": why ? whyId : null, text: t("Change time"),
        onclick: () => startReschedule(booking) }),
      h("button", { type: "button", class: "button quiet", disabled: !booking.may_change,
        "aria-describedby": why ? whyId : null, text: t("Cancel booking"),
        onclick: () => guarded(async () => {
          if (!await confirmCancel(booking.slot)) return;
          await api("POST", `${base}/${booking.id}/cancel`);
          announce(t("The booking is cancelled."));
          await render();
        }) })) : null,
    why ? h("p", { id: whyId, class: "muted", text: why }) : null);
}

function startReschedule(booking) {
  rescheduling = booking;
  status("reschedule-status", t("Choose a new time for your meeting."));
  byId("open-slots-heading").focus();
}

function slotItem(slot) {
  const name = `form-${slot.id}`;
  const choices = slot.forms.map((form, i) => h("label", { class: "choice" },
    h("input", { type: "radio", name, value: form, checked: i === 0 }), " ", FORM_NAMES[form](),
    form === "in_person" && slot.address ? ` (${slot.address})` : ""));
  const formEl = h("form", { class: "slot-form" },
    h("fieldset", {}, h("legend", {}, when(slot)), ...choices),
    h("button", { type: "submit", class: "button", text: rescheduling ? t("Move here") : t("Book this time") }));
  formEl.addEventListener("submit", (event) => {
    event.preventDefault();
    const form = new FormData(formEl).get(name);
    guarded(async () => {
      if (rescheduling) {
        await api("POST", `${base}/${rescheduling.id}/reschedule`, { slot_id: slot.id, form });
        rescheduling = null;
        status("reschedule-status", "");
        await render();
        confirm(t("Your meeting is moved"), (await api("GET", base)).bookings.find((b) => b.slot.id === slot.id));
      } else {
        const { booking } = await api("POST", base, { slot_id: slot.id, form });
        await render();
        confirm(t("Your meeting is booked"), booking);
      }
    });
  });
  return h("li", { class: "device slot", "data-slot-id": slot.id }, formEl);
}

/** The booking said back in full: when, how and with whom, and where (or that the unit calls). */
function confirm(heading, booking) {
  if (!booking) return;
  const who = caseView?.staff_names?.[booking.slot.caseworker];
  const how = FORM_NAMES[booking.form]();
  const what = who ? t("%(form)s with %(name)s, %(when)s.", { form: how, name: who, when: whenText(booking.slot) })
    : t("%(form)s, %(when)s.", { form: how, when: whenText(booking.slot) });
  const where = {
    in_person: () => (booking.slot.address ? t("Come to %(address)s.", { address: booking.slot.address }) : ""),
    phone: () => {
      const caller = who || caseView?.unit_name || t("The unit");
      return t("%(name)s calls you at the time.", { name: caller });
    },
    video: () => t("Join the video call from this page at the time; the button appears 15 minutes before."),
  }[booking.form]();
  byId("booked-heading").textContent = heading;
  byId("booked-what").textContent = what;
  byId("booked-where").textContent = where;
  const card = byId("booked");
  card.hidden = false;
  card.focus();
  announce(`${heading}. ${what} ${where}`);
}

function whenText(slot) {
  return `${fullTime(slot.starts_at)}–${clock.format(new Date(slot.ends_at))}`;
}

async function render() {
  const view = await api("GET", base);
  const hours = view.change_limit_hours;
  byId("booking-limit").textContent = tn("You can change or cancel a booking here until %(n)s hour before it starts.",
    "You can change or cancel a booking here until %(n)s hours before it starts.", hours);
  const reminder = byId("booking-reminder");
  reminder.hidden = view.reminder_hours == null;
  if (view.reminder_hours != null) {
    reminder.replaceChildren(automated(tn("Samtal e-mails you a reminder %(n)s hour before a meeting, if you have given an e-mail address.",
      "Samtal e-mails you a reminder %(n)s hours before a meeting, if you have given an e-mail address.", view.reminder_hours)));
  }
  const mine = byId("my-bookings");
  mine.removeAttribute("aria-busy");
  byId("open-slots").removeAttribute("aria-busy");
  mine.replaceChildren(...view.bookings.map((b) => bookingItem(b, hours)));
  if (!view.bookings.length) mine.append(h("li", { class: "empty", text: t("You have no bookings.") }));
  byId("offices").replaceChildren(...(view.offices || []).map((o) => h("li", {},
    o.phone ? h("a", { href: `tel:${o.phone.replace(/[^0-9+]/g, "")}`, text: t("Call %(phone)s", { phone: o.phone }) }) : null,
    o.phone ? " · " : null, h("span", { text: t("Visit %(address)s", { address: o.address }) }))));
  const open = byId("open-slots");
  // No video choice where the call would be refused (a protected identity, no relay): the page says why.
  const slots = bookableSlots(view);
  byId("video-unavailable").hidden = !view.video_unavailable;
  open.replaceChildren(...slots.map(slotItem));
  if (!slots.length) open.append(h("li", { class: "empty", text: t("There are no open times right now.") }));
}

let caseView = null; // names the caseworker in the confirmation

async function main() {
  const app = await boot();
  caseView = await app.session.caseView(config.case_id).catch(() => null);
  await render();
}

main().catch((error) => alertError("booking-error", error));
