// The caseworker's Dokumentation of one case: the entries newest first with their status, disputes beside
// the entry with "Svara", the citizen's comments and supplements; one editor for a new entry, a draft, or a
// correction (rättelse); a draft shared live with the citizen as it is typed; publishing a signed entry.
// `?from=SEQ` (Journalför in the conversation) starts a draft from that message.
import { announce, byId, fieldError, h, status } from "../dom.js";
import { fullTime, senderName } from "../format.js";
import { t, tn } from "../i18n.js";
import { api } from "../api.js";
import { boot, config, explain } from "../app.js";
import { confirmAction } from "../confirm.js";
import { newRecordId } from "../crypto/index.js";
import { JournalClient, latest } from "../journal.js";
import { entryArticle, journalOpener, redraw, remarkItem } from "../journal-view.js";

const LIVE_DEBOUNCE_MS = 300;
const caseId = config.case_id;
const caseHref = `/inbox/${encodeURIComponent(caseId)}`;

let app;
let client;
let view = null;
let withheld = new Map(); // entry id -> its withholding from the case's guardians (docs/representatives.md)
let editor = { mode: "new", entryId: null, entry: null, source: null };
const sharing = { entryId: null, rev: 0, timer: null };
// A draft shared live is saved as it is typed (what the citizen saw reaches the record), and a share that
// ended because the page went away (not by "Sluta dela") resumes at "Fortsätt skriva", on this device.
const LIVE_SAVE_MS = 3000;
const sharedKey = (entryId) => `samtal.live-share.${entryId}`;


// -- the list ----------------------------------------------------------------------------------------------
function respondForm(dispute) {
  const id = `respond-${dispute.id}`;
  const form = h("form", { class: "respond-form", novalidate: true },
    h("label", { for: id, text: t("Your answer to the citizen") }),
    h("p", { id: `${id}-error`, class: "field-error", hidden: true }),
    h("textarea", { id, rows: 3, maxlength: 4000, "aria-describedby": `${id}-error` }),
    h("button", { type: "submit", class: "button primary", text: t("Send the answer") }));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = byId(id).value.trim();
    if (fieldError(id, text ? "" : t("Write an answer first."))) return byId(id).focus();
    act(() => client.respond(view, dispute.id, text), t("Your answer is sent to the citizen."), dispute.entry_id);
  });
  return form;
}

/** Withhold a published entry from the case's guardians after a harm assessment, with the reason (rule 5). */
function withholdControls(entry) {
  const held = withheld.get(entry.id);
  if (held) {
    return [h("p", { class: "muted", text: t("Withheld from the guardians: %(reason)s", { reason: held.reason }) }),
      h("button", { type: "button", class: "button secondary", text: t("Show to the guardians again"),
        onclick: () => act(() => api("PUT", `/api/journal/${encodeURIComponent(entry.id)}/withheld`, { withheld: false }),
          t("The guardians can read the entry again."), entry.id) })];
  }
  const id = `withhold-${entry.id}`;
  const form = h("form", { class: "respond-form", novalidate: true },
    h("label", { for: id, text: t("Withhold from the guardians: the harm assessment's reason") }),
    h("p", { id: `${id}-error`, class: "field-error", hidden: true }),
    h("textarea", { id, rows: 2, maxlength: 500, "aria-describedby": `${id}-error` }),
    h("button", { type: "submit", class: "button secondary", text: t("Withhold from the guardians") }));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const reason = byId(id).value.trim();
    if (fieldError(id, reason ? "" : t("Write the reason first."))) return byId(id).focus();
    act(() => api("PUT", `/api/journal/${encodeURIComponent(entry.id)}/withheld`, { withheld: true, reason }),
      t("The entry is withheld from the guardians."), entry.id);
  });
  return [form];
}

function hasGuardians() {
  return (view.caseView.representatives || []).some((r) => r.kind === "guardian" && r.in_force);
}

function controlsOf(entry) {
  const mine = entry.author === app.me.user.id;
  const controls = [];
  if (entry.status === "draft" && mine) {
    controls.push(h("button", { type: "button", class: "button secondary", text: t("Continue writing"),
      onclick: () => startEditing("draft", entry) }));
  }
  if (entry.status === "signed") {
    controls.push(h("button", { type: "button", class: "button secondary", text: t("Correct"),
      onclick: () => startEditing("correct", entry) }));
    if (!entry.published_at) {
      controls.push(h("button", { type: "button", class: "button secondary", text: t("Publish to the citizen"),
        onclick: () => act(() => client.publish(view, entry), t("The entry is visible to the citizen."), entry.id) }));
    } else if (hasGuardians() || withheld.has(entry.id)) {
      controls.push(...withholdControls(entry));
    }
  }
  return controls;
}

