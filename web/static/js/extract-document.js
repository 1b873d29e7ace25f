// Registerutdrag (docs/extract.md): the server's part (metadata and ciphertext, POST /api/me/extract) opened on
// this device with the code that shows the conversation, the documentation and the applications, made into a
// readable document (HTML, printable) and a machine-readable JSON file. Both are made here and never sent.
import { api } from "./api.js";
import { h } from "./dom.js";
import { fileSize, fullTime } from "./format.js";
import { t } from "./i18n.js";
import { JournalClient } from "./journal.js";
import { automated } from "./automated.js";
import { caseParts, documentOf, openApplications, serialise, when } from "./journal-export.js";

const ROLE_NAMES = () => ({ caseworker: t("Caseworker"), supervisor: t("Supervisor"), unit_admin: t("Unit admin"),
  log_reviewer: t("Log reviewer") });

/** The citizen's own request: the server's part for every unit, opened here (openHeld). */
export async function openExtract(app) {
  return openHeld(app, await api("POST", "/api/me/extract", {}));
}

/** The server's part, each case's messages opened from the extract's own ciphertext, its documentation and
 * applications opened as their pages open them; for a unit's part made by staff, only the entries the server
 * put in it (the published ones: what the person may see). Returns {server, cases: [{server, journal,
 * messages, applications}]} */
export async function openHeld(app, server) {
  const journals = new JournalClient(app.session, app.live);
  const cases = [];
  for (const held of server.cases) {
    const journal = await journals.load(held.id);
    const shown = new Set(held.journal.entries.map((e) => e.id));
    journal.entries = journal.entries.filter((e) => shown.has(e.id));
    const senders = new Set(held.messages.map((m) => m.sender_device));
    await Promise.all([...senders].map((d) => app.session.deviceKeys(d).catch(() => null)));
    const messages = [];
    for (const item of held.messages) messages.push(await app.session.openSafely(journal.caseView, item));
    cases.push({ server: held, journal, messages, applications: await openApplications(app.session, held.id) });
  }
  return { server, cases };
}

/** The JSON: the server's part as it came, with each record's opened content beside its ciphertext. */
export function extractJson({ server, cases }) {
  const content = (opened) => (opened?.body ? opened.body : { not_opened: opened?.error || "no_key" });
  return JSON.stringify({
    ...server,
    made_on_device_at: Date.now(),
    cases: cases.map(({ server: held, journal, messages, applications }) => {
      const bySeq = new Map(messages.map((m) => [m.seq, m]));
      const views = new Map(applications.views.map(([a, view]) => [a.id, view]));
      return {
        ...held,
        messages: held.messages.map((m) => {
          const opened = bySeq.get(m.seq);
          return { ...m, content: opened?.body ? strip(opened.body) : { not_opened: opened?.error || "missing" } };
        }),
        applications: held.applications.map((a) => ({ ...a,
          records: a.records.map((r) => {
            const opened = views.get(a.id)?.opened.get(r.id);
            return { ...r, content: opened?.body ? strip(opened.body) : content(opened) };
          }) })),
        journal: {
          entries: held.journal.entries.map((e) => ({ ...e,
            versions: e.versions.map((v) => ({ ...v, content: strip(content(journal.opened.get(v.record_id))) })) })),
          remarks: held.journal.remarks.map((r) => ({ ...r, content: strip(content(journal.opened.get(r.id))) })),
        },
      };
    }),
  }, null, 2);
}

/** A body without the keys of the files it names (messages, answers and attachments carry them): they open
 * the ciphertext on the server, no content of the person's. */
function strip(value) {
  if (Array.isArray(value)) return value.map(strip);
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).filter(([k]) => k !== "key" && k !== "nonce")
      .map(([k, v]) => [k, strip(v)]));
  }
  return value;
}

function list(items, empty, item) {
  return items.length ? h("ul", {}, ...items.map((x) => h("li", {}, ...item(x)))) : h("p", { class: "muted", text: empty });
}

/** One level down: a case's parts are h2 in a file of their own, h3 under the case's heading here. */
function demote(nodes) {
  const box = h("div", {}, ...nodes);
  for (const level of [5, 4, 3, 2]) {
    for (const el of box.querySelectorAll(`h${level}`)) {
      const lower = h(`h${level + 1}`, {}, ...el.childNodes);
      for (const { name, value } of el.attributes) lower.setAttribute(name, value);
      el.replaceWith(lower);
    }
  }
  return [...box.childNodes];
}

const BOOKING_STATUS = () => ({ booked: t("Booked"), cancelled: t("Cancelled"), rescheduled: t("Moved to another time") });

function bookingsPart(bookings) {
  const names = BOOKING_STATUS();
  return [h("h3", { text: t("Bookings") }), list(bookings, t("No bookings."), (b) => [
    when(b.starts_at), " ", t("with %(name)s", { name: b.with_name || "–" }), ". ",
    t("Status: %(status)s", { status: names[b.status] || b.status }), " ",
    b.on_behalf ? t("(booked by %(name)s for you)", { name: b.booked_by_name || "–" }) : ""])];
}

