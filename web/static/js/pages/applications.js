// The unit's applications, for its staff: the list (what waits for the unit first), one application opened
// beside it (its answers drawn from the form definition, decrypted here with the unit key, and its timeline),
// and the unit's steps: start the assessment, ask for more information with a due date, record the
// decision. A paper application is registered here on the citizen's behalf. `?case=ID` shows one case's.
import { api } from "../api.js";
import { announce, byId, h, status } from "../dom.js";
import { dayStart, isoTime, shortDate, shortTime } from "../format.js";
import { lang, t, tn } from "../i18n.js";
import { boot, config, explain } from "../app.js";
import { ApplicationClient, OPEN_STATUSES, appealDetail, attachmentOpener, statusText, supplementForm, timeline } from "../applications.js";
import { communicationOfDecision, communicationState, communicationSummary } from "../communication.js";
import { JournalClient, latest } from "../journal.js";
import { appealForm, appealState } from "../appeal.js";
import { confirmAction } from "../confirm.js";
import { DecisionForm } from "../decision-form.js";
import { ITEM_OUTCOMES, decisionDocument, decisionText, isDocument, swedishToday } from "../decision.js";
import { emptyAnswers, textOf } from "../forms/engine.js";
import { FormView, renderAnswers } from "../forms/render.js";
import { newRecordId } from "../crypto/index.js";

let app;
let client;
let catalogue;
let applications = [];
let open = null; // the open application's view
let paper = null; // {view: FormView, files: Map, applicationId}
let paperAppeal = null; // an appeal that came on paper, as staff type it: {form, files()}
let basis = null; // the kommunicering form's summary and documents: {form, files()}
let journalEntries = []; // the case's signed entries, for kommunicering: [{id, title, text, at, author}]
let decisionForm = null; // DecisionForm: the open application's decision, being written
let previewed = null; // the decision body shown in the preview, sent when confirmed
const caseFilter = new URLSearchParams(location.search).get("case");
const NEW_PERSON = "-"; // the citizen list's last choice: someone found or registered by personal identity number

const formName = (id) => textOf(catalogue.forms.get(id)?.title, lang) || id;

function compare(a, b) {
  if (a.awaiting_unit !== b.awaiting_unit) return a.awaiting_unit ? -1 : 1;
  return b.updated_at - a.updated_at;
}

function item(a) {
  const isOpen = open?.application.id === a.id;
  const link = h("a", { class: "case-link", href: `/applications/${encodeURIComponent(a.id)}`, "data-application-id": a.id,
    "aria-current": isOpen ? "true" : null },
  h("span", { class: "case-row" }, h("span", { class: "case-name", text: a.citizen_name || a.citizen }),
    h("time", { datetime: isoTime(a.updated_at), text: shortTime(a.updated_at) })),
  h("span", { class: "case-title", text: `${formName(a.form_id)} · ${a.case_id}` }),
  h("span", { class: "case-row" },
    h("span", { class: `badge status-${a.status}`, text: statusText(a) }),
    a.awaiting_unit ? h("span", { class: "badge unread", text: { received: t("New"), supplemented: t("Supplemented"),
      communication_answered: t("Comments in"), appealed: t("Appeal waiting") }[a.status] }) : null,
    a.on_behalf ? h("span", { class: "badge", text: t("Paper") }) : null));
  link.addEventListener("click", (event) => {
    if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    navigate(a.id);
  });
  return h("li", { class: `case-item${a.awaiting_unit ? " unanswered" : ""}${isOpen ? " is-open" : ""}` }, link);
}

function renderList() {
  const shown = applications.filter((a) => !caseFilter || a.case_id === caseFilter).sort(compare);
  byId("application-list").replaceChildren(...shown.map(item));
  if (!shown.length) byId("application-list").append(h("li", { class: "empty", text: t("No applications.") }));
  const waiting = shown.filter((a) => a.awaiting_unit).length;
  byId("list-summary").textContent = [tn("%(n)s application", "%(n)s applications", shown.length),
    tn("%(n)s waiting for the unit", "%(n)s waiting for the unit", waiting)].join(", ");
  byId("list-filter").hidden = !caseFilter;
  byId("list-filter-text").textContent = caseFilter ? t("Case %(case)s.", { case: caseFilter }) : "";
}

