// The citizen's Min dokumentation for one case: the entries the unit published (every version readable),
// "Jag anser att detta är felaktigt" with a comment (shown beside the entry until the unit answers), a
// supplement (text and files) to the case or to an entry, the draft the caseworker shares live (checked like
// a message, shown as it is typed, announced only as "updated") with a comment box, and "Exportera min akt".
import { announce, byId, fieldError, h, status } from "../dom.js";
import { sawAnswers } from "../seen.js";
import { t } from "../i18n.js";
import { boot, config, explain } from "../app.js";
import { JournalClient, latest, remarksOf, responseTo } from "../journal.js";
import { entryArticle, journalOpener, redraw, remarkItem } from "../journal-view.js";
import { supplementForm } from "../applications.js";
import { exportFile } from "../journal-export.js";

const caseId = config.case_id;
const ANNOUNCE_EVERY_MS = 5000; // "the draft was updated", at most this often: never each keystroke

let app;
let client;
let view = null;
let supplement = null; // {form, files()}
const live = { entryId: null, announced: 0 };

// -- the entries ---------------------------------------------------------------------------------------------
function disputeControl(entry) {
  const open = remarksOf(view, entry.id, "dispute").some((d) => !d.answered_at && !responseTo(view, d.id));
  if (open) return [];
  const id = `dispute-${entry.id}`;
  const form = h("form", { class: "dispute-form", id: `${id}-form`, novalidate: true, hidden: true },
    h("label", { for: id, text: t("What is incorrect? The unit answers you here.") }),
    h("p", { id: `${id}-error`, class: "field-error", hidden: true }),
    h("textarea", { id, rows: 3, maxlength: 4000, "aria-describedby": `${id}-error` }),
    h("button", { type: "submit", class: "button primary", text: t("Send") }));
  const toggle = h("button", { type: "button", id: `${id}-toggle`, class: "button secondary", "aria-expanded": "false",
    text: t("I consider this incorrect") });
  toggle.addEventListener("click", () => {
    form.hidden = !form.hidden;
    toggle.setAttribute("aria-expanded", form.hidden ? "false" : "true");
    if (!form.hidden) byId(id).focus();
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = byId(id).value.trim();
    if (fieldError(id, text ? "" : t("Write what you think is incorrect."))) return byId(id).focus();
    await act(() => client.remark(view, entry.id, text),
      t("You have marked the entry as incorrect. The unit is told and answers you here."), entry.id);
  });
  return [toggle, form];
}

function render() {
  const opener = journalOpener(client, view);
  const entries = [...view.entries].sort((a, b) => (b.published_at || 0) - (a.published_at || 0));
  redraw(byId("entries"), entries.map((entry) => h("li", {}, entryArticle(view, entry, {
    isStaff: false, opener, controls: view.case.status === "open" ? disputeControl(entry) : [] }))));
  if (!entries.length) byId("entries").append(h("li", { class: "empty", text: t("Nothing has been shared with you yet.") }));
  const loose = view.remarks.filter((r) => r.kind === "supplement" && !r.entry_id);
  byId("supplements").replaceChildren(...loose.map((r) => h("li", {}, remarkItem(view, r, {
    heading: t("Your supplement"), opener }))));
  if (!loose.length) byId("supplements").append(h("li", { class: "empty", text: t("No supplements yet.") }));
  const select = byId("supplement-entry");
  const chosenEntry = select.value;
  select.replaceChildren(h("option", { value: "", text: t("The whole case") }),
    ...entries.map((e) => h("option", { value: e.id, text: latest(view, e).body?.title || t("Entry") })));
  select.value = entries.some((e) => e.id === chosenEntry) ? chosenEntry : "";
}

async function reload() {
  view = await client.load(caseId);
  const c = view.caseView;
  byId("documentation-case").textContent = [c.title, c.unit_name].filter(Boolean).join(" · ");
  document.title = `${t("My documentation")} – ${c.title} – Samtal`;
  render();
  // The answers to the citizen's objections are shown now: the home no longer lists them as waiting.
  const answered = view.remarks.map((r) => r.answered_at || 0);
  if (answered.length) sawAnswers(app.me.user.id, caseId, Math.max(...answered));
  for (const snapshot of view.live || []) await showLive(snapshot);
  if (!(view.live || []).some((l) => l.entry_id === live.entryId)) hideLive();
}

// What the unit did, said once to screen reader users when the page has drawn it.
const UNIT_ACTS = {
  published: () => t("An entry was shared with you."), corrected: () => t("An entry was corrected."),
  response: () => t("The unit answered what you marked as incorrect."),
};

