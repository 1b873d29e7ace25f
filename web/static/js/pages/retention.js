// Gallring: the rules in force in the staff member's unit, its legal holds (a supervisor sets and lifts
// them) and the deletion register. Every deletion in the register was made by the automated job under a
// rule, and the page says so in each row (DOMAIN rule 10: an automated step is labelled).
import { api } from "../api.js";
import { announce, byId, h } from "../dom.js";
import { dateAndTime, isoTime } from "../format.js";
import { t, tn } from "../i18n.js";
import { alertError, boot, config, guardedBy } from "../app.js";

const KINDS = {
  message: () => t("Messages"), attachment: () => t("Attachments"), journal: () => t("Journal entries and remarks"),
  application: () => t("Applications and decisions"), booking: () => t("Bookings"),
  case: () => t("Cases left empty"), audit: () => t("Audit log rows"),
};
const SOURCES = { unit: () => t("the unit"), all: () => t("the municipality, for every unit"),
  default: () => t("the law (Social Services Act)") };
const guarded = guardedBy("retention-error");
const kindName = (kind) => (KINDS[kind] ? KINDS[kind]() : kind);

function kept(rule) {
  return rule.keep_years === null ? t("Never deleted")
    : tn("%(n)s year after the last entry", "%(n)s years after the last entry", rule.keep_years, { n: rule.keep_years });
}

function period(text) {
  // 5y, 1826d or keep, as the register writes them; anything else is shown as it is
  const found = /^(\d+)([yd])$/.exec(text || "");
  if (!found) return text === "keep" ? t("Never deleted") : text || "";
  const n = Number(found[1]);
  return found[2] === "y" ? tn("%(n)s year", "%(n)s years", n, { n }) : tn("%(n)s day", "%(n)s days", n, { n });
}

function ruleName(name) {
  // e.g. default:message:5y, unit:journal:3y, audit:1826d, audit, empty (a case with nothing left)
  if (name === "empty") return t("The case had nothing left");
  const parts = name.split(":");
  if (parts[0] === "audit") return t("The audit log's own period (%(period)s)", { period: period(parts[1]) });
  return `${SOURCES[parts[0]] ? SOURCES[parts[0]]() : parts[0]}: ${period(parts[2])}`;
}

function renderRules(rules) {
  byId("rule-rows").replaceChildren(...rules.map((r) => h("tr", {},
    h("td", { text: kindName(r.kind) }), h("td", { text: kept(r) }),
    h("td", { text: SOURCES[r.source] ? SOURCES[r.source]() : r.source }))));
}

function renderHolds(holds, canHold) {
  const list = byId("hold-list");
  list.replaceChildren(...holds.map((hold, i) => h("li", {},
    h("p", { id: `hold-${i}` }, h("strong", { text: hold.title }), " · ", t("Case %(id)s", { id: hold.case_id })),
    h("p", { class: "muted" }, t("Held since"), " ",
      h("time", { datetime: isoTime(hold.set_at), text: dateAndTime(hold.set_at) }), " · ",
      t("by %(name)s", { name: hold.set_by }), " · ", hold.reason),
    canHold ? h("button", { type: "button", class: "button secondary", "aria-describedby": `hold-${i}`,
      onclick: () => guarded(() => setHold(hold.case_id, false, "")), text: t("Lift the hold") }) : null)));
  if (!holds.length) list.append(h("li", { class: "empty", text: t("No case is under a legal hold.") }));
  byId("hold-form").hidden = !canHold;
}

function renderRegister(rows) {
  byId("register-rows").replaceChildren(...rows.map((row) => h("tr", {},
    h("td", {}, h("time", { datetime: isoTime(row.at), text: dateAndTime(row.at) })),
    h("td", { text: kindName(row.kind) }), h("td", { text: String(row.count) }),
    h("td", { text: ruleName(row.rule) }),
    h("td", { text: row.automated ? t("Automated, by rule") : t("A person") }))));
  byId("register-empty").hidden = rows.length > 0;
}

function offerRules(rules) {
  // The unit's own rule per kind: the municipality's or the law's (default), a number of years, or never.
  const kinds = byId("rule-kind");
  if (!kinds.options.length) {
    kinds.replaceChildren(...rules.map((r) => h("option", { value: r.kind, text: kindName(r.kind) })));
    byId("rule-period").replaceChildren(
      h("option", { value: "default", text: t("As the municipality or the law says") }),
      ...[1, 2, 3, 5, 10, 20].map((n) => h("option", { value: String(n), text: period(`${n}y`) })),
      h("option", { value: "never", text: t("Never deleted") }));
  }
  byId("rule-form").hidden = !canHold;
}

let canHold = false;

async function show() {
  const data = await api("GET", "/api/retention");
  renderRules(data.rules);
  offerRules(data.rules);
  renderHolds(data.holds, canHold);
  renderRegister(data.register);
}

async function setHold(caseId, held, reason) {
  await api("PUT", `/api/cases/${encodeURIComponent(caseId)}/legal-hold`, { held, reason });
  announce(held ? t("The case is under a legal hold.") : t("The legal hold is lifted."));
  await show();
}

async function main() {
  const { me } = await boot("setup-status", { keys: false }); // rules and counts only: no device keys needed
  if (config.denied) return;
  canHold = ["supervisor", "unit_admin"].includes(me.user.role);
  byId("rule-form").addEventListener("submit", (event) => {
    event.preventDefault();
    guarded(async () => {
      const choice = byId("rule-period").value;
      const body = /^\d+$/.test(choice) ? { period: "years", years: Number(choice) } : { period: choice };
      await api("PUT", `/api/retention/rules/${encodeURIComponent(byId("rule-kind").value)}`, body);
      announce(t("The unit's rule is saved."));
      await show();
    });
  });
  byId("hold-form").addEventListener("submit", (event) => {
    event.preventDefault();
    guarded(async () => {
      await setHold(byId("hold-case").value.trim(), true, byId("hold-reason").value);
      byId("hold-form").reset();
    });
  });
  await show();
}

main().catch((error) => alertError("retention-error", error));