async function reload() {
  applications = await client.list();
  renderList();
}

// -- one application ---------------------------------------------------------------------------------------
function showPane(which) {
  document.querySelector(".applications").classList.toggle("has-application", which !== "none");
  byId("no-application").hidden = which !== "none";
  byId("application-view").hidden = which !== "view";
  byId("paper-form").hidden = which !== "paper";
}

async function openApplication(id, { focus = true } = {}) {
  status("pane-error", "");
  showPane("view");
  const previous = open?.application.id;
  try {
    const view = await client.view(id);
    open = view;
    const a = view.application;
    const def = catalogue.forms.get(a.form_id);
    byId("application-title").textContent = `${a.citizen_name || a.citizen} – ${formName(a.form_id)}`;
    document.title = `${a.citizen_name || a.citizen} – ${t("Applications")} – Samtal`;
    byId("application-meta").textContent = [a.case_id, a.opened_case ? t("opened a new case") : t("in an open case"),
      a.on_behalf ? t("registered from paper by %(name)s", { name: a.submitted_by_name || a.submitted_by })
        : t("sent by the citizen")].join(" · ");
    byId("application-status").textContent = t("Status: %(status)s", { status: statusText(a) });
    byId("case-link").href = `/inbox/${encodeURIComponent(a.case_id)}`;
    const opener = attachmentOpener(client, a.id);
    byId("timeline").replaceChildren(timeline(view, { openAttachment: opener, isStaff: true }));
    const answers = view.opened.get(a.id);
    byId("answers").replaceChildren(answers?.body && def
      ? renderAnswers(def, answers.body.answers || {}, { lang, openAttachment: opener, headingLevel: 4 })
      : h("p", { class: "error-text", text: t("The application could not be opened on this device.") }));
    const undecided = OPEN_STATUSES.includes(a.status) && a.case_status === "open";
    byId("assess").hidden = !undecided || a.status === "assessing";
    byId("withdraw-for").hidden = !undecided;
    byId("reopen").hidden = a.status !== "decided" || a.case_status !== "open";
    byId("completion-form").hidden = !undecided;
    byId("communication-form").hidden = !undecided;
    if (!previous || previous !== a.id) {
      const unit = catalogue.units.find((u) => u.id === a.unit_id);
      decisionForm.reset(def, answers?.body?.answers, unit?.name || a.unit_id, app.me.user.display_name);
      previewed = null;
    }
    byId("decision-form").hidden = !undecided || Boolean(previewed);
    byId("decision-preview").hidden = !undecided || !previewed;
    if (undecided) await drawCommunication(view);
    renderDecisions(view);
    drawAppeal(view);
    renderList();
    if (focus) byId("application-title").focus();
    // Every device of the case (the citizen's later ones too) can read the records once they are published.
    client.publishToCase(view).catch(() => {});
  } catch (error) {
    status("pane-error", explain(error), "error");
  }
}

// -- kommunicering (FL 25 §) ---------------------------------------------------------------------------------
/** The kommunicering form (journal entries to choose, summary and documents) and its state in the decision form. */
async function drawCommunication(view) {
  const state = communicationState(view);
  byId("decision-communication").replaceChildren(...communicationSummary(state));
  byId("decision-communication").dataset.done = String(state.done);
  showReason();
  if (byId("communication-body").dataset.for !== view.application.id) {
    basis = supplementForm(client, { title: t("The basis"), label: t("Summary of what the decision will rest on"),
      help: t("The applicant reads this. By phone or in person, also write what they said."), maxLength: 8000,
      idPrefix: "k" },
    config.max_attachment_bytes);
    byId("communication-body").replaceChildren(basis.form.element);
    byId("communication-body").dataset.for = view.application.id;
    journalEntries = await signedEntries(view.application.case_id);
    byId("communication-entries").replaceChildren(...(journalEntries.length
      ? journalEntries.map((e) => h("label", { class: "option", for: `share-${e.id}` },
        h("input", { type: "checkbox", id: `share-${e.id}`, value: e.id, name: "share" }), " ",
        h("span", { text: `${e.title} (${shortDate(e.at)})` })))
      : [h("p", { class: "muted", text: t("The case has no signed journal entries.") })]));
  }
}