let reloading = null;
function reloadSoon(what = null) {
  clearTimeout(reloading);
  reloading = setTimeout(() => reload().then(() => {
    if (UNIT_ACTS[what]) announce(UNIT_ACTS[what]());
  }).catch((error) => status("documentation-status", explain(error), "error")), 150);
}

async function act(work, done, entryId = null) {
  status("documentation-status", t("Encrypting and sending…"));
  try {
    await work();
    status("documentation-status", done);
    announce(done);
    await reload();
    (entryId && byId(`entry-${entryId}`) || byId("entries-heading")).focus();
    return true;
  } catch (error) {
    status("documentation-status", explain(error), "error");
    return false;
  }
}

// -- the live draft ----------------------------------------------------------------------------------------------
async function showLive(frame) {
  if (!frame.env) return;
  const draft = await client.openLive(view.caseView, frame);
  if (!draft) return;
  if (draft.refused) {
    // A dishonest server (or a broken one) could relay anything: what does not verify is never shown.
    const panel = byId("live-panel");
    panel.dataset.refused = String(Number(panel.dataset.refused || 0) + 1);
    status("documentation-status", t("A draft from your caseworker could not be verified and was not shown."), "error");
    return;
  }
  const first = live.entryId !== draft.entryId;
  live.entryId = draft.entryId;
  byId("live-title").textContent = draft.title;
  byId("live-text").textContent = draft.text;
  byId("live-panel").hidden = false;
  const now = Date.now();
  if (first || now - live.announced > ANNOUNCE_EVERY_MS) {
    live.announced = now;
    const words = first ? t("Your caseworker is sharing a draft with you.") : t("The draft was updated.");
    const region = byId("live-updated");
    region.textContent = "";
    setTimeout(() => { region.textContent = words; }, 60);
  }
}

function hideLive() {
  if (!live.entryId) return;
  live.entryId = null;
  byId("live-panel").hidden = true;
  announce(t("Your caseworker stopped sharing the draft."));
}

async function sendComment(event) {
  event.preventDefault();
  const text = byId("comment-text").value.trim();
  if (fieldError("comment-text", text ? "" : t("Write a comment first."))) return byId("comment-text").focus();
  if (!live.entryId) return;
  status("documentation-status", t("Encrypting and sending…"));
  try {
    await client.remark(view, live.entryId, text);
    byId("comment-text").value = "";
    status("documentation-status", t("Your comment is sent to your caseworker."));
    announce(t("Your comment is sent to your caseworker."));
    byId("comment-text").focus();
  } catch (error) {
    status("documentation-status", explain(error), "error");
  }
}

// -- supplements --------------------------------------------------------------------------------------------------
function newSupplementForm() {
  supplement = supplementForm(client, { title: t("Your supplement"), label: t("What do you want to add?"), maxLength: 20000 },
    config.max_attachment_bytes);
  byId("supplement-body").replaceChildren(supplement.form.element);
}

async function sendSupplement(event) {
  event.preventDefault();
  if (supplement.form.showErrors().length) return;
  const entryId = byId("supplement-entry").value || null;
  const button = event.target.querySelector("button[type=submit]");
  button.disabled = true;
  try {
    const ok = await act(() => client.supplement(view, entryId, supplement.form.answers.text.trim(), supplement.files()),
      t("Your supplement is sent to the unit."), entryId);
    if (ok) newSupplementForm();
  } finally {
    button.disabled = false;
  }
}

async function main() {
  app = await boot();
  client = new JournalClient(app.session, app.live);
  byId("comment-form").addEventListener("submit", sendComment);
  byId("supplement-form").addEventListener("submit", sendSupplement);
  byId("export").addEventListener("click", async () => {
    status("export-status", t("Making the document…"));
    try {
      await exportFile(app, await client.load(caseId));
      status("export-status", t("The document is downloaded. Open it to read or print it."));
    } catch (error) {
      status("export-status", explain(error), "error");
    }
  });
  app.live.addEventListener("journal.live", (event) => {
    if (event.detail.case_id === caseId && view) showLive(event.detail).catch(() => {});
  });
  app.live.addEventListener("journal.live_end", (event) => {
    if (event.detail.case_id === caseId && event.detail.entry_id === live.entryId) hideLive();
  });
  app.live.addEventListener("journal", (event) => {
    if (event.detail.case_id === caseId) reloadSoon(event.detail.what);
  });
  await reload();
  newSupplementForm();
  if (view.case.status !== "open") {
    byId("supplement-form").hidden = true;
    byId("comment-form").hidden = true;
  }
}

main().catch((error) => status("setup-status", explain(error), "error"));