function renderEntries() {
  const opener = journalOpener(client, view);
  const entries = [...view.entries].sort((a, b) => b.created_at - a.created_at);
  redraw(byId("entries"), entries.map((entry) => h("li", {}, entryArticle(view, entry, {
    isStaff: true, opener, controls: controlsOf(entry), respond: respondForm, caseHref }))));
  if (!entries.length) byId("entries").append(h("li", { class: "empty", text: t("No entries yet.") }));
  const open = entries.reduce((n, e) => n + (e.open_disputes || 0), 0);
  byId("entries-summary").textContent = [tn("%(n)s journal entry", "%(n)s journal entries", entries.length),
    tn("%(n)s open dispute", "%(n)s open disputes", open)].join(", ");
  const loose = view.remarks.filter((r) => r.kind === "supplement" && !r.entry_id);
  byId("supplements").replaceChildren(...loose.map((r) => h("li", {}, remarkItem(view, r, {
    heading: t("Supplement from the citizen"), opener }))));
  if (!loose.length) byId("supplements").append(h("li", { class: "empty", text: t("No supplements.") }));
}

async function reload() {
  view = await client.load(caseId);
  try {  // the staff who may write here see what is withheld from guardians; others see no such controls
    const answer = await api("GET", `/api/cases/${encodeURIComponent(caseId)}/withheld`);
    withheld = new Map(answer.withheld.map((w) => [w.entry_id, w]));
  } catch {
    withheld = new Map();
  }
  const c = view.caseView;
  byId("journal-case").textContent = [c.citizen_name || c.citizen, c.title, c.id].filter(Boolean).join(" · ");
  document.title = `${c.citizen_name || c.citizen} – ${t("Documentation")} – Samtal`;
  renderEntries();
  const open = editor.entryId && view.entries.find((e) => e.id === editor.entryId);
  if (editor.mode !== "new" && !open) resetEditor(); // deleted or signed elsewhere
}

// What the citizen did, said once to screen reader users when the page has drawn it.
const CITIZEN_ACTS = {
  comment: () => t("The citizen commented on the draft."), dispute: () => t("The citizen marked an entry as incorrect."),
  supplement: () => t("The citizen sent a supplement."),
};

let reloading = null;
function reloadSoon(what = null) {
  clearTimeout(reloading);
  reloading = setTimeout(() => reload().then(() => {
    if (CITIZEN_ACTS[what]) announce(CITIZEN_ACTS[what]());
  }).catch((error) => status("journal-status", explain(error), "error")), 150);
}

// -- the editor --------------------------------------------------------------------------------------------
function fields() {
  return { title: byId("entry-title").value.trim(), text: byId("entry-text").value.trim(),
    reason: editor.mode === "correct" ? byId("entry-reason").value.trim() : "", source: editor.source };
}

/** The error summary: each problem a link to its field; focus goes to the summary. */
function validate() {
  const { title, text } = fields();
  const problems = [["entry-title", title ? "" : t("Write a heading.")], ["entry-text", text ? "" : t("Write the entry.")]];
  const list = byId("editor-error-list");
  list.replaceChildren();
  for (const [id, words] of problems) {
    if (!fieldError(id, words)) continue;
    list.append(h("li", {}, h("a", { href: `#${id}`, text: words, onclick: (event) => {
      event.preventDefault();
      byId(id).focus();
    } })));
  }
  const summary = byId("editor-errors");
  summary.hidden = !list.children.length;
  if (!summary.hidden) summary.focus();
  return summary.hidden;
}

function setMode(mode, entry = null) {
  editor = { mode, entryId: entry?.id || null, entry, source: mode === "new" ? editor.source : null };
  const body = entry ? latest(view, entry).body : null;
  if (mode !== "new") editor.source = body?.source || null;
  byId("editor-heading").textContent = {
    new: t("New entry"), draft: t("Draft: %(title)s", { title: body?.title || "" }),
    correct: t("Correction of: %(title)s", { title: body?.title || "" }),
  }[mode];
  byId("reason-field").hidden = mode !== "correct";
  byId("visible-field").hidden = mode === "correct";
  byId("entry-visible-note").hidden = mode === "correct";
  byId("save-draft").hidden = mode === "correct";
  byId("share-live").hidden = mode === "correct";
  byId("delete-draft").hidden = mode !== "draft";
  byId("editor-cancel").hidden = mode === "new";
  byId("sign").textContent = mode === "correct" ? t("Sign the correction") : t("Sign");
  byId("editor-source").hidden = !editor.source;
}