/** The case's signed journal entries, opened here, newest first (what kommunicering can share a copy of). */
async function signedEntries(caseId) {
  try {
    const journal = await new JournalClient(app.session, app.live).load(caseId);
    return journal.entries.filter((e) => e.status === "signed").map((e) => {
      const { body } = latest(journal, e);
      return body ? { id: e.id, title: body.title, text: body.text, at: e.signed_at, author: e.signed_by_name || e.author } : null;
    }).filter(Boolean).sort((x, y) => y.at - x.at);
  } catch {
    return []; // no journal to share from on this device: the summary and documents still go
  }
}

/** The reason field: asked for when the chosen outcome goes against the applicant and kommunicering was not done. */
function showReason() {
  // Against the applicant: any item not granted in full (the whole decision is then partly granted or refused).
  const adverse = [...document.querySelectorAll("#decision-items select")].some((s) => s.value && s.value !== "granted");
  byId("no-communication-field").hidden = !(adverse && byId("decision-communication").dataset.done === "false");
}

function sendCommunication(event) {
  event.preventDefault();
  const method = new FormData(event.target).get("method");
  const due = byId("communication-due").value;
  const today = new Date().toISOString().slice(0, 10);
  const problems = basis.form.showErrors();
  const needsDate = method === "app" || method === "letter";
  const badDue = fieldError("communication-due", due ? (/^\d{4}-\d{2}-\d{2}$/.test(due) && due >= today ? ""
    : t("Choose a date from today on.")) : needsDate ? t("Choose the date to comment by.") : "");
  if (problems.length) return;
  if (badDue) return byId("communication-due").focus();
  const chosen = new Set([...document.querySelectorAll("#communication-entries input:checked")].map((i) => i.value));
  const entries = journalEntries.filter((e) => chosen.has(e.id)).map(({ title, text, at, author }) => ({ title, text, at, author }));
  step(async () => {
    await client.communicate(open, { summary: basis.form.answers.text.trim(), entries, chosen: basis.files(), method,
      dueAt: due ? dayStart(due, 1) - 1 : null });
    byId("communication-due").value = "";
    byId("communication-body").dataset.for = "";
  }, method === "app" ? t("The basis is shared with the applicant.") : t("The kommunicering is recorded."));
}

// -- appeals (FL 45-46 §§, 37-39 §§) --------------------------------------------------------------------------
/** The appeal panel: the time check, and the unit's steps that the appeal's status allows. */
function drawAppeal(view) {
  const state = appealState(view);
  const status = view.application.status;
  const onPaper = byId("paper-appeal");
  onPaper.hidden = status !== "decided" || !view.decisions?.length;
  if (!onPaper.hidden && onPaper.dataset.for !== view.application.id) {
    onPaper.dataset.for = view.application.id;
    onPaper.open = false;
    paperAppeal = appealForm(client, config.max_attachment_bytes, { idPrefix: "pa", title: t("The applicant's appeal") });
    byId("paper-appeal-body").replaceChildren(paperAppeal.form.element);
  }
  // Changed, but not as asked: the appeal still goes to the court, now about the new decision (FL 39 §).
  const changedNotForwarded = status === "decided" && state?.steps.includes("appeal_reconsidered")
    && !state.steps.includes("appeal_forwarded");
  const waiting = ["appealed", "appeal_reconsidered"].includes(status) || changedNotForwarded;
  byId("appeal-panel").hidden = !state;
  if (!state) return;
  byId("appeal-check").replaceChildren(h("p", { text: t("Came in %(date)s.", { date: shortDate(state.event.at) }) }),
    ...appealDetail(state.event));
  byId("reconsider-form").hidden = status !== "appealed";
  byId("forward-form").hidden = !waiting;
  byId("dismiss-appeal").hidden = !(status === "appealed" && state.event.detail?.in_time === false);
  if (!byId("forward-court").value) byId("forward-court").value = "Förvaltningsrätten"; // a court's name is Swedish
}

