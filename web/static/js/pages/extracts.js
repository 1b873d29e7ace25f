// Registerutdrag at the desk (docs/extract.md): staff register a person's request, make the unit's part on
// this device (opened with the unit's keys, as the citizen's own device opens hers) and mark it handed over;
// requests other units sent here are answered the same way. Each is due a month on (computed: Automatiskt).
import { api } from "../api.js";
import { byId, h, status } from "../dom.js";
import { fullTime } from "../format.js";
import { t } from "../i18n.js";
import { alertError, boot, explain } from "../app.js";
import { automated } from "../automated.js";
import { offerDownload, serialise } from "../journal-export.js";
import { extractDocument, extractJson, openHeld } from "../extract-document.js";

let app;
let unit;
const base = () => `/api/units/${encodeURIComponent(unit)}/extracts`;

async function people() {
  const { cases } = await api("GET", "/api/cases");
  const names = new Map(cases.map((c) => [c.citizen, c.citizen_name || c.citizen]));
  const sorted = [...names].sort((a, b) => a[1].localeCompare(b[1]));
  byId("extract-person").replaceChildren(h("option", { value: "", text: t("Choose a person") }),
    ...sorted.map(([id, name]) => h("option", { value: id, text: name })));
}

function stateOf(r) {
  if (r.delivered_at) return t("Handed over %(time)s", { time: fullTime(r.delivered_at) });
  return r.overdue ? t("Overdue") : t("Open");
}

function requestItem(r) {
  const make = h("button", { type: "button", class: "button secondary", text: t("Download the unit's part") });
  const data = h("button", { type: "button", class: "button secondary", text: t("Download the data (JSON)") });
  const done = h("button", { type: "button", class: "button secondary", text: t("Mark as handed over") });
  const line = `extract-line-${r.id}`;
  const offer = (json) => async () => {
    status(line, t("Opening the unit's part…"));
    try {
      const held = await openHeld(app, await api("GET", `${base()}/${encodeURIComponent(r.id)}`));
      const name = `registerutdrag-${r.id}-${new Date().toISOString().slice(0, 10)}`;
      if (json) offerDownload(extractJson(held), "application/json", `${name}.json`);
      else offerDownload(serialise(await extractDocument(app, held)), "text/html;charset=utf-8", `${name}.html`);
      status(line, t("The unit's part is downloaded. Print it or hand it over, then mark it as handed over."));
    } catch (error) {
      status(line, explain(error), "error");
    }
  };
  make.addEventListener("click", offer(false));
  data.addEventListener("click", offer(true));
  done.addEventListener("click", async () => {
    try {
      await api("POST", `${base()}/${encodeURIComponent(r.id)}/delivered`, {});
      await load();
    } catch (error) {
      status(line, explain(error), "error");
    }
  });
  const others = r.other_units;
  return h("li", { class: "card", "data-request": r.id },
    h("h3", { text: r.citizen_name || r.citizen_id }),
    h("p", {}, r.parent_id ? t("Asked of this unit by another unit %(time)s.", { time: fullTime(r.requested_at) })
      : t("Asked at the desk %(time)s.", { time: fullTime(r.requested_at) })),
    h("p", {}, t("Due by %(time)s.", { time: fullTime(r.due_at) }), " ",
      automated(t("computed by Samtal: one month after the request (GDPR art. 12.3)."))),
    h("p", {}, h("strong", { text: stateOf(r) })),
    others && others.count ? h("p", { text: t("Other units asked: %(count)s; handed over: %(delivered)s; overdue: %(overdue)s.", others) }) : null,
    h("div", { class: "form-actions" }, make, data, r.delivered_at ? null : done),
    h("p", { id: line, class: "status", role: "status" }));
}

async function load() {
  const list = byId("extract-requests");
  const { requests } = await api("GET", base());
  list.replaceChildren(...requests.map(requestItem));
  if (!requests.length) list.append(h("li", { class: "empty", text: t("No requests yet.") }));
  list.removeAttribute("aria-busy");
}

async function register(event) {
  event.preventDefault();
  const person = byId("extract-person").value;
  if (!person) return status("extract-form-status", t("Choose the person who asks."), "error");
  try {
    const made = await api("POST", base(), { citizen_id: person });
    status("extract-form-status", made.other_units
      ? t("The request is registered, and %(n)s other units are asked for their parts.", { n: made.other_units })
      : t("The request is registered. No other unit holds a case of the person."));
    await load();
  } catch (error) {
    status("extract-form-status", explain(error), "error");
  }
}

async function main() {
  app = await boot();
  unit = app.me.user.unit_id;
  byId("extract-form").addEventListener("submit", register);
  await Promise.all([people(), load()]);
}

main().catch((error) => alertError("extracts-error", error));
