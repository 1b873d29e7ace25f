// Kommunicering (FL 25 §, docs/applications.md): what of it the timeline holds, for the decision form. Before a
// decision that goes against the applicant the unit shares what it rests on and lets them comment; the form
// shows whether that was done, when and how, and the comments, and asks why when it was not (DOMAIN rule 2).
import { h } from "./dom.js";
import { shortDate } from "./format.js";
import { t } from "./i18n.js";
import { METHODS } from "./applications.js";

/**
 * The newest kommunicering since the application was last taken up again: {done: false} or {done: true, at,
 * method, dueAt, recordId, basis, answers: [{at, recordId, text}]}; the bodies are opened records (or null).
 */
export function communicationState(view) {
  const events = view.events;
  const since = events.map((e) => e.kind).lastIndexOf("reopened");
  let found = null;
  for (const e of events.slice(since + 1)) {
    if (e.kind === "communicated") {
      found = { done: true, at: e.at, method: e.detail?.method || "app", dueAt: e.due_at, recordId: e.record_id,
        basis: view.opened.get(e.record_id)?.body || null, answers: [] };
    } else if (e.kind === "communication_answered" && found) {
      found.answers.push({ at: e.at, recordId: e.record_id, text: view.opened.get(e.record_id)?.body?.text ?? null });
    }
  }
  return found || { done: false };
}

/** The state in words, for the decision form. */
export function communicationSummary(state) {
  if (!state.done) {
    return [h("p", { class: "communication-missing" }, h("strong", { text: t("Kommunicering has not been done.") }))];
  }
  const method = METHODS[state.method]?.() || state.method;
  const parts = [h("p", {}, h("strong", { text: t("Kommunicering done %(date)s, %(method)s.", { date: shortDate(state.at), method }) }),
    state.dueAt ? " " + t("Comments by %(date)s.", { date: shortDate(state.dueAt) }) : "")];
  if (state.answers.length) {
    for (const answer of state.answers) {
      parts.push(h("p", {}, t("The applicant's comments, %(date)s:", { date: shortDate(answer.at) })));
      parts.push(h("blockquote", { class: "record-text", text: answer.text ?? t("This part could not be opened on this device.") }));
    }
  } else if (state.method === "app" || state.dueAt) {
    parts.push(h("p", { class: "muted", text: state.dueAt && state.dueAt < Date.now()
      ? t("No comments came in by the date.") : t("No comments yet.") }));
  }
  return parts;
}

/** What the decision record says of kommunicering: the state, and the reason when it was not done. */
export function communicationOfDecision(state, reason) {
  if (!state.done) return { done: false, reason };
  return { done: true, at: state.at, method: state.method, record: state.recordId,
    answers: state.answers.map((a) => a.recordId) };
}
