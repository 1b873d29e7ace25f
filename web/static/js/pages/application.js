// One of the citizen's applications: its status and timeline, live (the `application` frame); what the unit
// asked for and decided, opened on this device; answering a completion request with text and files; and the
// answers as they were sent.
import { announce, byId, h, status } from "../dom.js";
import { shortDate } from "../format.js";
import { confirmAction } from "../confirm.js";
import { appealForm } from "../appeal.js";
import { lang, t } from "../i18n.js";
import { boot, config, explain } from "../app.js";
import { ApplicationClient, OPEN_STATUSES, attachmentOpener, statusText, supplementForm, timeline } from "../applications.js";
import { textOf } from "../forms/engine.js";
import { renderAnswers } from "../forms/render.js";
import { sawDecision } from "../seen.js";
import { decisionDocument, isDocument } from "../decision.js";

let app;
let client;
let view = null;
let supplement = null; // {form, files()}: the answer to a request for more information
let comments = null; // {form, files()}: comments on the decision basis the unit shared (kommunicering)
let appeal = null; // {form, files()}: an appeal of the current decision

function newSupplementForm() {
  supplement = supplementForm(client, { title: t("Your answer"), label: t("What do you want to tell the unit?"),
    help: t("Answer what the unit asked for. You can attach documents below."), maxLength: 4000 },
  config.max_attachment_bytes);
  byId("supplement-body").replaceChildren(supplement.form.element);
}

async function render() {
  view = await client.view(config.application_id);
  const a = view.application;
  const { forms } = await client.forms();
  const def = forms.get(a.form_id);
  const title = def ? textOf(def.title, lang) : a.form_id;
  byId("application-title").textContent = title;
  document.title = `${title} – Samtal`;
  byId("application-status").textContent = t("Status: %(status)s", { status: statusText(a) });
  byId("case-link").href = `/cases/${encodeURIComponent(a.case_id)}`;
  const opener = attachmentOpener(client, a.id);
  byId("timeline").replaceChildren(timeline(view, { openAttachment: opener, isStaff: false }));
  const mine = view.opened.get(a.id);
  if (mine?.body && def) {
    byId("answers").replaceChildren(renderAnswers(def, mine.body.answers || {}, { lang, openAttachment: opener }));
  } else {
    status("application-error", t("Your answers could not be opened on this device."), "error");
  }
  await renderDecision(title);
  if (a.status === "decided") sawDecision(app.me.user.id, a.id, a.updated_at); // no longer waiting on the home
  const asked = a.status === "completion_requested";
  const section = byId("supplement-section");
  if (asked && section.hidden) newSupplementForm();
  section.hidden = !asked;
  const shared = a.status === "communicated";
  const commenting = byId("communication-section");
  if (shared && commenting.hidden) {
    comments = supplementForm(client, { title: t("Your comments"), label: t("What do you want to say about it?"),
      help: t("You can attach documents below."), maxLength: 4000, idPrefix: "k" }, config.max_attachment_bytes);
    byId("communication-body").replaceChildren(comments.form.element);
  }
  byId("communication-due").textContent = shared && a.due_at ? t("Comment by %(date)s.", { date: shortDate(a.due_at) }) : "";
  commenting.hidden = !shared;
  byId("withdraw-section").hidden = !OPEN_STATUSES.includes(a.status);
  drawAppeal(a);
}

/**
 * The newest decision, summary first. The first time a device of the citizen's has opened and verified it,
 * the server records the day received (delgivning), from which the appeal deadline runs; then it is shown.
 */
async function renderDecision(title) {
  const section = byId("decision-section");
  let meta = view.decisions[view.decisions.length - 1];
  const opened = meta ? view.opened.get(meta.id) : null;
  if (!opened?.body || !isDocument(opened.body)) {
    section.hidden = true;
    return;
  }
  if (!meta.received_at) {
    try {
      meta = (await client.received(meta.id)).decision;
    } catch (error) {
      status("application-error", explain(error), "error"); // shown without a deadline; tried again next time
    }
  }
  byId("decision-body").replaceChildren(decisionDocument(opened.body, meta, { headingLevel: 3 }));
  byId("decision-heading").textContent = t("Decision: %(title)s", { title });
  section.hidden = false;
  document.querySelector(".application-page").classList.add("has-decision");
}

/** The decision as a file of its own (a web page that opens anywhere), for the citizen to keep. */
function saveDecision() {
  const doc = byId("decision-section").cloneNode(true);
  doc.querySelectorAll(".no-print").forEach((el) => el.remove());
  const html = `<!doctype html><html lang="${document.documentElement.lang}"><meta charset="utf-8"><title>${
    byId("decision-heading").textContent.replace(/[<&]/g, "")}</title><body style="font-family:sans-serif;max-width:40rem;margin:2rem auto">${
    // Serialised, not read as markup text: the page's scripts never touch an HTML sink (tests/test_pages.py).
    [...doc.childNodes].map((node) => new XMLSerializer().serializeToString(node)).join("")}</body></html>`;
  const url = URL.createObjectURL(new Blob([html], { type: "text/html" }));
  const name = t("Decision");
  h("a", { href: url, download: `${name}-${view.decisions.at(-1)?.received_on || ""}.html` }).click();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}