function sendPaperAppeal(event) {
  event.preventDefault();
  const arrived = byId("paper-appeal-arrived").value;
  const problems = paperAppeal.form.showErrors();
  const badDay = fieldError("paper-appeal-arrived", /^\d{4}-\d{2}-\d{2}$/.test(arrived) && arrived <= swedishToday()
    ? "" : t("Choose the day the letter came in."));
  if (problems.length) return;
  if (badDay) return byId("paper-appeal-arrived").focus();
  const { change, why } = paperAppeal.form.answers;
  step(async () => {
    await client.appeal(open, open.decisions.at(-1).id, { change: change.trim(), why: why.trim(),
      chosen: paperAppeal.files(), arrivedOn: arrived });
    byId("paper-appeal").dataset.for = "";
    byId("paper-appeal-arrived").value = "";
  }, t("The appeal is registered."));
}

function wireAppeal() {
  byId("paper-appeal-form").addEventListener("submit", sendPaperAppeal);
  byId("reconsider-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const changed = new FormData(event.target).get("changed");
    const text = byId("reconsider-text").value.trim();
    const noChoice = fieldError("reconsider-changed", changed ? "" : t("Choose whether the decision is changed."));
    const noText = fieldError("reconsider-text", text ? "" : t("Write the reasons."));
    if (noChoice) return byId("changed-no").focus();
    if (noText) return byId("reconsider-text").focus();
    step(async () => {
      await client.reconsider(open, changed === "yes", text);
      byId("reconsider-text").value = "";
    }, changed === "yes" ? t("The reconsideration is recorded. Make the new decision below.")
      : t("The reconsideration is recorded. Send the appeal to the court."));
  });
  byId("forward-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const court = byId("forward-court").value.trim();
    if (fieldError("forward-court", court ? "" : t("Write the court's name."))) return byId("forward-court").focus();
    step(() => client.forward(open, court), t("Recorded: the appeal is sent to the court."));
  });
  byId("dismiss-appeal").addEventListener("click", () => confirmAction({ heading: t("Dismiss the appeal?"),
    action: t("Dismiss the appeal"),
    text: t("The appeal came in after the last day and is not sent to the court. Tell the applicant why, and how to appeal the dismissal.") })
    .then((yes) => yes && step(() => client.dismiss(open), t("The appeal is dismissed."))));
}

function closePane() {
  open = null;
  showPane("none");
  renderList();
}

function navigate(id) {
  history.pushState({ id }, "", id ? `/applications/${encodeURIComponent(id)}` : "/applications");
  if (id) openApplication(id);
  else closePane();
}

function fieldError(id, text) {
  const el = byId(`${id}-error`);
  el.hidden = !text;
  el.textContent = text;
  const control = byId(id) || document.querySelector(`[name=${id.split("-").pop()}]`);
  if (text) control?.setAttribute("aria-invalid", "true");
  else control?.removeAttribute("aria-invalid");
  return Boolean(text);
}

async function step(work, done) {
  status("action-status", t("Encrypting and sending…"));
  try {
    await work();
    status("action-status", done);
    announce(done);
    await reload();
    await openApplication(open.application.id, { focus: false });
  } catch (error) {
    status("action-status", explain(error), "error");
  }
}