function startEditing(mode, entry) {
  if (sharing.entryId && sharing.entryId !== entry.id) stopSharing();
  setMode(mode, entry);
  const body = latest(view, entry).body || { title: "", text: "" };
  byId("entry-title").value = body.title;
  byId("entry-text").value = body.text;
  byId("entry-reason").value = "";
  byId("entry-visible").checked = false;
  byId("editor-heading").focus();
  if (mode === "draft" && !sharing.entryId && localStorage.getItem(sharedKey(entry.id))) startSharing();
}

function resetEditor() {
  if (sharing.entryId) stopSharing();
  editor.source = null;
  setMode("new");
  for (const id of ["entry-title", "entry-text", "entry-reason"]) {
    byId(id).value = "";
    fieldError(id, "");
  }
  byId("entry-visible").checked = false;
  byId("editor-errors").hidden = true;
}

/** Run one step, tell the result in words (status and screen reader), reload, and put focus on the entry. */
async function act(work, done, focusEntry = null) {
  status("journal-status", t("Encrypting and sending…"));
  try {
    const result = await work();
    status("journal-status", done);
    announce(done);
    await reload();
    const id = focusEntry || result?.entry_id || result?.id;
    const heading = id && byId(`entry-${id}`);
    if (heading) heading.focus();
    return true;
  } catch (error) {
    status("journal-status", explain(error), "error");
    return false;
  }
}

/** The draft on the server, saved now (a new one is made first): its entry id. */
async function saveDraft() {
  if (editor.mode === "new") {
    const entryId = newRecordId();
    const entry = await client.create(view, entryId, fields());
    await reload();
    setMode("draft", view.entries.find((e) => e.id === entryId) || { ...entry, id: entryId });
    return entryId;
  }
  await client.saveDraft(view, editor.entryId, fields());
  return editor.entryId;
}

async function onSaveDraft() {
  if (!validate()) return;
  status("journal-status", t("Encrypting and sending…"));
  try {
    await saveDraft();
    status("journal-status", t("The draft is saved. Only the unit can read it."));
    announce(t("The draft is saved."));
  } catch (error) {
    status("journal-status", explain(error), "error");
  }
}

async function onSign(event) {
  event.preventDefault();
  if (!validate()) return;
  const publish = editor.mode !== "correct" && byId("entry-visible").checked;
  const { mode, entryId, entry } = editor;
  const f = fields();
  // Signing is final (a signed entry is never changed; a correction is a new version): asked first.
  const asked = mode === "correct"
    ? { heading: t("Sign the correction?"), action: t("Sign the correction"),
      text: t("The correction becomes a new version of the entry, signed by you. The earlier version stays readable.") }
    : { heading: t("Sign the entry?"), action: t("Sign"),
      text: publish ? t("A signed entry cannot be changed, only corrected in a new version. It becomes visible to the citizen at once.")
        : t("A signed entry cannot be changed, only corrected in a new version.") };
  if (!await confirmAction(asked)) return;
  const id = mode === "new" ? newRecordId() : entryId;
  const ok = await act(() => {
    if (mode === "new") return client.create(view, id, f, { sign: true, publish });
    if (mode === "draft") return client.sign(view, id, f, publish);
    return client.correct(view, entry, f);
  }, mode === "correct" ? t("The correction is signed.") : publish ? t("The entry is signed and visible to the citizen.")
    : t("The entry is signed."), id);
  if (ok) {
    resetEditor(); // signing ended the live share too
    byId(`entry-${id}`)?.focus();
  }
}

async function onDelete() {
  const id = editor.entryId;
  const ok = await act(() => client.deleteDraft(id), t("The draft is deleted."));
  if (ok) {
    resetEditor();
    byId("editor-heading").focus();
  }
}

// -- sharing the draft live --------------------------------------------------------------------------------
function renderSharing() {
  const on = Boolean(sharing.entryId);
  const button = byId("share-live");
  button.setAttribute("aria-pressed", on ? "true" : "false");
  button.textContent = on ? t("Stop sharing") : t("Share live");
  if (!on) status("live-state", "");
}

