// Ansök, for the citizen on a phone: choose a unit's form, fill it in (saved as a draft on this device as
// one goes, encrypted, never sent until it is sent), send it sealed to the unit, and see one's applications.
// `?draft=ID` reopens a draft.
import { announce, byId, h, status } from "../dom.js";
import { isoTime, shortTime } from "../format.js";
import { lang, t } from "../i18n.js";
import { alertError, boot, config, explain } from "../app.js";
import { ApplicationClient, statusText } from "../applications.js";
import { emptyAnswers, textOf } from "../forms/engine.js";
import { FormView } from "../forms/render.js";
import { Drafts } from "../forms/drafts.js";
import { confirmAction } from "../confirm.js";

const SAVE_AFTER_MS = 400;

let app;
let client;
let drafts;
let catalogue;
let open = null; // {draft, def, unit, view}
let saving = null;

function formName(formId) {
  return textOf(catalogue.forms.get(formId)?.title, lang) || formId;
}

function unitName(unitId) {
  return catalogue.units.find((u) => u.id === unitId)?.name || unitId;
}

// -- choosing ---------------------------------------------------------------------------------------------
/** A filled-in draft is gone for good once deleted (it is on this device only): asked first. */
function confirmDelete(formId) {
  return confirmAction({ heading: t("Delete the draft?"), action: t("Delete the draft"), danger: true,
    text: t("Your answers to %(form)s are deleted from this device and cannot be brought back.", { form: formName(formId) }) });
}

async function renderChoices() {
  const items = catalogue.units.flatMap((unit) => unit.forms.map((formId) => h("li", {},
    h("button", { type: "button", class: "button secondary choice form-choice", "data-form": formId,
      onclick: () => start(unit.id, formId) },
    h("span", { text: formName(formId) }), " ", h("span", { class: "role", text: unit.name })))));
  byId("form-list").replaceChildren(...items);
  if (!items.length) byId("form-list").append(h("li", { class: "empty", text: t("No unit takes applications here yet.") }));

  const mine = await drafts.list();
  byId("draft-list").replaceChildren(...mine.map((d) => h("li", { class: "device draft", "data-draft": d.id },
    h("p", {}, h("strong", { text: formName(d.formId) })),
    h("p", { class: "muted" }, t("Saved %(time)s", { time: shortTime(d.updatedAt) }), " · ", unitName(d.unitId)),
    h("div", { class: "form-actions" },
      h("a", { class: "button secondary", href: `/apply?draft=${encodeURIComponent(d.id)}`, text: t("Continue"),
        "aria-label": t("Continue the draft %(form)s", { form: formName(d.formId) }),
        onclick: (event) => { event.preventDefault(); resume(d.id); } }),
      h("button", { type: "button", class: "button quiet", text: t("Delete"),
        "aria-label": t("Delete the draft %(form)s", { form: formName(d.formId) }),
        onclick: async () => {
          if (!await confirmDelete(d.formId)) return;
          await drafts.remove(d.id);
          announce(t("The draft is deleted."));
          await renderChoices();
          byId("drafts-heading").focus();
        } })))));
  if (!mine.length) byId("draft-list").append(h("li", { class: "empty", text: t("You have no drafts.") }));

  const sent = await client.list();
  byId("my-applications").replaceChildren(...sent.map((a) => h("li", { class: "case-item" },
    h("a", { class: "case-link", href: `/apply/${encodeURIComponent(a.id)}` },
      h("span", { class: "case-title", text: formName(a.form_id) }),
      h("span", { class: "case-meta", text: `${unitName(a.unit_id)} · ${a.case_id}` }),
      h("span", { class: "case-foot" },
        h("time", { datetime: isoTime(a.submitted_at), text: t("Sent %(time)s", { time: shortTime(a.submitted_at) }) }),
        h("span", { class: `badge status-${a.status}`, text: statusText(a) }))))));
  if (!sent.length) byId("my-applications").append(h("li", { class: "empty", text: t("You have not sent any applications.") }));
}

function showChoices() {
  open = null;
  byId("application-form").hidden = true;
  byId("choose").hidden = false;
  byId("apply-title").textContent = t("Apply");
  document.title = `${t("Apply")} – Samtal`;
}

// -- filling in ---------------------------------------------------------------------------------------------
async function start(unitId, formId) {
  const def = catalogue.forms.get(formId);
  const draft = drafts.create(unitId, def);
  draft.answers = emptyAnswers(def);
  await drafts.save(draft);
  history.pushState({ draft: draft.id }, "", `/apply?draft=${encodeURIComponent(draft.id)}`);
  showForm(draft);
}

