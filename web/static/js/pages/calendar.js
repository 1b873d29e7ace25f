// The caseworker's calendar: a day or a week of their own times and bookings, publishing a time, and
// booking a time for a citizen (by phone or at the office), recorded as made on the citizen's behalf.
import { api } from "../api.js";
import { announce, byId, h, status } from "../dom.js";
import { dayStart, fullTime, isoTime, shortDate } from "../format.js";
import { t, tn } from "../i18n.js";
import { alertError, boot, config, guardedBy } from "../app.js";
import { FORM_NAMES as FORMS, bookableSlots, joinVideo } from "../booking-common.js";
import { confirmAction } from "../confirm.js";

const guarded = guardedBy("calendar-error"); // refusals told in words (refusals.js)
let me = null;

function today() {
  const d = new Date();
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
}

function clock(ms) {
  return new Intl.DateTimeFormat(document.documentElement.lang, { hour: "2-digit", minute: "2-digit" }).format(new Date(ms));
}

function slotRow(slot) {
  const b = slot.booking;
  const forms = slot.forms.map((f) => FORMS[f]()).join(", ");
  return h("li", { class: "device calendar-slot", "data-slot-id": slot.id },
    h("p", {}, h("time", { datetime: isoTime(slot.starts_at), title: fullTime(slot.starts_at), text: `${clock(slot.starts_at)}–${clock(slot.ends_at)}` }),
      " · ", h("strong", { text: b ? t("Booked") : t("Free time") })),
    b ? h("p", { text: `${b.citizen_name || b.citizen_id} · ${FORMS[b.form]()} · ${b.case_id}` }) : h("p", { class: "muted", text: forms }),
    b && b.on_behalf ? h("p", { class: "muted", text: t("Booked by staff on the citizen's behalf (%(who)s).", { who: b.booked_by }) }) : null,
    slot.address && (!b || b.form === "in_person") ? h("p", { class: "muted", text: slot.address }) : null,
    b ? joinVideo(b, { staff: true }) : null,
    b ? h("button", { type: "button", class: "button quiet", text: t("Cancel the booking"),
      onclick: () => guarded(async () => {
        if (!await confirmAction({ heading: t("Cancel the booking?"), action: t("Cancel the booking"), danger: true,
          text: t("The meeting %(time)s with %(name)s is cancelled, and the citizen is told.",
            { time: fullTime(slot.starts_at), name: b.citizen_name || b.citizen_id }) })) return;
        await api("POST", `/api/cases/${encodeURIComponent(b.case_id)}/bookings/${b.id}/cancel`);
        announce(t("The booking is cancelled."));
        await renderAll();
      }) })
      : h("button", { type: "button", class: "button quiet", text: t("Withdraw the time"),
        onclick: () => guarded(async () => {
          await api("DELETE", `/api/units/${encodeURIComponent(me.unit_id)}/slots/${slot.id}`);
          announce(t("The time is withdrawn."));
          await renderAll();
        }) }));
}

async function renderCalendar() {
  const form = byId("calendar-view");
  const days = Number(new FormData(form).get("days"));
  const start = dayStart(form.date.value);
  const view = await api("GET", `/api/units/${encodeURIComponent(me.unit_id)}/calendar?start=${start}&days=${days}`);
  const container = byId("calendar-days");
  const sections = [];
  for (let i = 0; i < days; i++) {
    const from = dayStart(form.date.value, i);
    const to = dayStart(form.date.value, i + 1);
    const slots = view.slots.filter((s) => s.starts_at >= from && s.starts_at < to);
    sections.push(h("section", { class: "calendar-day", "aria-label": shortDate(from) },
      h("h3", { text: new Intl.DateTimeFormat(document.documentElement.lang, { weekday: "long", day: "numeric", month: "long" }).format(new Date(from)) }),
      slots.length ? h("ul", { class: "device-list" }, ...slots.map(slotRow)) : h("p", { class: "muted", text: t("No times this day.") })));
  }
  container.replaceChildren(...sections);
  const booked = view.slots.filter((s) => s.booking).length;
  const times = tn("%(n)s time", "%(n)s times", view.slots.length);
  const bookedText = tn("%(n)s booked", "%(n)s booked", booked);
  byId("calendar-summary").textContent = t("%(times)s, %(booked)s", { times, booked: bookedText });
  const office = byId("p-office");
  if (!office.options.length) {
    office.replaceChildren(...view.offices.map((o) => h("option", { value: o.id, text: o.address })));
  }
}

