// The caseworker's inbox: the unit's cases (assigned to me by default), unanswered and longest waiting
// first, with unread counts and waiting times; one case open beside the list to read and reply live.
import { announce, byId, h, icon, status } from "../dom.js";
import { duration, isoTime, shortDate, shortTime } from "../format.js";
import { t, tn } from "../i18n.js";
import { api } from "../api.js";
import { boot, config, explain } from "../app.js";
import { MAX_FOLLOWED } from "../live.js";
import { confirmAction } from "../confirm.js";
import { Conversation } from "../conversation.js";
import { AgencyPanel } from "../agency-panel.js";
import { showMeetings } from "../case-meetings.js";
import { showRepresentatives, wireRepresentatives } from "../representatives-panel.js";

const REFRESH_MS = 5 * 60 * 1000; // the list is live; a full reload now and then corrects any drift
const TICK_MS = 60 * 1000; // waiting times move on

let app;
let cases = [];
let open = null; // {id, view, conversation}
let agency = null; // Myndighetspost (AgencyPanel), for staff of a unit
const filters = { text: "", state: "all", scope: "mine" };

function needsAnswer(c) {
  return Boolean(c.waiting_since) && !c.handled;
}

/** Work other than a message waits in the case (chat/pending.py): an open objection, a new application,
 * an answered request for completion or kommunicering, an appeal, or a date to answer by that is near or past. */
function hasWork(c) {
  const p = c.pending || {};
  return Boolean(p.objections_open || p.applications_new || p.completions_answered || p.communications_answered
    || p.appeals_waiting || p.deadline_near || p.comments_due_near);
}

function compare(a, b) {
  if (needsAnswer(a) !== needsAnswer(b)) return needsAnswer(a) ? -1 : 1;
  if (needsAnswer(a)) return a.waiting_since - b.waiting_since; // longest waiting first
  if (hasWork(a) !== hasWork(b)) return hasWork(a) ? -1 : 1;
  return (b.last_message_at || 0) - (a.last_message_at || 0) || a.id.localeCompare(b.id);
}

function fold(text) {
  return String(text || "").normalize("NFD").replace(/\p{M}/gu, "").toLowerCase();
}

function stateWords(c) {
  if (needsAnswer(c)) return t("Unanswered, waited %(time)s", { time: duration((Date.now() - c.waiting_since) / 1000) });
  // Not "answered" while the citizen's objection to the documentation waits for the unit's answer.
  if (c.pending?.objections_open) return t("Objection waits for an answer");
  if (c.handled) return t("Handled");
  if (!c.last_message_at) return t("No messages yet");
  return t("Answered");
}

/** Mine: assigned to me, or to someone I stand in for (vikarie) now. */
function isMine(c) {
  const me = app.me.user.id;
  return c.assigned_to === me || c.answering?.user === me;
}

/** Who handles the case, with the substitute (vikarie) and until when, if one stands in now. */
function handledBy(c) {
  const sub = c.answering?.substitute_for ? c.answering : null;
  if (sub && sub.user === app.me.user.id) {
    return t("You stand in for %(name)s until and including %(until)s", { name: c.assigned_name, until: shortDate(sub.until - 1) });
  }
  if (sub) {
    return t("Assigned to %(name)s; %(substitute)s stands in until and including %(until)s",
      { name: c.assigned_name, substitute: sub.name, until: shortDate(sub.until - 1) });
  }
  return c.assigned_name ? t("Assigned to %(name)s", { name: c.assigned_name }) : "";
}

function shown(c) {
  if (filters.scope === "mine" && !isMine(c)) return false;
  if (filters.state === "unanswered" && !needsAnswer(c)) return false;
  if (filters.state === "work" && !needsAnswer(c) && !hasWork(c)) return false;
  if (filters.state === "unread" && !c.unread) return false;
  if (filters.state === "handled" && !c.handled) return false;
  const wanted = fold(filters.text).trim();
  if (!wanted) return true;
  const haystack = fold([c.citizen_name, c.title, c.id, c.assigned_name, c.unit_name, stateWords(c)].join(" "));
  return wanted.split(/\s+/).every((word) => haystack.includes(word));
}