function wireSteps() {
  byId("assess").addEventListener("click", () => step(() => client.assess(open), t("The assessment has started.")));
  byId("completion-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const text = byId("completion-text").value.trim();
    const due = byId("completion-due").value;
    const today = new Date().toISOString().slice(0, 10);
    const bad = [fieldError("completion-text", text ? "" : t("Write what the applicant should add.")),
      fieldError("completion-due", /^\d{4}-\d{2}-\d{2}$/.test(due) && due >= today ? "" : t("Choose a date from today on."))];
    if (bad[0]) return byId("completion-text").focus();
    if (bad[1]) return byId("completion-due").focus();
    step(async () => {
      await client.requestCompletion(open, text, dayStart(due, 1) - 1); // the end of the chosen day
      byId("completion-text").value = "";
      byId("completion-due").value = "";
    }, t("The request is sent to the applicant."));
  });
  byId("decision-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const body = decisionForm.body();
    if (!body) return;
    // A decision that goes against the applicant without kommunicering says why (FL 25 §, DOMAIN rule 2).
    showReason();
    const askReason = !byId("no-communication-field").hidden;
    const reason = byId("decision-no-communication").value.trim();
    if (fieldError("decision-no-communication", askReason && !reason ? t("Write why the decision is made without kommunicering.") : "")) {
      return byId("decision-no-communication").focus();
    }
    body.communication = communicationOfDecision(communicationState(open), askReason ? reason : "");
    // Seen as the applicant will see it, and confirmed, before anything is sealed or sent.
    previewed = body;
    byId("decision-preview-body").replaceChildren(decisionDocument(body, null, { headingLevel: 4 }));
    byId("decision-form").hidden = true;
    byId("decision-preview").hidden = false;
    byId("decision-preview-heading").focus();
  });
  byId("decision-form").addEventListener("change", showReason);
  byId("communication-form").addEventListener("submit", sendCommunication);
  byId("reopen").addEventListener("click", () => confirmAction({ heading: t("Take up the decision again?"),
    action: t("Take up the decision again"),
    text: t("The application is assessed again. The decision stays as it is, and readable, until a new decision replaces it.") })
    .then((yes) => yes && step(() => client.reopen(open), t("The application is taken up again."))));
  byId("withdraw-for").addEventListener("click", () => confirmAction({ heading: t("Record a withdrawal?"),
    action: t("Record the withdrawal"),
    text: t("Record this only when the applicant has asked to withdraw the application, by phone, in person or by letter. It is recorded as done by you on their behalf, and nothing more is decided on it.") })
    .then((yes) => yes && step(() => client.withdraw(open), t("The withdrawal is recorded."))));
  byId("decision-edit").addEventListener("click", () => {
    previewed = null;
    byId("decision-preview").hidden = true;
    byId("decision-form").hidden = false;
    byId("decision-heading").focus();
  });
  byId("decision-send").addEventListener("click", () => {
    const body = previewed;
    if (!body) return;
    step(async () => {
      // After a decision was taken up again, the new one names the one it replaces (which stays readable).
      await client.decide(open, body, open.decisions.at(-1)?.id || null);
      previewed = null;
      await fileDecision(open.application.case_id, body);
    }, t("The decision is signed, sent to the applicant and filed in the case's documentation."));
  });
}

/**
 * File the decision in the case's documentation: a journal entry signed by this device and published to the
 * citizen, as the unit must document its decisions. The decision record itself is already sent; if filing
 * fails, the error says so and the caseworker files it by hand.
 */
async function fileDecision(caseId, body) {
  const journal = new JournalClient(app.session, app.live);
  const view = await journal.load(caseId);
  await journal.create(view, newRecordId(), { title: t("Decision: %(outcome)s", { outcome: ITEM_OUTCOMES[body.outcome]() }),
    text: decisionText(body) }, { sign: true, publish: true });
}

