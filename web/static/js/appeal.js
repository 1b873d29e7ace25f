// Överklagande (FL 44-46 §§, docs/applications.md "Appeals"): the citizen's appeal form, and where an appeal
// stands, from the application's timeline (the steps are metadata; what was written is sealed).
import { t } from "./i18n.js";
import { textAndFiles } from "./applications.js";

/** The newest appeal and what followed it: {event, steps: [kinds after it]} or null. */
export function appealState(view) {
  const i = view.events.map((e) => e.kind).lastIndexOf("appealed");
  if (i < 0) return null;
  return { event: view.events[i], steps: view.events.slice(i + 1).map((e) => e.kind) };
}

/** The appeal form (which change, why, documents): {form, files()}. */
export function appealForm(client, maxBytes, { idPrefix = "a", title = t("Your appeal") } = {}) {
  const text = (s) => ({ sv: s, en: s });
  return textAndFiles(client, { title, idPrefix, fields: [
    { id: "change", type: "multiline", required: true, max_length: 4000, label: text(t("Which change do you want?")),
      help: text(t("For example: that you are granted the rent for May.")) },
    { id: "why", type: "multiline", required: true, max_length: 8000, label: text(t("Why should the decision be changed?")) },
  ] }, maxBytes);
}
