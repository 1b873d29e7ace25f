// "Automatiskt" and the rule beside what Samtal did or computed by itself, never a person's judgement (DOMAIN
// rule 10, chat/automation.py). The label is words, not only a style, so that it is read out too.
import { h } from "./dom.js";
import { t } from "./i18n.js";

export function automated(rule) {
  return h("span", { class: "automated" }, h("span", { class: "automated-label", text: t("Automatic") }), " ", rule);
}