/** The application's decisions as documents, with how each reached the citizen; staff record a posted one. */
function renderDecisions(view) {
  const section = byId("decisions");
  section.hidden = !view.decisions.length;
  byId("decisions-body").replaceChildren(...view.decisions.map((meta) => {
    const opened = view.opened.get(meta.id);
    const doc = opened?.body && isDocument(opened.body)
      ? decisionDocument(opened.body, meta, { isStaff: true, headingLevel: 4 })
      : h("p", { class: opened?.error ? "error-text" : "muted", text: opened?.error
        ? t("This part could not be opened on this device.") : t("An earlier decision: see What has happened.") });
    return h("div", { class: "card decision-card" }, doc, postForm(meta));
  }));
}

function postForm(meta) {
  if (meta.posted_at) return null; // the document says when it was posted
  const id = `post-${meta.id}`;
  const form = h("form", { class: "step-form", novalidate: true, "aria-labelledby": `${id}-heading` },
    h("h4", { id: `${id}-heading`, text: t("Sent on paper") }),
    h("p", { class: "help", text: t("For someone without the app: record the day the decision was posted, and the day they received it if you know it.") }),
    h("div", { class: "field" }, h("label", { for: `${id}-on`, text: t("Posted on") }),
      h("input", { type: "date", id: `${id}-on`, value: swedishToday(), max: swedishToday() })),
    h("div", { class: "field" }, h("label", { for: `${id}-received`, text: t("Received on (optional)") }),
      h("input", { type: "date", id: `${id}-received`, max: swedishToday() })),
    h("button", { type: "submit", class: "button secondary", text: t("Record as sent by post") }));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    step(() => client.posted(meta.id, byId(`${id}-on`).value, byId(`${id}-received`).value),
      t("The decision is recorded as sent by post."));
  });
  return form;
}

// -- paper applications --------------------------------------------------------------------------------------
async function startPaper() {
  open = null;
  renderList();
  showPane("paper");
  const cases = await app.session.cases();
  const citizens = new Map(cases.map((c) => [c.citizen, c.citizen_name || c.citizen]));
  const select = byId("paper-citizen");
  select.replaceChildren(...[...citizens].sort((a, b) => a[1].localeCompare(b[1]))
    .map(([id, name]) => h("option", { value: id, text: name })),
    h("option", { value: NEW_PERSON, text: t("Someone else (personal identity number)") }));
  showPerson();
  const unit = catalogue.units.find((u) => u.id === app.me.user.unit_id);
  byId("paper-form-choice").replaceChildren(...(unit?.forms || []).map((id) => h("option", { value: id, text: formName(id) })));
  drawPaperForm();
  byId("paper-heading").focus();
}

function drawPaperForm() {
  const def = catalogue.forms.get(byId("paper-form-choice").value);
  if (!def) return;
  const files = new Map();
  const view = new FormView(def, emptyAnswers(def), {
    lang, idPrefix: "p", headingLevel: 3, maxBytes: config.max_attachment_bytes,
    summaryHeading: t("Something in the application needs correcting before it can be registered"),
    extraErrors: personErrors,
    attach: async (file) => {
      const { ref, blob } = await client.encrypt(file, config.max_attachment_bytes);
      files.set(ref.local, blob);
      return ref;
    },
    detach: (ref) => files.delete(ref.local),
  });
  paper = { def, view, files, applicationId: newRecordId() };
  byId("paper-body").replaceChildren(view.element);
}

function showPerson() {
  byId("paper-person").hidden = byId("paper-citizen").value !== NEW_PERSON;
}

/**
 * The person the application is for: one of the unit's citizens, or someone at the desk found or registered
 * by personal identity number (their account, made now if they have none); with the devices to grant to.
 */
async function paperCitizen() {
  const chosen = byId("paper-citizen").value;
  if (chosen !== NEW_PERSON) {
    const anyCase = (await app.session.cases()).find((c) => c.citizen === chosen);
    const caseView = await app.session.caseView(anyCase.id, { refresh: true });
    return { id: chosen, deviceIds: (caseView.citizen_devices || []).map((d) => d.id) };
  }
  const { citizen } = await api("POST", `/api/units/${encodeURIComponent(app.me.user.unit_id)}/citizens`,
    { personal_number: byId("paper-pnr").value, name: byId("paper-name").value });
  return { id: citizen.id, deviceIds: [] }; // no case in the unit yet: its records reach the devices via the case key
}

