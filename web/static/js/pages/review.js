// Log review (loggkontroll): the log reviewer searches the unit's audit log by citizen, case, staff member
// and period, draws random samples, and records a finding (ok, question, violation) on an entry. Every
// value from the log is shown as text, never as markup.
import { api } from "../api.js";
import { announce, byId, h } from "../dom.js";
import { dayStart, fullTime, isoTime, shortTime } from "../format.js";
import { t, tn } from "../i18n.js";
import { alertError, boot, config, guardedBy } from "../app.js";

const VERDICTS = { ok: () => t("OK"), question: () => t("Question"), violation: () => t("Violation") };

// The log stores codes; the reviewer reads words. An action without words here (a newer one) shows its code.
const ROLES = {
  citizen: () => t("citizen"), caseworker: () => t("caseworker"), supervisor: () => t("supervisor"),
  unit_admin: () => t("unit admin"), log_reviewer: () => t("log reviewer"), agency: () => t("agency"),
};
const OUTCOMES = { allowed: () => t("allowed"), denied: () => t("denied") };
const ACTIONS = {
  "case.list": () => t("listed cases"), "case.read": () => t("read the case"),
  "case.write": () => t("wrote in the case"), "case.handle": () => t("marked as handled"),
  "case.assign": () => t("assigned the case"), "case.keys.read": () => t("fetched case keys"),
  "case.keys.write": () => t("made or gave case keys"), "unit.keys.read": () => t("fetched unit keys"),
  "unit.keys.create": () => t("made a unit key"), "unit.device.approve": () => t("approved a device"),
  "unit.staff.read": () => t("listed staff"), "unit.substitutes.manage": () => t("changed substitutes"),
  "unit.staff.remove": () => t("removed a staff member"), "audit.read": () => t("read the audit log"),
  "audit.review": () => t("recorded a finding"), self: () => t("own account"),
  "device.read": () => t("looked up a device"), "message.send": () => t("sent a message"),
  login: () => t("signed in"), "booking.read": () => t("read bookings"), "booking.write": () => t("changed a booking"),
  "availability.manage": () => t("changed available times"), "exchange.unit.read": () => t("read agency mail"),
  "exchange.unit.write": () => t("handled agency mail"), "exchange.agency": () => t("agency exchange"),
  "call.join": () => t("opened a video call"), "call.joined": () => t("joined a video call"),
  "call.left": () => t("left a video call"),
};

/** A code in words, with the code itself beside it for precision. */
function worded(words, code) {
  if (!code) return h("td", { text: "" });
  const label = words[code];
  return label ? h("td", {}, `${label()} `, h("code", { class: "muted", text: code })) : h("td", { text: code });
}

const guarded = guardedBy("review-error");

function query(extra = {}) {
  const form = byId("audit-filter");
  const params = new URLSearchParams();
  for (const name of ["citizen", "case", "staff"]) {
    if (form[name].value.trim()) params.set(name, form[name].value.trim());
  }
  if (form.from.value) params.set("from", dayStart(form.from.value));
  if (form.to.value) params.set("to", dayStart(form.to.value, 1));
  for (const [name, value] of Object.entries(extra)) params.set(name, value);
  return params.toString();
}

function findingControl(row) {
  const verdict = h("select", { id: `verdict-${row.id}`, name: "verdict" },
    ...Object.entries(VERDICTS).map(([value, words]) => h("option", { value, text: words() })));
  const note = h("textarea", { id: `note-${row.id}`, name: "note", rows: 2, maxlength: 2000 });
  const form = h("form", { class: "finding-form" },
    h("p", { class: "muted audit-detail", text: `${t("Details")}: ${JSON.stringify(row.detail ?? {})}` }),
    h("div", { class: "field" }, h("label", { for: verdict.id, text: t("Verdict") }), verdict),
    h("div", { class: "field" }, h("label", { for: note.id, text: t("Note") }), note),
    h("button", { type: "submit", class: "button", text: t("Save finding") }));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    guarded(async () => {
      await api("POST", "/api/audit/findings", { audit_id: row.id, verdict: verdict.value, note: note.value });
      announce(t("The finding is recorded."));
      form.closest("details").open = false;
      await renderFindings();
    });
  });
  return h("details", { class: "finding" },
    h("summary", { text: t("Record finding"), "aria-label": t("Record finding on entry %(id)s", { id: row.id }) }),
    form);
}

function rowOf(row) {
  return h("tr", { "data-audit-id": row.id },
    h("td", {}, h("time", { datetime: isoTime(row.at), title: fullTime(row.at), text: shortTime(row.at) })),
    h("td", { text: row.actor || "" }), worded(ROLES, row.role), worded(ACTIONS, row.action),
    worded(OUTCOMES, row.outcome), h("td", { text: row.case_id || "" }), h("td", { text: row.reason || "" }),
    h("td", {}, findingControl(row)));
}

let shown = 0; // the latest search asked for: an earlier answer that arrives after it is dropped

async function show(path) {
  const mine = ++shown;
  const { rows } = await api("GET", path);
  if (mine !== shown) return;
  byId("audit-rows").replaceChildren(...rows.map(rowOf));
  byId("results-summary").textContent = tn("%(n)s entry", "%(n)s entries", rows.length);
}

async function renderFindings() {
  const { findings } = await api("GET", "/api/audit/findings");
  const list = byId("findings");
  list.replaceChildren(...findings.map((f) => h("li", { class: "device finding-item", "data-audit-id": f.audit_id },
    h("p", {}, h("strong", { text: VERDICTS[f.verdict]?.() || f.verdict }),
      ` · ${t("Entry %(id)s", { id: f.audit_id })} · `,
      h("time", { datetime: isoTime(f.created_at), text: fullTime(f.created_at) })),
    f.note ? h("p", { text: f.note }) : null)));
  if (!findings.length) list.append(h("li", { class: "empty", text: t("No findings yet.") }));
}

async function main() {
  await boot();
  if (config.denied) return;
  byId("audit-filter").addEventListener("submit", (event) => {
    event.preventDefault();
    guarded(() => show(`/api/audit?${query({ limit: 200 })}`));
  });
  byId("audit-sample").addEventListener("submit", (event) => {
    event.preventDefault();
    guarded(() => show(`/api/audit/sample?${query({ size: byId("sample-size").value })}`));
  });
  await Promise.all([show(`/api/audit?${query({ limit: 200 })}`), renderFindings()]);
}

main().catch((error) => alertError("review-error", error));