function caseItem(c) {
  const isOpen = open?.id === c.id;
  const kind = needsAnswer(c) ? "unanswered" : c.pending?.objections_open ? "objection" : c.handled ? "handled"
    : c.last_message_at ? "answered" : "quiet";
  const link = h("a", {
    href: `/inbox/${encodeURIComponent(c.id)}`, class: "case-link", "data-case-id": c.id,
    "aria-current": isOpen ? "true" : null,
  },
  h("span", { class: "case-row" },
    h("span", { class: "case-name", text: c.citizen_name || c.citizen }),
    c.last_message_at ? h("time", { datetime: isoTime(c.last_message_at), text: shortTime(c.last_message_at) }) : null),
  h("span", { class: "case-title", text: `${c.title} · ${c.id}` }),
  c.assigned_to !== app.me.user.id && c.assigned_name ? h("span", { class: "case-meta", text: handledBy(c) }) : null,
  h("span", { class: "case-row" },
    h("span", { class: `badge state-${kind}` }, ["quiet", "objection"].includes(kind) ? null : icon(`case-${kind}`),
      h("span", { text: stateWords(c) })),
    c.unread ? h("span", { class: "badge unread", text: tn("%(n)s unread", "%(n)s unread", c.unread) }) : null,
    c.protected_identity ? h("span", { class: "badge protected", text: t("Protected identity") }) : null,
    ...workBadges(c, kind)));
  link.addEventListener("click", (event) => {
    if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    navigate(c.id);
  });
  return h("li", { class: `case-item ${kind}${isOpen ? " is-open" : ""}` }, link);
}

/** A badge for each kind of work that waits besides messages (chat/pending.py), in words. */
function workBadges(c, kind) {
  const p = c.pending || {};
  const badges = [];
  if (p.objections_open && kind !== "objection") badges.push(["objection", t("Objection waits for an answer")]);
  if (p.applications_new) badges.push(["application", tn("New application", "%(n)s new applications", p.applications_new)]);
  if (p.completions_answered) badges.push(["application", t("Completion answered")]);
  if (p.communications_answered) badges.push(["application", t("Comments on the decision basis")]);
  if (p.appeals_waiting) badges.push(["appeal", t("Appeal waiting")]);
  if (p.comments_due_near && p.comments_due_at) {
    badges.push(["deadline", p.comments_due_at < Date.now() ? t("Time for comments ended %(date)s", { date: shortDate(p.comments_due_at) })
      : t("Comments due %(date)s", { date: shortDate(p.comments_due_at) })]);
  }
  if (p.deadline_near && p.deadline_at) {
    badges.push(["deadline", p.deadline_at < Date.now() ? t("Completion was due %(date)s", { date: shortDate(p.deadline_at) })
      : t("Completion due %(date)s", { date: shortDate(p.deadline_at) })]);
  }
  return badges.map(([name, text]) => h("span", { class: `badge ${name}`, text }));
}

/** A `pending` frame: the case's waiting work changed; its metadata again (the list's row only). */
async function refreshPending(caseId) {
  const c = cases.find((x) => x.id === caseId);
  if (!c) return;
  try {
    const { case: view } = await api("GET", `/api/cases/${encodeURIComponent(caseId)}`);
    c.pending = view.pending;
    renderList();
  } catch (error) {
    // the row shows it after the next full reload
  }
}

/** The list shows the cases or the agency mail (Myndighetspost), each in its own place. */
function showInList(which) {
  const agencyShown = which === "agency";
  byId("agency-mail").hidden = !agencyShown;
  byId("cases-pane").hidden = agencyShown;
  byId("show-agency").setAttribute("aria-pressed", String(agencyShown));
  byId("show-cases").setAttribute("aria-pressed", String(!agencyShown));
}

function renderList() {
  const list = byId("case-list");
  list.removeAttribute("aria-busy");
  const focused = document.activeElement?.closest?.("[data-case-id]")?.dataset.caseId;
  const visible = cases.filter(shown).sort(compare);
  list.replaceChildren(...visible.map(caseItem));
  if (!visible.length) {
    const mineOnly = filters.scope === "mine" && !cases.some((c) => c.assigned_to === app.me.user.id);
    list.append(h("li", {
      class: "empty",
      text: mineOnly ? t("No cases are assigned to you. Choose “Whole unit” to see the unit's cases.") : t("No cases match."),
    }));
  }
  if (focused) list.querySelector(`[data-case-id="${CSS.escape(focused)}"]`)?.focus();
  const waiting = visible.filter(needsAnswer).length;
  byId("list-summary").textContent = [
    tn("%(n)s case", "%(n)s cases", visible.length), tn("%(n)s unanswered", "%(n)s unanswered", waiting),
  ].join(", ");
}

/** A message in a case (pushed, or sent from here): move the case's waiting time, unread count and order. */
function activity(caseId, item) {
  const c = cases.find((x) => x.id === caseId);
  if (!c) return;
  c.last_message_at = Math.max(c.last_message_at || 0, item.storedAt || item.stored_at || Date.now());
  if (item.sender === c.citizen) {
    c.waiting_since = c.waiting_since || item.storedAt || item.stored_at;
    c.handled = false;
    if (open?.id !== caseId || document.visibilityState !== "visible") c.unread = (c.unread || 0) + 1;
  } else {
    c.waiting_since = null;
  }
  if (open?.id === caseId) renderHandled(c);
  renderList();
}

