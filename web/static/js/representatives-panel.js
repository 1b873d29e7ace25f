// The staff's view of who acts for a case's citizen (docs/representatives.md): the representatives and
// guardians with their mandates, a way to end one, and a form to register one by a court decision or as a
// child's custodian. The policy decides on the server; a refusal is shown in words.
import { api } from "./api.js";
import { announce, byId, h, status } from "./dom.js";
import { shortDate } from "./format.js";
import { t } from "./i18n.js";
import { explain } from "./app.js";
import { confirmAction } from "./confirm.js";
import { mandateWords } from "./representation.js";

const DAY_MS = 24 * 3600 * 1000;
let caseId = null;

function dayStart(value) {
  const [y, m, d] = value.split("-").map(Number);
  return new Date(y, m - 1, d).getTime();
}

function item(m) {
  const words = mandateWords({ on_behalf: m });
  const state = m.in_force ? t("In force") : (m.ended_at ? t("Ended %(date)s", { date: shortDate(m.ended_at) })
    : t("Not in force"));
  const end = m.in_force || (!m.ended_at && m.starts_at > Date.now())
    ? h("button", { type: "button", class: "button quiet",
      text: t("End the mandate of %(name)s", { name: m.holder_name || m.holder }) })
    : null;
  end?.addEventListener("click", () => endMandate(m));
  return h("li", { class: "device representative", "data-mandate": String(m.id) },
    h("p", {}, h("strong", { text: m.holder_name || m.holder }), ` · ${state}`),
    h("p", { class: "muted", text: words }),
    end);
}

async function endMandate(m) {
  const asked = await confirmAction({ heading: t("End %(name)s's mandate?", { name: m.holder_name }),
    text: t("They can no longer read or act in the case, and the case gets a new key."), action: t("End the mandate"),
    danger: true });
  if (!asked) return;
  try {
    await api("POST", `/api/cases/${encodeURIComponent(caseId)}/representatives/${m.id}/end`);
    announce(t("The mandate has ended."));
    await showRepresentatives(caseId);
  } catch (error) {
    status("representative-status", explain(error), "error");
  }
}

async function register(event) {
  event.preventDefault();
  const form = event.target;
  const data = new FormData(form);
  const kind = data.get("kind");
  const from = data.get("starts");
  const body = {
    name: String(data.get("name") || ""), personal_number: String(data.get("personal_number") || ""), kind,
    basis: kind === "guardian" ? "custody" : "court_decision", reference: String(data.get("reference") || ""),
    scopes: ["read", ...data.getAll("scopes").map(String)],
    starts_at: from ? dayStart(String(from)) : Date.now(),
  };
  if (data.get("ends")) body.ends_at = dayStart(String(data.get("ends"))) + DAY_MS;
  if (data.get("child_born")) body.child_born = String(data.get("child_born"));
  try {
    const { representative } = await api("POST", `/api/cases/${encodeURIComponent(caseId)}/representatives`, body);
    form.reset();
    announce(t("%(name)s is registered.", { name: representative.holder_name }));
    status("representative-status", t("%(name)s is registered.", { name: representative.holder_name }));
    await showRepresentatives(caseId);
  } catch (error) {
    status("representative-status", explain(error), "error");
  }
}

/** Fill the panel for the case open in the inbox. */
export async function showRepresentatives(id) {
  caseId = id;
  const list = byId("representative-list");
  try {
    const { representatives } = await api("GET", `/api/cases/${encodeURIComponent(id)}/representatives`);
    list.replaceChildren(...(representatives.length ? representatives.map(item)
      : [h("li", { class: "muted", text: t("No one is registered to act for the citizen.") })]));
  } catch (error) {
    status("representative-status", explain(error), "error");
  }
}

export function wireRepresentatives() {
  byId("representative-form").addEventListener("submit", register);
}