function accountPart(server) {
  const account = server.account || {};
  const prefs = account.notifications || {};
  return [
    h("h2", { text: t("Your account") }),
    h("dl", {},
      h("dt", { text: t("Contact e-mail") }), h("dd", { text: account.contact_email || t("None") }),
      h("dt", { text: t("E-mail when something new waits") }), h("dd", { text: prefs.email_opt_in ? t("Yes") : t("No") }),
      h("dt", { text: t("Language") }), h("dd", { text: prefs.language || t("Not chosen") })),
    h("h2", { text: t("Your devices") }),
    list(server.devices || [], t("No devices."), (d) => [h("strong", { text: d.label || d.id }), " ",
      t("added %(time)s", { time: fullTime(d.created_at) }),
      d.revoked_at ? ", " : "", d.revoked_at ? t("removed %(time)s", { time: fullTime(d.revoked_at) }) : "",
      d.proven_by_e_identification ? ", " : "", d.proven_by_e_identification ? t("proven by e-identification") : ""])];
}

function accessPart(rows) {
  const roles = ROLE_NAMES();
  return [
    h("h2", { text: t("Who has read or changed your case data") }),
    h("p", { class: "muted", text: t("From the audit log: every time someone at a unit opened or changed something in your cases.") }),
    rows.length ? h("table", {},
      h("thead", {}, h("tr", {}, ...[t("When"), t("Who"), t("Role"), t("Case"), t("What")].map((x) => h("th", { scope: "col", text: x })))),
      h("tbody", {}, ...rows.map((r) => h("tr", {},
        h("td", {}, when(r.at)), h("td", { text: r.by_name || r.by || "–" }), h("td", { text: roles[r.role] || r.role || "" }),
        h("td", { text: r.case_id || "" }), h("td", { text: r.action })))))
      : h("p", { class: "muted", text: t("Nobody at the units has opened your case data.") })];
}

const MANDATE_KINDS = () => ({ ombud: t("Representative (ombud)"), god_man: t("Appointed guardian (god man)"),
  forvaltare: t("Administrator (förvaltare)"), guardian: t("Custodian (vårdnadshavare)") });

function representativesPart(mandates) {
  const kinds = MANDATE_KINDS();
  return [h("h3", { text: t("Who may act for you") }), list(mandates, t("Nobody acts for you in this case."), (m) => [
    h("strong", { text: m.holder_name || m.holder }), ", ", kinds[m.kind] || m.kind, ", ",
    t("from %(start)s to %(end)s", { start: fullTime(m.starts_at), end: fullTime(m.ends_at) }),
    m.ended_at ? ", " : "", m.ended_at ? t("ended %(time)s", { time: fullTime(m.ended_at) }) : ""])];
}

/** The document: who, the account, every case with what this device opened, files, who read, earlier requests.
 * A unit's part (made by its staff at the desk) holds the unit's cases and what was read of them only. */
export async function extractDocument(app, { server, cases }) {
  const own = server.scope !== "unit";
  const title = t("Register extract from Samtal");
  const body = h("body", {},
    h("h1", { text: title }),
    h("p", {}, h("strong", { text: server.person.name }), ". ",
      t("Made %(time)s on your device.", { time: fullTime(Date.now()) }), " ",
      t("You asked %(asked)s; the answer is due by %(due)s (GDPR art. 12.3).", {
        asked: fullTime(server.request.requested_at), due: fullTime(server.request.due_at) }), " ",
      automated(t("The date is computed by Samtal: one month after the request."))),
    h("p", { class: "muted", text: own
      ? t("Everything Samtal holds about you, in every unit (GDPR art. 15). The content was opened on your device; keep this copy safe, it is not encrypted.")
      : t("One unit's part of a register extract (GDPR art. 15): the unit's cases only. What other units hold comes from them.") }),
    ...(own ? accountPart(server) : []));
  for (const c of cases) {
    const held = c.server;
    body.append(h("section", { class: "case" },
      h("h2", { text: `${held.title} (${held.id})` }),
      h("p", { class: "muted" }, [held.unit_name, t("Status: %(status)s", { status: held.status }),
        held.caseworker ? t("Caseworker: %(name)s", { name: held.caseworker }) : null].filter(Boolean).join(" · ")),
      ...demote(await caseParts(app, c.journal, { messages: c.messages, applications: c.applications })),
      ...bookingsPart(held.bookings), ...representativesPart(held.representatives || [])));
  }
  body.append(
    h("h2", { text: t("Attached files") }),
    list(server.attachments, t("No files."), (a) => [`${a.case_id}: `, fileSize(a.size), ", ",
      t("uploaded %(time)s by %(name)s", { time: fullTime(a.uploaded_at), name: a.uploaded_by_name || "–" })]),
    ...accessPart(server.staff_access));
  if (own) {
    body.append(h("h2", { text: t("Your requests for an extract") }),
      list(server.extract_requests || [], t("None before this one."), (r) => [
        t("Asked %(time)s", { time: fullTime(r.requested_at) }), ", ",
        r.delivered_at ? t("answered %(time)s", { time: fullTime(r.delivered_at) }) : t("due by %(time)s", { time: fullTime(r.due_at) })]));
  }
  return documentOf(title, body);
}

export { serialise };