async function sendSnapshot() {
  clearTimeout(sharing.timer);
  if (!sharing.entryId) return;
  sharing.rev += 1;
  try {
    await client.sendLive(view.caseView, sharing.entryId, sharing.rev, byId("entry-title").value, byId("entry-text").value);
    status("live-state", t("Shared live: the citizen sees what you write and can comment."));
    saveWhileSharing();
  } catch (error) {
    status("live-state", t("The draft could not be shared just now: %(why)s", { why: explain(error) }), "error");
  }
}

/** Save the shared draft at most every LIVE_SAVE_MS, so that nothing the citizen saw is lost. */
function saveWhileSharing() {
  if (sharing.saveTimer || !sharing.entryId) return;
  sharing.saveTimer = setTimeout(async () => {
    sharing.saveTimer = null;
    if (!sharing.entryId || !byId("entry-title").value.trim() || !byId("entry-text").value.trim()) return;
    try {
      await client.saveDraft(view, sharing.entryId, fields());
      status("journal-status", t("The shared draft is saved as you write."));
    } catch (error) {
      status("journal-status", explain(error), "error");
    }
  }, LIVE_SAVE_MS);
}

async function startSharing() {
  if (!validate()) return;
  try {
    const entryId = await saveDraft();
    sharing.entryId = entryId;
    localStorage.setItem(sharedKey(entryId), "1");
    sharing.rev = 0;
    renderSharing();
    await sendSnapshot();
    announce(t("The draft is shared live with the citizen."));
  } catch (error) {
    status("journal-status", explain(error), "error");
  }
}

/** "Sluta dela", signing or deleting: the share ends for good (`keep`: the page goes away, it resumes). */
function stopSharing({ keep = false } = {}) {
  const id = sharing.entryId;
  if (id && !keep) localStorage.removeItem(sharedKey(id));
  clearTimeout(sharing.saveTimer);
  sharing.saveTimer = null;
  sharing.entryId = null;
  clearTimeout(sharing.timer);
  renderSharing();
  if (id) client.endLive(caseId, id).catch(() => {}); // the server also ends it when this page goes away
}

function typed() {
  if (!sharing.entryId) return;
  clearTimeout(sharing.timer);
  sharing.timer = setTimeout(sendSnapshot, LIVE_DEBOUNCE_MS);
}

// -- Journalför: a draft from a message ----------------------------------------------------------------------
async function prefillFromMessage(seq) {
  const { messages } = await api("GET", `/api/cases/${encodeURIComponent(caseId)}/messages?after=${seq - 1}&limit=1`);
  const item = messages.find((m) => m.seq === seq);
  if (!item) return;
  const message = await app.session.open(view.caseView, item);
  const who = senderName(view.caseView, message.sender, null); // a name, also for one's own message
  editor.source = { seq, msg_id: message.msgId };
  byId("entry-title").value = t("Message from %(name)s, %(time)s", { name: who, time: fullTime(message.sentAt) });
  byId("entry-text").value = message.body?.text || message.body?.name || "";
  byId("editor-source-time").textContent = fullTime(message.sentAt);
  byId("editor-source").hidden = false;
  byId("editor-heading").focus();
}

async function main() {
  app = await boot();
  client = new JournalClient(app.session, app.live);
  const watch = () => app.live.request({ t: "watch", case_id: caseId }).catch(() => {});
  app.live.addEventListener("ready", watch);
  if (app.live.online) watch();
  app.live.addEventListener("journal", (event) => {
    if (event.detail.case_id === caseId) reloadSoon(event.detail.what);
  });
  byId("editor").addEventListener("submit", onSign);
  byId("save-draft").addEventListener("click", onSaveDraft);
  byId("delete-draft").addEventListener("click", onDelete);
  byId("editor-cancel").addEventListener("click", () => {
    resetEditor();
    byId("editor-heading").focus();
  });
  byId("share-live").addEventListener("click", () => (sharing.entryId ? stopSharing() : startSharing()));
  for (const id of ["entry-title", "entry-text"]) byId(id).addEventListener("input", typed);
  addEventListener("pagehide", () => stopSharing({ keep: true }));
  // Leaving while sharing ends the share for the citizen: the browser asks first.
  addEventListener("beforeunload", (event) => {
    if (!sharing.entryId) return;
    event.preventDefault();
    event.returnValue = "";
  });
  await reload();
  setMode("new");
  const from = Number(new URLSearchParams(location.search).get("from"));
  if (Number.isInteger(from) && from > 0) {
    history.replaceState({}, "", location.pathname); // a reload later must not start the same draft again
    await prefillFromMessage(from);
  }
}

main().catch((error) => status("setup-status", explain(error), "error"));