async function resume(draftId) {
  const draft = await drafts.load(draftId);
  if (!draft) {
    status("apply-error", t("The draft could not be found on this device."), "error");
    showChoices();
    return;
  }
  if (location.search !== `?draft=${encodeURIComponent(draftId)}`) {
    history.pushState({ draft: draftId }, "", `/apply?draft=${encodeURIComponent(draftId)}`);
  }
  showForm(draft);
}

function showForm(draft) {
  const def = catalogue.forms.get(draft.form_id);
  if (!def || def.version !== draft.form_version) {
    status("apply-error", t("The form has changed since the draft was saved. Start a new application; the old draft can be deleted."), "error");
  }
  if (!def) return;
  const view = new FormView(def, draft.answers || emptyAnswers(def), {
    lang, idPrefix: "f", maxBytes: config.max_attachment_bytes,
    onChange: () => scheduleSave(),
    attach: async (file) => {
      const { ref, blob } = await client.encrypt(file, config.max_attachment_bytes);
      draft.files.set(ref.local, blob);
      return ref;
    },
    detach: (ref) => draft.files.delete(ref.local),
  });
  open = { draft, def, view };
  draft.answers = view.answers;
  byId("choose").hidden = true;
  byId("application-form").hidden = false;
  byId("apply-title").textContent = textOf(def.title, lang);
  document.title = `${textOf(def.title, lang)} – Samtal`;
  byId("form-unit").textContent = t("To: %(unit)s", { unit: unitName(draft.unit_id) });
  byId("form-description").textContent = textOf(def.description, lang);
  byId("form-body").replaceChildren(view.element);
  byId("draft-status").textContent = "";
  byId("apply-title").focus();
}

// The line under the form says when the draft was last saved; it is not a live region, so that a screen
// reader is not interrupted after every pause in typing (the form's introduction says drafts are kept).
function scheduleSave() {
  clearTimeout(saving);
  const current = open;
  byId("draft-status").dataset.state = "saving";
  saving = setTimeout(async () => {
    if (!current || open !== current) return;
    await drafts.save(current.draft);
    byId("draft-status").textContent = t("Draft saved on this device %(time)s.", { time: shortTime(Date.now()) });
    byId("draft-status").dataset.state = "saved";
  }, SAVE_AFTER_MS);
}

async function send(event) {
  event.preventDefault();
  if (!open) return;
  status("apply-error", "");
  const errors = open.view.showErrors();
  if (errors.length) return;
  const { draft, def, view } = open;
  const button = byId("send-application");
  button.disabled = true;
  status("setup-status", t("Encrypting and sending…"));
  try {
    clearTimeout(saving);
    await drafts.save(draft);
    const answer = await client.submit({ unitId: draft.unit_id, def, applicationId: draft.application_id,
      answers: view.answers, files: draft.files });
    await drafts.remove(draft.id);
    location.assign(`/apply/${encodeURIComponent(answer.application.id)}?sent=1`);
  } catch (error) {
    status("setup-status", "");
    status("apply-error", error.code === "no_unit_key"
      ? t("The unit cannot receive applications right now. Your draft is kept; try again later.")
      : t("%(problem)s Your draft is kept on this device.", { problem: explain(error) }), "error");
    button.disabled = false;
  }
}

async function route() {
  const draftId = new URLSearchParams(location.search).get("draft");
  if (draftId) await resume(draftId);
  else {
    showChoices();
    await renderChoices();
  }
}

async function main() {
  app = await boot();
  client = new ApplicationClient(app.session);
  drafts = new Drafts(app.me.user.id);
  catalogue = await client.forms();
  byId("application-form").addEventListener("submit", send);
  byId("delete-draft").addEventListener("click", async () => {
    if (!open || !await confirmDelete(open.def.id)) return;
    clearTimeout(saving);
    await drafts.remove(open.draft.id);
    history.pushState({}, "", "/apply");
    showChoices();
    await renderChoices();
    announce(t("The draft is deleted."));
    byId("apply-title").focus();
  });
  byId("application-form").querySelector(".back").addEventListener("click", async (event) => {
    event.preventDefault();
    if (open) {
      clearTimeout(saving);
      await drafts.save(open.draft);
    }
    history.pushState({}, "", "/apply");
    await route();
  });
  addEventListener("popstate", () => route().catch((error) => alertError("apply-error", error)));
  app.live.addEventListener("application", () => {
    if (!open) renderChoices().catch(() => {});
  });
  await route();
}

main().catch((error) => status("setup-status", explain(error), "error"));
