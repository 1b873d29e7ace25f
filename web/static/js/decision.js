// The decision as a document (docs/applications.md, "The decision"; förvaltningslagen 32-33 §§): what the
// caseworker's form makes of it, and how both sides see it. Its content (the outcome per applied item, amounts,
// period, reasons, legal basis, who decided under which delegation, the appeal guidance) is sealed in the
// decision record, signed by the deciding staff device; the server knows only who decided, when, and the day
// the citizen received it, from which it computes the appeal deadline (the `decisions[]` of an application).
import { h } from "./dom.js";
import { lang, t } from "./i18n.js";
import { textOf } from "./forms/engine.js";

export const ITEM_OUTCOMES = {
  granted: () => t("Granted"), partly: () => t("Partly granted"), refused: () => t("Refused"),
};

const money = new Intl.NumberFormat(lang, { maximumFractionDigits: 0 });
const longDay = new Intl.DateTimeFormat(lang, { weekday: "long", day: "numeric", month: "long", year: "numeric", timeZone: "UTC" });
const plainDay = new Intl.DateTimeFormat(lang, { day: "numeric", month: "long", year: "numeric", timeZone: "UTC" });

/** "8 202 kr" (whole kronor). */
export const kronor = (n) => t("%(amount)s kr", { amount: money.format(n) });

/** A `YYYY-MM-DD` day in words: "tisdag 29 december 2026" (long) or "29 december 2026". */
export function dayText(iso, long = false) {
  if (!iso) return "";
  const [y, m, d] = iso.split("-").map(Number);
  return (long ? longDay : plainDay).format(new Date(Date.UTC(y, m - 1, d)));
}

/** The Swedish calendar day of now, `YYYY-MM-DD` (the decision's date). */
export function swedishToday() {
  return new Intl.DateTimeFormat("sv-SE", { timeZone: "Europe/Stockholm" }).format(new Date());
}

/** The whole decision's outcome from its items: granted when all are, refused when none is, else partly. */
export function overallOutcome(items) {
  if (items.every((i) => i.outcome === "granted")) return "granted";
  if (items.every((i) => i.outcome === "refused")) return "refused";
  return "partly";
}

/** The sum granted, or null when no item has an amount (a decision on something other than money). */
export function totalOf(items) {
  const amounts = items.filter((i) => Number.isInteger(i.amount));
  return amounts.length ? amounts.reduce((sum, i) => sum + i.amount, 0) : null;
}

const both = (text) => (typeof text === "string" ? text : textOf(text, lang));

/**
 * The applied items a decision starts from: the amounts the citizen answered in the form's costs section (the
 * unit's decisions.json names it), and the base amount of income support first. Each {label, applied}.
 */
export function itemsFromAnswers(def, answers, itemsConfig) {
  if (!def || !itemsConfig) return [{ label: "", applied: null }];
  const items = [{ label: both(itemsConfig.base), applied: null }];
  const section = def.sections.find((s) => s.id === itemsConfig.section);
  for (const field of section?.fields || []) {
    const value = answers?.[field.id];
    if (field.type === "amount" && Number.isInteger(value) && value > 0) {
      items.push({ label: textOf(field.label, lang), applied: value });
    } else if (field.type === "group" && Array.isArray(value)) {
      const amount = field.fields.find((f) => f.type === "amount");
      const what = field.fields.find((f) => f.type === "text");
      for (const row of value) {
        if (amount && Number.isInteger(row[amount.id])) {
          items.push({ label: String(row[what?.id] || textOf(field.label, lang)), applied: row[amount.id] });
        }
      }
    }
  }
  return items;
}

/** The first and last day of an application's month answer ("2026-12"), or null. */
export function periodOfMonth(month) {
  if (!/^\d{4}-\d{2}$/.test(month || "")) return null;
  const [y, m] = month.split("-").map(Number);
  const last = new Date(Date.UTC(y, m, 0)).getUTCDate();
  return { from: `${month}-01`, to: `${month}-${String(last).padStart(2, "0")}` };
}

/** The appeal guidance with the unit's name, in the page's language. */
export function appealText(body) {
  return both(body.appeal || "").replace("%(unit)s", body.unit || t("the unit"));
}

function periodText(period) {
  return period ? t("%(from)s – %(to)s", { from: dayText(period.from), to: dayText(period.to) }) : "";
}

/** What the citizen should know first: granted or not, how much, for which period, what to do next. */
function summary(body, meta, { isStaff }) {
  const total = Number.isInteger(body.total) ? body.total : null;
  const parts = [h("p", { class: `decision-outcome outcome-${body.outcome}`, text: ITEM_OUTCOMES[body.outcome]?.() || body.outcome })];
  if (total !== null && body.outcome !== "refused") {
    const forPeriod = body.period ? t("for %(period)s", { period: periodText(body.period) }) : "";
    parts.push(h("p", { class: "decision-amount" }, isStaff ? t("Granted in total: ") : t("You get "),
      h("strong", { text: kronor(total) }), forPeriod ? ` ${forPeriod}` : ""));
  } else if (body.period) {
    parts.push(h("p", { text: t("Period: %(period)s", { period: periodText(body.period) }) }));
  }
  const next = [];
  if (meta?.appeal_deadline) {
    next.push(h("p", { class: "decision-deadline" }, h("strong", { text: body.outcome === "granted"
      ? t("If you want to appeal, the appeal must reach the unit by %(date)s.", { date: dayText(meta.appeal_deadline, true) })
      : t("If you are not satisfied, you can appeal. The appeal must reach the unit by %(date)s.", { date: dayText(meta.appeal_deadline, true) }) })));
  } else if (meta && !meta.received_at) {
    next.push(h("p", { class: "muted", text: isStaff
      ? t("Not yet received: no device of the citizen's has opened it, and no day of receipt is recorded.")
      : t("You have three weeks to appeal from the day you received the decision.") }));
  }
  if (!isStaff) next.push(h("p", { text: t("Questions? Write to us in the case's messages.") }));
  return h("div", { class: "decision-summary" }, ...parts, ...next);
}