function renderHandled(c) {
  const button = byId("handled");
  button.textContent = c.handled ? t("Mark as not handled") : t("Mark as handled");
  button.dataset.handled = c.handled ? "true" : "false";
}

function caseMeta(view) {
  const parts = [view.id, view.unit_name];
  if (view.protected_identity) parts.push(t("Protected identity"));
  parts.push(handledBy(view));
  parts.push(view.status === "open" ? t("Open") : t("Closed"));
  return parts.filter(Boolean).join(" · ");
}

// How a citizen's device is shown by what proves it is theirs (docs/protocol.md section 21).
const PROOF_WORDS = {
  signin: () => t("Proven by the person's e-identification"),
  link: () => t("Linked from another of the person's devices"),
};

/** The citizen's devices, each with what proves it is theirs; a device nothing proves is flagged. */
async function citizenDevices(view) {
  const list = byId("citizen-devices");
  const warning = byId("unproven-devices");
  warning.hidden = true;
  let verdict = null;
  try {
    verdict = await app.session.citizenDevices.verdict(view.citizen, view.citizen_devices || []);
  } catch {
    verdict = null; // the providers could not be asked: every device is shown as not proven
  }
  if (open?.view !== view) return;
  const devices = view.citizen_devices || [];
  list.replaceChildren(...devices.map((d) => {
    const how = verdict?.proven.get(d.id);
    return h("li", {},
      h("span", { class: "device-label", text: d.label }), " ",
      h("span", { class: "fingerprint", text: d.fingerprint }), " ",
      h("span", { class: how ? "muted" : "error", text: how ? PROOF_WORDS[how]()
        : t("Not proven to be the person's: it is given no keys") }));
  }));
  if (!list.children.length) list.append(h("li", { text: t("The citizen has no device yet.") }));
  const unproven = devices.filter((d) => !verdict?.proven.has(d.id)).length;
  if (unproven) {
    warning.textContent = t("Devices of the citizen that are not proven to be theirs: %(count)s. They are given no keys; someone else may have added them.", { count: unproven });
    warning.hidden = false;
  }
}

async function openCase(caseId, { focus = true } = {}) {
  if (open?.id === caseId) return;
  closeCase();
  document.querySelector(".inbox").classList.add("has-case");
  byId("no-case").hidden = true;
  byId("case-view").hidden = false;
  byId("conversation-title").textContent = "";
  open = { id: caseId, view: null, conversation: null };
  renderList();
  try {
    const view = await app.session.caseView(caseId, { refresh: true });
    if (open?.id !== caseId) return;
    open.view = view;
    byId("conversation-title").textContent = `${view.citizen_name || view.citizen} – ${view.title}`;
    document.title = `${view.citizen_name || view.citizen} – ${t("Inbox")} – Samtal`;
    byId("case-meta").textContent = caseMeta(view);
    byId("case-applications").href = `/applications?case=${encodeURIComponent(caseId)}`;
    byId("case-journal").href = `/inbox/${encodeURIComponent(caseId)}/documentation`;
    const c = cases.find((x) => x.id === caseId) || view;
    renderHandled(c);
    renderProtected(view);
    citizenDevices(view).catch(() => {});
    showMeetings(byId("case-meetings"), byId("case-meeting-list"), byId("case-book"), caseId);
    showRepresentatives(caseId);
    if (focus) byId("conversation-title").focus();
    const conversation = new Conversation({ ...app, config }, view, (item) => activity(caseId, item));
    open.conversation = conversation;
    await conversation.start();
    const listed = cases.find((x) => x.id === caseId);
    if (listed) {
      listed.unread = 0;
      renderList();
    }
  } catch (error) {
    status("conversation-status", explain(error), "error");
  }
}

function closeCase() {
  agency?.close();
  open?.conversation?.stop();
  open = null;
  document.querySelector(".inbox").classList.remove("has-case");
  byId("case-view").hidden = true;
  byId("no-case").hidden = false;
  document.title = `${t("Inbox")} – Samtal`;
}

function navigate(caseId) {
  history.pushState({ caseId }, "", caseId ? `/inbox/${encodeURIComponent(caseId)}` : "/inbox");
  if (caseId) openCase(caseId);
  else {
    closeCase();
    renderList();
  }
}

function caseIdFromPath() {
  const match = location.pathname.match(/^\/inbox\/([A-Za-z0-9_-]{1,64})$/);
  return match ? match[1] : null;
}

