// Log review (loggkontroll): the log reviewer searches the unit's audit log by citizen, case, staff member
// and period, draws random samples, and records a finding (ok, question, violation) on an entry. Every
// value from the log is shown as text, never as markup.
import { api } from "../api.js";
import { announce, byId, h } from "../dom.js";
import { dateAndTime, dayStart, fullTime, isoTime, shortTime } from "../format.js";
import { t, tn } from "../i18n.js";
import { alertError, boot, config, guardedBy } from "../app.js";
import { automated } from "../automated.js";

const VERDICTS = { ok: () => t("OK"), question: () => t("Question"), violation: () => t("Violation") };

// The log stores codes; the reviewer reads words. An action without words here (a newer one) shows its code.
const ROLES = {
  citizen: () => t("citizen"), caseworker: () => t("caseworker"), supervisor: () => t("supervisor"),
  unit_admin: () => t("unit admin"), log_reviewer: () => t("log reviewer"), agency: () => t("agency"),
  automated: () => t("automated, no person"),
};
const OUTCOMES = { allowed: () => t("allowed"), denied: () => t("denied") };
const ACTIONS = {
  // cases and messages
  "case.list": () => t("listed cases"), "case.read": () => t("read the case"),
  "case.write": () => t("wrote in the case"), "case.handle": () => t("marked as handled"),
  "case.assign": () => t("assigned the case"), "message.send": () => t("sent a message"),
  "ws.send": () => t("sent a message"), "ws.resume": () => t("caught up on the case's messages"),
  "ws.watch": () => t("opened the case's conversation"), "ws.unwatch": () => t("closed the case's conversation"),
  "ws.receipt": () => t("marked messages as delivered or read"), "ws.ping": () => t("kept the connection open"),
  // keys: key work moves encrypted keys between devices; none of it is a decision about the case
  "case.keys.read": () => t("fetched the case's keys"), "case.keys.write": () => t("made or gave case keys (key work)"),
  "unit.keys.read": () => t("fetched the unit's keys"), "unit.keys.create": () => t("made a new unit key (key work)"),
  "unit.device.approve": () => t("approved a staff device (gave it the unit key)"),
  "unit.identity": () => t("used the unit's identity key: certified a device or a unit key, or gave the identity key to a supervisor's device (key work)"),
  "device.read": () => t("looked up a device's public keys"), self: () => t("own account or device"),
  "application.grant": () => t("gave a device a key to an application record (key grant, not a decision)"),
  "exchange.address_key.wrap": () => t("gave the unit's agency address key to a device (key work)"),
  "exchange.unit.address_keys": () => t("fetched the agency address keys (key work)"),
  // staff and the unit
  "unit.staff.read": () => t("listed staff"), "unit.substitutes.manage": () => t("changed substitutes"),
  "unit.staff.remove": () => t("removed a staff member"), "unit.settings.manage": () => t("changed the unit's settings"),
  "unit.settings.change": () => t("changed the unit's settings"), "unit.office.add": () => t("added an office"),
  "unit.office.retire": () => t("retired an office"), "admin.unit.add": () => t("added the unit (operator)"),
  "citizen.register": () => t("registered a person at the desk"), "citizen.registered": () => t("registered a new person at the desk"),
  "citizen.found": () => t("found a person's account at the desk"), "citizen.protect": () => t("changed protected identity"),
  "citizen.protected": () => t("marked protected identity"), "citizen.unprotected": () => t("removed protected identity"),
  // gallring: a legal hold is a person's act; the deletions themselves are the job's (the deletion register)
  "case.hold": () => t("set or lifted a legal hold"), "case.legal_hold.set": () => t("put the case under a legal hold"),
  "case.legal_hold.lifted": () => t("lifted the case's legal hold"),
  "retention.read": () => t("read the unit's legal holds and deletion register"),
  "retention.rule": () => t("changed a retention rule (operator)"),
  "retention.deleted": () => t("deleted the case's records at the end of their retention period (automated, by rule)"),
  // the log itself
  "audit.read": () => t("read the audit log"), "audit.review": () => t("recorded a finding"),
  login: () => t("signed in"),
  // bookings and calls
  "booking.read": () => t("read bookings"), "booking.write": () => t("changed a booking"),
  "availability.manage": () => t("changed available times"), "call.join": () => t("opened a video call"),
  "call.joined": () => t("joined a video call"), "call.left": () => t("left a video call"),
  "ws.call.join": () => t("joined a video call"), "ws.call.signal": () => t("video call connection data"),
  "ws.call.hangup": () => t("hung up a video call"),
  // applications
  "application.forms": () => t("read the application forms"), "application.submit": () => t("sent an application"),
  "application.submitted": () => t("sent an application"), "application.read": () => t("read an application"),
  "application.handle": () => t("handled an application"), "application.supplement": () => t("supplemented an application"),
  "application.completion": () => t("asked for completion of an application"),
  "application.decision": () => t("registered a decision on an application"),
  "application.attachment.read": () => t("opened an application's attachment"),
  // documentation
  "journal.read": () => t("read the documentation"), "journal.write": () => t("wrote documentation"),
  "journal.created": () => t("started a documentation entry"), "journal.draft_saved": () => t("saved a documentation draft"),
  "journal.signed": () => t("signed a documentation entry"), "journal.corrected": () => t("corrected a documentation entry"),
  "journal.published": () => t("made an entry visible to the citizen"), "journal.publish": () => t("made an entry visible to the citizen"),
  "journal.deleted": () => t("discarded a documentation draft"), "journal.remark": () => t("commented on the documentation"),
  "journal.supplement": () => t("supplemented the documentation"), "journal.respond": () => t("answered an objection"),
  "journal.response": () => t("answered an objection"), "journal.exported": () => t("exported their file"),
  // registerutdrag (chat/extract.py)
  "extract.requested": () => t("asked for a register extract"), "extract.assembled": () => t("put the case in a register extract"),
  "extract.delivered": () => t("handed over a register extract"),
  // what Samtal did by itself (chat/automation.py): the row names the rule
  "automated.booking_reminder": () => t("sent a meeting reminder (automatic)"),
  "automated.notification_mail": () => t("sent a notification e-mail (automatic)"),
  "automated.attachment_sweep": () => t("removed files no message used (automatic)"),
  "journal.live.started": () => t("shared a draft live"), "journal.live.ended": () => t("stopped sharing a draft live"),
  "ws.journal.live": () => t("shared a draft live"), "ws.journal.live_end": () => t("stopped sharing a draft live"),
  "journal.attachment.read": () => t("opened a documentation attachment"),
  "journal.attachment.uploaded": () => t("added a documentation attachment"),
  // agency mail
  "exchange.unit.read": () => t("read agency mail"), "exchange.unit.write": () => t("handled agency mail"),
  "exchange.unit.receipt": () => t("sent a receipt for agency mail"), "exchange.unit.send": () => t("sent a document to an agency"),
  "exchange.agency": () => t("agency exchange"), "exchange.receive": () => t("received a document from an agency"),
  "exchange.alert": () => t("alerted on-call about an urgent document"), "exchange.admin.register": () => t("registered an agency address (operator)"),
  "exchange.admin.retire_key": () => t("retired an agency key (operator)"),
  "sdk.party": () => t("added an SDK organisation's functional address to the directory"),
  "sdk.send": () => t("handed a document to the SDK message service"),
  "sdk.receive": () => t("refused an SDK message"),
  "sdk.api.send": () => t("the case management system sent an SDK message"),
  "sdk.api.list": () => t("the case management system listed its SDK messages"),
  "sdk.api.read": () => t("the case management system read an SDK message"),
  "sdk.api.delete": () => t("the case management system removed an SDK message"),
};