function itemList(body) {
  return h("ul", { class: "decision-items" }, ...body.items.map((item) => h("li", {},
    h("span", { class: "decision-item-label", text: String(item.label) }),
    h("span", { class: `decision-item-outcome outcome-${item.outcome}`, text: ITEM_OUTCOMES[item.outcome]?.() || "" }),
    Number.isInteger(item.applied) ? h("span", { class: "muted", text: t("Applied for: %(amount)s", { amount: kronor(item.applied) }) }) : null,
    Number.isInteger(item.amount) ? h("span", { text: t("Granted: %(amount)s", { amount: kronor(item.amount) }) }) : null)));
}

/**
 * The decision document: the summary first, then every part FL 32-33 §§ asks for. `meta` is the server's
 * decisions[] row (null in the caseworker's preview); `headingLevel` the level of its parts' headings.
 */
export function decisionDocument(body, meta, { isStaff = false, headingLevel = 3, title = "" } = {}) {
  const hx = (text) => h(`h${headingLevel}`, { text });
  const decider = body.decided_by || {};
  const doc = h("div", { class: "decision-document" },
    title ? h(`h${headingLevel - 1}`, { class: "decision-title", text: title }) : null,
    summary(body, meta, { isStaff }),
    hx(t("What was decided")),
    itemList(body),
    body.period ? h("p", { text: t("Period: %(period)s", { period: periodText(body.period) }) }) : null,
    hx(t("Reasons")),
    h("p", { class: "record-text", text: String(body.reasons || body.text || "") }),
    hx(t("Legal basis")),
    h("ul", {}, ...(body.legal_basis || []).map((b) => h("li", { text: both(b.text) }))),
    hx(t("Who decided")),
    h("p", { text: [decider.name, decider.title].filter(Boolean).join(", ") }),
    body.delegation ? h("p", { text: t("Under delegation: %(delegation)s", { delegation: both(body.delegation.text || body.delegation) }) }) : null,
    h("p", { text: t("Date of the decision: %(date)s", { date: dayText(body.date) }) }),
    h("p", { class: "muted", text: meta
      ? t("Signed electronically by the deciding staff member's device; the signature was checked on this device.")
      : t("It will be signed electronically by this device when you send it.") }),
    meta?.received_on ? h("p", { text: meta.received_via === "staff"
      ? t("Received (recorded by the unit): %(date)s", { date: dayText(meta.received_on) })
      : t("Received in the app: %(date)s", { date: dayText(meta.received_on) }) }) : null,
    meta?.posted_at ? h("p", { text: t("Sent by post: %(date)s", { date: dayText(new Intl.DateTimeFormat("sv-SE", { timeZone: "Europe/Stockholm" }).format(new Date(meta.posted_at))) }) }) : null,
    hx(t("How to appeal")),
    h("p", { class: "record-text", text: appealText(body) }),
    meta?.appeal_deadline ? h("p", {}, h("strong", { text: t("Last day for an appeal to reach the unit: %(date)s", { date: dayText(meta.appeal_deadline, true) }) })) : null,
    meta?.appeal_deadline ? h("p", { class: "muted", text: t("Three weeks from the day the decision was received; when that day is a Saturday, Sunday, public holiday, Midsummer Eve, Christmas Eve or New Year's Eve, the next weekday.") }) : null);
  return doc;
}

/** A decision as plain text, for the case's documentation (a signed journal entry) and a saved copy. */
export function decisionText(body) {
  const lines = [`${t("Decision")}: ${ITEM_OUTCOMES[body.outcome]?.() || body.outcome}`];
  if (body.period) lines.push(t("Period: %(period)s", { period: periodText(body.period) }));
  for (const item of body.items) {
    lines.push(`- ${item.label}: ${ITEM_OUTCOMES[item.outcome]?.() || ""}${Number.isInteger(item.applied) ? `, ${t("Applied for: %(amount)s", { amount: kronor(item.applied) })}` : ""}${Number.isInteger(item.amount) ? `, ${t("Granted: %(amount)s", { amount: kronor(item.amount) })}` : ""}`);
  }
  if (Number.isInteger(body.total)) lines.push(`${t("Granted in total: ")}${kronor(body.total)}`);
  lines.push("", `${t("Reasons")}: ${body.reasons}`, "", `${t("Legal basis")}:`, ...(body.legal_basis || []).map((b) => `- ${both(b.text)}`));
  lines.push("", `${t("Who decided")}: ${[body.decided_by?.name, body.decided_by?.title].filter(Boolean).join(", ")}`);
  if (body.delegation) lines.push(t("Under delegation: %(delegation)s", { delegation: both(body.delegation.text) }));
  lines.push(t("Date of the decision: %(date)s", { date: dayText(body.date) }), "", `${t("How to appeal")}: ${appealText(body)}`);
  return lines.join("\n");
}

/** Whether a decision record's body is a decision document (version 2), not the earlier outcome and text. */
export const isDocument = (body) => body?.type === "decision" && body.version === 2 && Array.isArray(body.items);
