// The key ceremony in words, for every page where a device waits for keys: why it waits, who can help, and
// that the page carries on by itself once the keys come. A citizen's device is given case keys by any staff
// device of the unit that is open; a staff device is approved by a supervisor who holds the unit's keys,
// named here when the server says who does (GET /api/units/{unit}/staff, `approved_devices`).
import { api } from "./api.js";
import { lang, t } from "./i18n.js";

const MANAGERS = new Set(["supervisor", "unit_admin"]);

/** Why an action needs keys this device lacks (any page), and who gives them; no server round trip. */
export function noKeyWords(user) {
  if (user?.role === "citizen") {
    return t("This device has not been given the keys to the case yet. They are given as soon as someone at the unit has Samtal open. If it takes long, call the unit.");
  }
  if (user) {
    return t("This device has not been given the unit's keys yet. A supervisor approves a new device on the Unit page: ask a supervisor to do it, then try again.");
  }
  return t("This device has not been given the keys to the case yet. Try again in a moment.");
}

/** A conversation waiting for its keys, without asking the server who can help. */
export function waitingWords(user) {
  if (user.role === "citizen") {
    return t("This device has not been given the keys to the case yet. They are given as soon as someone at the unit has Samtal open; then the conversation opens here by itself. If it takes long, call the unit.");
  }
  return t("This device has not been given the unit's keys yet. A supervisor approves a new device on the Unit page after comparing its safety number with the one on your Devices page: ask a supervisor to do it. The conversation opens here by itself then.");
}

/** The words with who can approve this staff device by name, or that no supervisor can now. */
export async function waitingWordsWithHelp(user) {
  if (user.role === "citizen" || !user.unit_id) return waitingWords(user);
  let staff;
  try {
    ({ staff } = await api("GET", `/api/units/${encodeURIComponent(user.unit_id)}/staff`));
  } catch (error) {
    return waitingWords(user); // offline, say: the general words still hold
  }
  const approvers = staff.filter((p) => MANAGERS.has(p.role) && p.approved_devices > 0)
    .map((p) => (p.id === user.id ? t("yourself, on an approved device of yours") : p.display_name));
  if (!approvers.length) {
    return t("This device has not been given the unit's keys yet, and no supervisor of the unit has an approved device that could approve it now. Tell a supervisor: the Unit page says what to do. The conversation opens here by itself once this device is approved.");
  }
  const names = new Intl.ListFormat(lang, { type: "disjunction" }).format(approvers);
  return t("This device has not been given the unit's keys yet. A supervisor approves a new device on the Unit page after comparing its safety number with the one on your Devices page: ask %(names)s. The conversation opens here by itself then.", { names });
}