/** A supervisor flags the citizen's protected identity (skyddade personuppgifter) here, or clears it. */
function renderProtected(view) {
  const button = byId("protected");
  button.hidden = !["supervisor", "unit_admin"].includes(app.me.user.role);
  button.setAttribute("aria-pressed", String(Boolean(view.protected_identity)));
}

async function toggleProtected() {
  const view = open?.view;
  if (!view) return;
  const protectedNow = !view.protected_identity;
  const asked = protectedNow
    ? { heading: t("Mark a protected identity?"), action: t("Mark protected identity"),
      text: t("The unit's staff will see the marking on every case of %(name)s, and video calls go through the relay only (without one, meet by phone or at the office).", { name: view.citizen_name || view.title }) }
    : { heading: t("Remove the protected identity marking?"), action: t("Remove the marking"), danger: true,
      text: t("Only remove it when the protected identity has ended. Video calls will then connect directly again.") };
  if (!await confirmAction(asked)) return;
  try {
    await api("PUT", `/api/cases/${encodeURIComponent(view.id)}/protected-identity`, { protected: protectedNow });
    view.protected_identity = protectedNow;
    const listed = cases.find((x) => x.id === view.id);
    if (listed) listed.protected_identity = protectedNow;
    renderProtected(view);
    byId("case-meta").textContent = caseMeta(view);
    renderList();
    announce(protectedNow ? t("The citizen is marked as having a protected identity.")
      : t("The protected identity marking is removed."));
  } catch (error) {
    status("conversation-status", explain(error), "error");
  }
}

async function toggleHandled() {
  const c = cases.find((x) => x.id === open?.id);
  if (!c) return;
  const handled = !c.handled;
  try {
    await api("POST", `/api/cases/${encodeURIComponent(c.id)}/handled`, { handled });
    c.handled = handled;
    renderHandled(c);
    renderList();
    announce(handled ? t("The conversation is marked as handled.") : t("The conversation is marked as not handled."));
  } catch (error) {
    status("conversation-status", explain(error), "error");
  }
}

async function reload() {
  cases = await app.session.cases();
  for (const c of cases) if (open?.id === c.id) c.unread = 0;
  renderList();
  // Live updates for my cases first, then the unit's, the ones needing an answer first; within the limit.
  const mine = (c) => (c.assigned_to === app.me.user.id ? 0 : 1);
  const followed = [...cases].sort((a, b) => mine(a) - mine(b) || compare(a, b)).slice(0, MAX_FOLLOWED);
  for (const c of followed) app.live.follow(c.id, Math.max(c.last_seq, app.live.cursors.get(c.id) || 0));
}

function wireFilters() {
  const text = byId("filter-text");
  const state = byId("filter-state");
  const scope = byId("filter-scope");
  filters.text = text.value;
  filters.state = state.value;
  filters.scope = scope.value;
  text.addEventListener("input", () => { filters.text = text.value; renderList(); });
  state.addEventListener("change", () => { filters.state = state.value; renderList(); });
  scope.addEventListener("change", () => { filters.scope = scope.value; renderList(); });
  byId("filters").addEventListener("submit", (event) => event.preventDefault());
}

async function main() {
  app = await boot();
  wireFilters();
  if (app.me.user.unit_id) {
    // A document opened beside the list takes the place of an open case (and leaves its address).
    agency = new AgencyPanel(app.session, app.me.user.unit_id, () => {
      if (open) navigate(null);
    });
    agency.start();
  }
  byId("show-cases").addEventListener("click", () => showInList("cases"));
  byId("show-agency").addEventListener("click", () => showInList("agency"));
  byId("handled").addEventListener("click", toggleHandled);
  byId("protected").addEventListener("click", toggleProtected);
  wireRepresentatives();
  byId("case-view").querySelector(".back").addEventListener("click", (event) => {
    event.preventDefault();
    const id = open?.id;
    navigate(null);
    if (id) document.querySelector(`[data-case-id="${CSS.escape(id)}"]`)?.focus();
  });
  app.live.addEventListener("msg", (event) => {
    const frame = event.detail;
    if (open?.id === frame.case_id) return; // the open conversation reports it, once decrypted
    app.live.advance(frame.case_id, frame.seq);
    activity(frame.case_id, frame);
  });
  addEventListener("popstate", () => {
    const id = caseIdFromPath();
    if (id) openCase(id);
    else {
      closeCase();
      renderList();
    }
  });
  app.live.addEventListener("pending", (event) => refreshPending(event.detail.case_id));
  await reload();
  setInterval(renderList, TICK_MS);
  setInterval(() => reload().catch(() => {}), REFRESH_MS);
  const initial = caseIdFromPath();
  if (initial) await openCase(initial, { focus: false });
}

main().catch((error) => status("setup-status", explain(error), "error"));