// Rows that only look: one person reading one case many times in a sitting is one visit to the reviewer.
const LOOKS = new Set(["case.read", "case.list", "journal.read", "application.read", "booking.read", "case.keys.read",
  "unit.keys.read", "device.read", "ws.resume", "ws.watch", "ws.unwatch", "ws.receipt", "ws.ping",
  "journal.attachment.read", "application.attachment.read", "exchange.unit.read"]);
const SITTING_MS = 10 * 60 * 1000; // looks closer together than this belong to one sitting

/** A code in words, with the code itself beside it for precision. */
function worded(words, code) {
  if (!code) return h("td", { text: "" });
  const label = words[code];
  return label ? h("td", {}, `${label()} `, h("code", { class: "muted", text: code })) : h("td", { text: code });
}

function person(name, id, role) {
  if (!id && role === "automated") return h("td", {}, automated(t("Samtal, by a rule; no person")));
  if (!id) return h("td", { text: "" });
  return name ? h("td", {}, `${name} `, h("span", { class: "muted", text: `(${id})` })) : h("td", { text: id });
}

/** Consecutive looks by one person at one case within a sitting, as [first, ...rest] groups. */
function sittings(rows) {
  const groups = [];
  for (const row of rows) {
    const last = groups.at(-1);
    const prev = last?.at(-1);
    const looks = LOOKS.has(row.action) && row.outcome === "allowed" && row.case_id;
    if (looks && prev && LOOKS.has(prev.action) && prev.outcome === "allowed" && prev.actor === row.actor
        && prev.case_id === row.case_id && row.at - prev.at <= SITTING_MS) last.push(row);
    else groups.push([row]);
  }
  return groups;
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
    h("p", { class: "muted audit-detail", text: t("Details: %(detail)s", { detail: JSON.stringify(row.detail ?? {}) }) }),
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

function when(ms) {
  return h("time", { datetime: isoTime(ms), text: dateAndTime(ms) });
}

function caseCell(row) {
  if (!row.case_id) return h("td", { text: "" });
  return h("td", {}, row.case_id, row.case_citizen_name ? h("span", { class: "muted", text: ` · ${row.case_citizen_name}` }) : null);
}

function rowOf(row, hidden = false) {
  return h("tr", { "data-audit-id": row.id, hidden },
    h("td", {}, when(row.at)),
    person(row.actor_name, row.actor, row.role), worded(ROLES, row.role), worded(ACTIONS, row.action),
    worded(OUTCOMES, row.outcome), caseCell(row), h("td", { text: row.reason || "" }),
    h("td", {}, findingControl(row)));
}

/** One sitting of looks as a summary row, with its single rows behind a button. */
function sittingRows(group, index) {
  const [first] = group;
  const last = group.at(-1);
  const singles = group.map((row) => rowOf(row, true));
  const ids = singles.map((tr, i) => { tr.id = `sitting-${index}-${i}`; return tr.id; }).join(" ");
  const toggle = h("button", { type: "button", class: "button secondary small", "aria-expanded": "false",
    "aria-controls": ids, text: tn("Show the %(n)s entry", "Show the %(n)s entries", group.length) });
  toggle.addEventListener("click", () => {
    const open = toggle.getAttribute("aria-expanded") !== "true";
    toggle.setAttribute("aria-expanded", String(open));
    toggle.textContent = open ? t("Hide the entries")
      : tn("Show the %(n)s entry", "Show the %(n)s entries", group.length);
    for (const tr of singles) tr.hidden = !open;
  });
  const actions = [...new Set(group.map((row) => row.action))];
  const summary = h("tr", { class: "audit-sitting", "data-sitting": group.length },
    h("td", {}, when(first.at), " – ", h("time", { datetime: isoTime(last.at), text: shortTime(last.at) })),
    person(first.actor_name, first.actor, first.role), worded(ROLES, first.role),
    h("td", {}, h("strong", { text: tn("looked at the case once", "looked at the case %(n)s times", group.length) }),
      " ", h("span", { class: "muted", text: actions.map((a) => ACTIONS[a]?.() ?? a).join(", ") })),
    worded(OUTCOMES, first.outcome), caseCell(first), h("td", { text: "" }), h("td", {}, toggle));
  return [summary, ...singles];
}

let shown = 0; // the latest search asked for: an earlier answer that arrives after it is dropped

async function show(path, { grouped = true } = {}) {
  const mine = ++shown;
  const { rows } = await api("GET", path);
  if (mine !== shown) return;
  const groups = grouped ? sittings(rows) : rows.map((row) => [row]);
  byId("audit-rows").replaceChildren(...groups.flatMap((group, i) => group.length > 1 ? sittingRows(group, i) : [rowOf(group[0])]));
  const sat = groups.filter((group) => group.length > 1).length;
  const together = tn("%(n)s sitting: one person's looks at one case shown together",
    "%(n)s sittings: one person's looks at one case shown together", sat);
  byId("results-summary").textContent = tn("%(n)s entry", "%(n)s entries", rows.length) + (sat ? ` · ${together}` : "");
}

async function offerNames() {
  const { staff, citizens } = await api("GET", "/api/audit/people");
  byId("staff-names").replaceChildren(...staff.map((p) => h("option", { value: p.name })));
  byId("citizen-names").replaceChildren(...citizens.map((p) => h("option", { value: p.name })));
}

async function renderFindings() {
  const { findings } = await api("GET", "/api/audit/findings");
  const list = byId("findings");
  list.replaceChildren(...findings.map((f) => h("li", { class: "device finding-item", "data-audit-id": f.audit_id },
    h("p", {}, h("strong", { text: VERDICTS[f.verdict]?.() || f.verdict }),
      " · ", t("Entry %(id)s", { id: f.audit_id }), " · ",
      h("time", { datetime: isoTime(f.created_at), text: fullTime(f.created_at) })),
    f.note ? h("p", { text: f.note }) : null)));
  if (!findings.length) list.append(h("li", { class: "empty", text: t("No findings yet.") }));
}

async function main() {
  await boot("setup-status", { keys: false }); // a log reviewer reads metadata only: no device keys, no key work
  if (config.denied) return;
  byId("audit-filter").addEventListener("submit", (event) => {
    event.preventDefault();
    guarded(() => show(`/api/audit?${query({ limit: 200 })}`));
  });
  byId("audit-sample").addEventListener("submit", (event) => {
    event.preventDefault();
    guarded(() => show(`/api/audit/sample?${query({ size: byId("sample-size").value })}`, { grouped: false }));
  });
  await Promise.all([show(`/api/audit?${query({ limit: 200 })}`), renderFindings(), offerNames()]);
}

main().catch((error) => alertError("review-error", error));
