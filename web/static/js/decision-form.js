// The caseworker's decision form (docs/applications.md, "The decision"): one row per applied item, started from
// the application's answers (each cost the citizen applied for), with its outcome and the amount granted; the
// period, the reasons, the legal bases and the delegation the unit's decisions.json offers, and the decider's
// title. `body()` checks it and gives the decision document's body, or null with the problems shown at their
// fields (and the first focused); the page previews it before it is sealed and sent.
import { byId, fieldError, h } from "./dom.js";
import { lang, t } from "./i18n.js";
import { textOf } from "./forms/engine.js";
import { ITEM_OUTCOMES, itemsFromAnswers, overallOutcome, periodOfMonth, swedishToday, totalOf } from "./decision.js";

/** "12 500", "12500 kr", "12500:-" -> 12500; "" -> null; anything else -> NaN. */
function amountOf(value) {
  const text = value.replace(/\s|kr\.?$|:-$/gi, "");
  if (!text) return null;
  return /^\d{1,9}$/.test(text) ? Number(text) : Number.NaN;
}

export class DecisionForm {
  /** `config`: the unit's entry of /api/forms `decisions` ({legal_bases, delegations, items}); `appeal`: its text. */
  constructor(config, appeal) {
    this.config = config || { legal_bases: [], delegations: [] };
    this.appeal = appeal;
    this.rows = [];
    this.serial = 0;
    byId("decision-add-item").addEventListener("click", () => {
      const row = this._row({ label: "", applied: null });
      byId(`${row.id}-label`).focus();
    });
  }

  /** Start over for an application: its items from the answers, its month as the period, the unit's choices. */
  reset(def, answers, unitName, deciderName) {
    this.unitName = unitName;
    this.deciderName = deciderName;
    this.rows = [];
    byId("decision-items").replaceChildren();
    for (const item of itemsFromAnswers(def, answers, this.config.items?.[def?.id])) this._row(item);
    const period = periodOfMonth(answers?.month);
    byId("decision-from").value = period?.from || "";
    byId("decision-to").value = period?.to || "";
    byId("decision-text").value = "";
    byId("decision-basis-other").value = "";
    byId("decision-basis-options").replaceChildren(...this.config.legal_bases.map((b, i) => h("label", { class: "option", for: `decision-basis-${i}` },
      h("input", { type: "checkbox", id: `decision-basis-${i}`, name: "basis", value: b.id }), " ", h("span", { text: textOf(b.text, lang) }))));
    byId("decision-delegation").replaceChildren(...this.config.delegations.map((d) => h("option", { value: d.id, text: textOf(d.text, lang) })));
    for (const id of ["decision-items", "decision-period", "decision-text", "decision-basis"]) fieldError(id, "");
  }

  _row(item) {
    const id = `decision-item-${++this.serial}`;
    const outcome = h("select", { id: `${id}-outcome`, "aria-describedby": `${id}-error` },
      h("option", { value: "", text: t("Choose") }),
      ...Object.entries(ITEM_OUTCOMES).map(([value, name]) => h("option", { value, text: name() })));
    const field = (suffix, label, input) => h("div", { class: "field" }, h("label", { for: `${id}-${suffix}`, text: label }), input);
    const remove = h("button", { type: "button", class: "button secondary small" });
    const legend = h("legend");
    const row = { id, legend, remove, element: h("fieldset", { class: "subform decision-item", id },
      legend,
      h("p", { id: `${id}-error`, class: "field-error", hidden: true }),
      field("label", t("What was applied for"), h("input", { type: "text", id: `${id}-label`, maxlength: "200", value: item.label || "" })),
      field("applied", t("Amount applied for (kr, optional)"), h("input", { type: "text", inputmode: "numeric", id: `${id}-applied`,
        value: Number.isInteger(item.applied) ? String(item.applied) : "" })),
      field("outcome", t("Decision on this item"), outcome),
      field("amount", t("Amount granted (kr)"), h("input", { type: "text", inputmode: "numeric", id: `${id}-amount`, "aria-describedby": `${id}-error` })),
      remove) };
    remove.addEventListener("click", () => {
      this.rows = this.rows.filter((r) => r !== row);
      row.element.remove();
      this._number();
      byId("decision-add-item").focus();
    });
    this.rows.push(row);
    byId("decision-items").append(row.element);
    this._number();
    return row;
  }