async function renderBehalf() {
  const caseSelect = byId("b-case");
  if (!caseSelect.options.length) {
    const { cases } = await api("GET", "/api/cases");
    // ?case= (from the case in the inbox) chooses that case for a booking on the citizen's behalf.
    const wanted = new URLSearchParams(location.search).get("case");
    caseSelect.replaceChildren(...cases.filter((c) => c.status === "open").map((c) =>
      h("option", { value: c.id, text: `${c.citizen_name || c.citizen} · ${c.id}`, selected: c.id === wanted })));
  }
  if (!caseSelect.value) return;
  const view = await api("GET", `/api/cases/${encodeURIComponent(caseSelect.value)}/bookings`);
  const slotSelect = byId("b-slot");
  // The list comes back a moment after the case was chosen: a time picked meanwhile stays picked.
  const picked = slotSelect.value;
  // No video for a citizen whose call the server would refuse (a protected identity, no relay): said beside.
  byId("b-video-unavailable").hidden = !view.video_unavailable;
  slotSelect.replaceChildren(...bookableSlots(view).map((s) => h("option", { value: s.id, "data-forms": s.forms.join(" "),
    text: fullTime(s.starts_at), selected: String(s.id) === picked })));
  renderForms();
}

function renderForms() {
  const chosen = byId("b-slot").selectedOptions[0];
  const forms = chosen ? chosen.dataset.forms.split(" ") : [];
  byId("b-form").replaceChildren(...forms.map((f) => h("option", { value: f, text: FORMS[f]() })));
}

async function renderAll() {
  await renderCalendar();
  await renderBehalf();
}

function minutesOf(value) {
  const [hh, mm] = value.split(":").map(Number);
  return (hh * 60 + mm) * 60 * 1000;
}

async function main() {
  me = (await boot()).me.user;
  if (config.denied) return;
  // Today only where nothing is typed yet: a date typed while the page was getting ready is kept.
  for (const id of ["view-date", "p-date"]) if (!byId(id).value) byId(id).value = today();
  byId("calendar-view").addEventListener("submit", (event) => {
    event.preventDefault();
    guarded(renderCalendar);
  });
  for (const radio of document.querySelectorAll("#calendar-view input[name=days]")) {
    radio.addEventListener("change", () => guarded(renderCalendar));
  }
  byId("publish").addEventListener("submit", (event) => {
    event.preventDefault();
    const form = event.target;
    const forms = [...form.querySelectorAll("input[name=forms]:checked")].map((i) => i.value);
    const day = dayStart(form.date.value);
    if (!forms.length) {
      status("calendar-error", t("Choose at least one meeting form for the time."), "error");
      return;
    }
    guarded(async () => {
      try {
        await api("POST", `/api/units/${encodeURIComponent(me.unit_id)}/slots`, {
          starts_at: day + minutesOf(form.start.value), ends_at: day + minutesOf(form.end.value), forms,
          office_id: forms.includes("in_person") && form.office.value ? Number(form.office.value) : null });
      } catch (error) {
        // The one field the server can refuse here (the forms were checked above): the period.
        if (error?.code !== "invalid_field") throw error;
        status("calendar-error", t("The time was not published: it must end after it starts and last at most 8 hours. Change the start or the end."), "error");
        byId("p-end").focus();
        return;
      }
      byId("view-date").value = form.date.value;
      await renderAll();
      status("publish-status", t("The time is published."));
    });
  });
  byId("b-case").addEventListener("change", () => guarded(renderBehalf));
  byId("b-slot").addEventListener("change", renderForms);
  byId("behalf").addEventListener("submit", (event) => {
    event.preventDefault();
    const caseId = byId("b-case").value;
    guarded(async () => {
      await api("POST", `/api/cases/${encodeURIComponent(caseId)}/bookings`, {
        slot_id: Number(byId("b-slot").value), form: byId("b-form").value });
      await renderAll();
      status("behalf-status", t("Booked on the citizen's behalf."));
    });
  });
  await renderAll();
  if (new URLSearchParams(location.search).get("case")) byId("behalf-heading").focus();
}

main().catch((error) => alertError("calendar-error", error));