/** "Överklaga": offered on a decided application, with the last day when the day received is recorded. */
function drawAppeal(a) {
  const decision = (view.decisions || []).at(-1);
  const section = byId("appeal-section");
  section.hidden = a.status !== "decided" || !decision;
  if (section.hidden) return;
  byId("appeal-deadline").textContent = decision.appeal_deadline
    ? t("The unit must have your appeal no later than %(date)s.", { date: decision.appeal_deadline }) : "";
}

function startAppeal() {
  appeal = appealForm(client, config.max_attachment_bytes);
  byId("appeal-body").replaceChildren(appeal.form.element);
  byId("appeal-form").hidden = false;
  byId("appeal-start").setAttribute("aria-expanded", "true");
  byId("appeal-form").querySelector("textarea")?.focus();
}

/**
 * Send a small form of text and files (`sent`: its {form, files()}) with `send(answers, files)`, then draw the
 * page again.
 */
async function sendForm(event, sent, send, announced, told) {
  event.preventDefault();
  status("application-error", "");
  if (sent.form.showErrors().length) return;
  const button = event.target.querySelector("button[type=submit]");
  button.disabled = true;
  try {
    await send(sent.form.answers, sent.files());
    announce(announced);
    status("setup-status", told);
    await render();
    byId("timeline-heading").focus();
  } catch (error) {
    status("application-error", explain(error), "error");
  } finally {
    button.disabled = false;
  }
}

async function withdraw() {
  const yes = await confirmAction({ heading: t("Withdraw the application?"), action: t("Withdraw the application"),
    text: t("The unit will not decide on it. This cannot be undone, but you can send a new application."), danger: true });
  if (!yes) return;
  status("application-error", "");
  try {
    await client.withdraw(view);
    status("setup-status", t("Your application is withdrawn."));
    announce(t("Your application is withdrawn."));
    await render();
    byId("application-title").focus();
  } catch (error) {
    status("application-error", explain(error), "error");
  }
}

/**
 * A device the citizen added after sending (or a paper application) reads the records through the case key,
 * which a key holder gives a new device within moments: wait for it (bounded), then draw again.
 */
async function waitForCaseKey() {
  const unopened = [...view.opened.values()].some((o) => o.error);
  const grant = view.grants.find((g) => g.recipient.startsWith("case:"));
  if (!unopened || !grant) return;
  status("setup-status", t("Waiting for this device to be given the keys to the case…"));
  try {
    const a = view.application;
    await app.session.caseKey({ id: a.case_id, unit: a.unit_id }, Number(grant.recipient.slice(5)), true);
    status("application-error", "");
    await render();
    status("setup-status", "");
  } catch (error) {
    status("setup-status", explain(error), "error");
  }
}

async function main() {
  app = await boot();
  client = new ApplicationClient(app.session);
  byId("supplement-form").addEventListener("submit", (event) => sendForm(event, supplement,
    (answers, files) => client.supplement(view, answers.text.trim(), files), t("Your answer is sent."),
    t("Your answer is sent to the unit.")));
  byId("communication-form").addEventListener("submit", (event) => sendForm(event, comments,
    (answers, files) => client.answerCommunication(view, answers.text.trim(), files), t("Your comments are sent."),
    t("Your comments are sent to the unit.")));
  byId("appeal-form").addEventListener("submit", (event) => sendForm(event, appeal, async (answers, files) => {
    await client.appeal(view, view.decisions.at(-1).id, { change: answers.change.trim(), why: answers.why.trim(), chosen: files });
    byId("appeal-form").hidden = true;
    byId("appeal-start").setAttribute("aria-expanded", "false");
  }, t("Your appeal is sent."), t("Your appeal is sent to the unit. You can follow it here.")));
  byId("withdraw").addEventListener("click", withdraw);
  byId("decision-print").addEventListener("click", () => print());
  byId("decision-save").addEventListener("click", saveDecision);
  byId("appeal-start").addEventListener("click", startAppeal);
  if (new URLSearchParams(location.search).get("sent")) {
    status("setup-status", t("Your application is sent. The unit is told, and you can follow it here."));
    history.replaceState({}, "", location.pathname);
  }
  await render();
  waitForCaseKey();
  app.live.addEventListener("application", (event) => {
    if (event.detail.application_id !== config.application_id) return;
    if (event.detail.what === "decision_received") { // she opened it (here or on another device): no news to announce
      render().catch((error) => status("application-error", explain(error), "error"));
      return;
    }
    render().then(() => announce(t("The application's status changed: %(status)s",
      { status: statusText(view.application) }))).catch((error) => status("application-error", explain(error), "error"));
  });
}

main().catch((error) => status("setup-status", explain(error), "error"));