/** A Swedish personal identity (or co-ordination) number as typed: 12 digits, the last one the Luhn check. */
function personalNumberLooksValid(value) {
  const digits = value.replace(/[-+\s]/g, "");
  if (!/^\d{12}$/.test(digits)) return false;
  let sum = 0;
  for (const [i, ch] of [...digits.slice(2)].entries()) {
    const d = Number(ch) * (i % 2 === 0 ? 2 : 1);
    sum += d > 9 ? d - 9 : d;
  }
  return sum % 10 === 0;
}

/** The person fields' problems, shown at each field and in the form's summary with the form's own. */
function personErrors() {
  if (byId("paper-citizen").value !== NEW_PERSON) {
    fieldError("paper-pnr", "");
    fieldError("paper-name", "");
    return [];
  }
  const pnr = byId("paper-pnr").value.trim();
  const problems = [
    ["paper-pnr", !pnr ? t("Write the personal identity number.")
      : !personalNumberLooksValid(pnr) ? t("That is not a valid personal identity number. Check it against the identity document.") : ""],
    ["paper-name", byId("paper-name").value.trim() ? "" : t("Write the person's name.")],
  ];
  for (const [id, text] of problems) fieldError(id, text);
  return problems.filter(([, text]) => text).map(([id, text]) => ({ id, text }));
}

async function sendPaper(event) {
  event.preventDefault();
  if (!paper || paper.view.showErrors().length) return;
  const button = byId("paper-send");
  button.disabled = true;
  status("pane-error", "");
  try {
    const citizen = await paperCitizen();
    const answer = await client.submit({ unitId: app.me.user.unit_id, def: paper.def, applicationId: paper.applicationId,
      answers: paper.view.answers, files: paper.files, citizen, assignToMe: byId("paper-assign").checked });
    paper = null;
    announce(t("The paper application is registered."));
    await reload();
    navigate(answer.application.id);
  } catch (error) {
    if (error?.code === "invalid_personal_number") {
      status("pane-error", t("That is not a valid personal identity number. Check it against the identity document."), "error");
      byId("paper-pnr").focus();
    } else status("pane-error", explain(error), "error");
  } finally {
    button.disabled = false;
  }
}

function idFromPath() {
  const match = location.pathname.match(/^\/applications\/([A-Za-z0-9_-]{22})$/);
  return match ? match[1] : null;
}

async function main() {
  app = await boot();
  client = new ApplicationClient(app.session);
  catalogue = await client.forms();
  decisionForm = new DecisionForm(catalogue.decisions.units[app.me.user.unit_id], catalogue.decisions.appeal);
  wireSteps();
  wireAppeal();
  byId("paper-start").addEventListener("click", () => {
    history.pushState({}, "", "/applications");
    startPaper().catch((error) => status("pane-error", explain(error), "error"));
  });
  byId("paper-form-choice").addEventListener("change", drawPaperForm);
  byId("paper-citizen").addEventListener("change", showPerson);
  byId("paper-form").addEventListener("submit", sendPaper);
  for (const back of document.querySelectorAll(".application-pane .back")) {
    back.addEventListener("click", (event) => {
      event.preventDefault();
      const id = open?.application.id;
      navigate(null);
      if (id) document.querySelector(`[data-application-id="${CSS.escape(id)}"]`)?.focus();
    });
  }
  addEventListener("popstate", () => {
    const id = idFromPath();
    if (id) openApplication(id);
    else closePane();
  });
  app.live.addEventListener("application", async (event) => {
    await reload();
    if (open && event.detail.application_id === open.application.id) await openApplication(open.application.id, { focus: false });
  });
  await reload();
  const initial = config.application_id || idFromPath();
  if (initial) await openApplication(initial, { focus: false });
  else showPane("none");
}

main().catch((error) => status("setup-status", explain(error), "error"));