  _number() {
    this.rows.forEach((row, i) => {
      row.legend.textContent = t("Applied item %(n)s", { n: i + 1 });
      row.remove.textContent = t("Remove item %(n)s", { n: i + 1 });
      row.remove.hidden = this.rows.length === 1;
    });
  }

  /** One item's values, or a problem: {item} | {error, focus}. */
  _item(row) {
    const value = (suffix) => byId(`${row.id}-${suffix}`).value.trim();
    const label = value("label");
    const applied = amountOf(value("applied"));
    const outcome = value("outcome");
    let amount = amountOf(value("amount"));
    if (!label) return { error: t("Write what was applied for."), focus: "label" };
    if (Number.isNaN(applied)) return { error: t("Write the amount applied for in whole kronor, or leave it empty."), focus: "applied" };
    if (!outcome) return { error: t("Choose the decision on this item."), focus: "outcome" };
    if (Number.isNaN(amount)) return { error: t("Write the amount granted in whole kronor."), focus: "amount" };
    if (outcome === "refused") amount = amount === null ? (applied === null ? null : 0) : amount;
    if (outcome === "granted" && amount === null) amount = applied;
    if (outcome === "refused" && amount) return { error: t("A refused item grants nothing: leave the amount empty or 0."), focus: "amount" };
    if (outcome === "partly" && (amount === null || (applied !== null && !(amount > 0 && amount < applied)))) {
      return { error: t("For a partly granted item, write the amount granted: more than 0 and less than the amount applied for."), focus: "amount" };
    }
    return { item: { label, applied, outcome, amount } };
  }

  /** The decision document's body, or null when something needs correcting (shown, and the first focused). */
  body() {
    const problems = [];
    const items = [];
    for (const row of this.rows) {
      const found = this._item(row);
      fieldError(row.id, found.error || "");
      if (found.error) problems.push(`${row.id}-${found.focus}`);
      else items.push(found.item);
    }
    const from = byId("decision-from").value;
    const to = byId("decision-to").value;
    const badPeriod = (from || to) && !(from && to && from <= to);
    fieldError("decision-period", badPeriod ? t("Give both days of the period, the first not after the last.") : "");
    if (badPeriod) problems.push("decision-from");
    const reasons = byId("decision-text").value.trim();
    fieldError("decision-text", reasons ? "" : t("Write the reasons for the decision."));
    if (!reasons) problems.push("decision-text");
    const bases = [...document.querySelectorAll("#decision-basis-options input:checked")].map((input) =>
      this.config.legal_bases.find((b) => b.id === input.value));
    const other = byId("decision-basis-other").value.trim(); // a provision the unit's list lacks, as written
    if (other) bases.push({ id: "other", text: other });
    fieldError("decision-basis", bases.length ? "" : t("Choose the legal basis the decision rests on."));
    if (!bases.length) problems.push(this.config.legal_bases.length ? "decision-basis-0" : "decision-basis-other");
    if (problems.length) {
      byId(problems[0])?.focus();
      return null;
    }
    const delegation = this.config.delegations.find((d) => d.id === byId("decision-delegation").value) || null;
    return {
      type: "decision", version: 2, outcome: overallOutcome(items), items, total: totalOf(items),
      period: from ? { from, to } : null, reasons, legal_basis: bases.map((b) => ({ id: b.id, text: b.text })),
      decided_by: { name: this.deciderName, title: byId("decision-title").value.trim() },
      delegation: delegation ? { id: delegation.id, text: delegation.text } : null,
      date: swedishToday(), unit: this.unitName, appeal: this.appeal,
    };
  }
}
