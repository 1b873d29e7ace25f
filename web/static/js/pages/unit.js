// The supervisor's unit page: staff devices to approve (after comparing safety numbers in person; the
// browser wraps the unit key to the new device itself), case assignment, substitutes by period, the unit's
// video meeting link and its offices.
import { api } from "../api.js";
import { announce, byId, h, status } from "../dom.js";
import { dayStart, fullTime, isoTime, shortDate } from "../format.js";
import { t } from "../i18n.js";
import { alertError, boot, config, explain, guardedBy } from "../app.js";
import { confirmAction } from "../confirm.js";
import { fingerprint } from "../crypto/index.js";
import { OfficeList } from "../unit-offices.js";
import { certifyDevice } from "../identity.js";
import { IdentityPanel, holdsIdentity } from "../unit-identity.js";

const REFRESH_MS = 15000; // new devices also arrive while the page is open

let app;
let unitId;
let staff = [];
let identity;

const nameOf = (userId) => staff.find((u) => u.id === userId)?.display_name || userId;
const caseworkers = () => staff.filter((u) => u.role === "caseworker" || u.role === "supervisor");

function options(select, people, { none = null, selected = null } = {}) {
  select.replaceChildren(...(none ? [h("option", { value: "", text: none })] : []),
    ...people.map((u) => h("option", { value: u.id, text: u.display_name, selected: u.id === selected })));
}

const guarded = guardedBy("unit-error");

// -- devices to approve --------------------------------------------------------------------------------
/**
 * Why this device cannot approve others, in words with what to do; "" when it can. Approving passes on the
 * unit's keys, so a device that holds none (a supervisor's new browser) is offered no Approve that must fail,
 * but told which approved devices there are, or that none is left.
 */
function whyNoApproving(tasks) {
  const approved = tasks.approved_staff_devices;
  // No unit key yet, or one to renew: this browser does that itself in a moment (keywork.js).
  if (!tasks.unit_epoch || tasks.unit_key_rotation_needed) return "";
  if (approved.some((d) => d.id === app.session.deviceId)) return "";
  if (!approved.length) {
    return t("The unit has no approved device left, so no device can give this one the unit's keys, and this device cannot approve others. Contact your municipality's IT support.");
  }
  const devices = approved.map((d) => t("%(name)s: “%(label)s”, added %(time)s", {
    name: d.user_id === app.me.user.id ? t("You") : nameOf(d.user_id), label: d.label, time: fullTime(d.created_at) }));
  return t("This device is not approved yet, so it cannot approve devices: approving passes on the unit's keys, and this device does not have them. The unit's approved devices: %(devices)s. Approve this device from one of them, or ask its owner. If one of yours is lost or no longer used, remove it on your Devices page: the unit's keys are then made anew by a supervisor's device that is open.",
    { devices: devices.join("; ") });
}

async function pendingItem(device, mayApprove) {
  // The safety number is computed here from the device's keys (checked against its id), not taken from
  // the server's word.
  const keys = await app.session.deviceKeys(device.id);
  const number = await fingerprint(keys.signPub, keys.kemPub);
  const who = nameOf(device.user_id);
  const added = fullTime(device.created_at);
  // Two waiting devices of one person are told apart by when they were added and their number's start.
  const button = h("button", { type: "button", class: "button primary", text: t("Approve"),
    "aria-label": t("Approve “%(label)s” of %(name)s, added %(time)s, safety number starting %(start)s",
      { label: device.label, name: who, time: added, start: number.split(" ").slice(0, 2).join(" ") }) });
  button.addEventListener("click", () => guarded(async () => {
    button.disabled = true;
    try {
      await app.session.approveDevice(unitId, device.id);
      // A holder of the unit's identity certifies the device too (§18): the same comparison of numbers.
      const certified = await holdsIdentity(app.session, unitId);
      if (certified) await certifyDevice(app.session, unitId, device.id);
      announce(certified ? t("%(name)s's device is approved and certified.", { name: who })
        : t("%(name)s's device is approved.", { name: who }));
      await renderPending();
      await identity.render();
      byId("approve-heading").focus();
    } finally {
      button.disabled = false;
    }
  }));
  return h("li", { class: "device pending-device", "data-device-id": device.id },
    h("h3", { text: who }),
    h("p", { class: "device-label", text: device.label }),
    h("p", { class: "muted" }, h("time", { datetime: isoTime(device.created_at),
      text: t("Added %(time)s", { time: fullTime(device.created_at) }) })),
    h("p", { class: "safety-number" }, h("span", { class: "safety-label", text: t("Safety number") }),
      h("span", { class: "fingerprint large", text: number })),
    // A device cannot give itself the keys it does not have: say who can, instead of a refusal.
    device.id === app.session.deviceId
      ? h("p", { class: "notice", text: t("This is the device you are using now, and it cannot approve itself. Approve it from another device of yours that is approved, or ask another supervisor of the unit.") })
      : mayApprove ? button : null);
}

async function renderPending() {
  const tasks = await api("GET", "/api/keys/pending");
  const waiting = tasks.staff_devices_awaiting_grant;
  const blocked = whyNoApproving(tasks);
  const note = byId("approve-blocked");
  if (note.textContent !== blocked) note.textContent = blocked; // the same words again are not announced again
  note.hidden = !blocked || !waiting.length;
  const items = await Promise.all(waiting.map((device) => pendingItem(device, !blocked)));
  const list = byId("pending-devices");
  list.replaceChildren(...items);
  if (!items.length) list.append(h("li", { class: "empty", text: t("No devices are waiting for approval.") }));
}

// -- assignment --------------------------------------------------------------------------------------
function caseItem(c) {
  const select = h("select", { id: `assign-${c.id}`, "data-case-id": c.id });
  options(select, caseworkers(), { none: t("Not assigned"), selected: c.assigned_to });
  const button = h("button", { type: "button", class: "button secondary", text: t("Assign"),
    "aria-label": t("Assign %(case)s", { case: c.id }) });
  button.addEventListener("click", () => guarded(async () => {
    await api("POST", `/api/cases/${encodeURIComponent(c.id)}/assign`, { user_id: select.value || null });
    announce(select.value ? t("%(case)s is assigned to %(name)s.", { case: c.id, name: nameOf(select.value) })
      : t("%(case)s is not assigned.", { case: c.id }));
    await renderCases();
  }));
  return h("li", { class: "assign-item" },
    h("p", {}, h("strong", { text: c.citizen_name || c.citizen }), ` – ${c.title} · ${c.id}`),
    h("p", { class: "muted", "data-assigned": c.assigned_to || "",
      text: c.assigned_name ? t("Assigned to %(name)s", { name: c.assigned_name }) : t("Not assigned") }),
    h("div", { class: "field inline" }, h("label", { for: select.id, text: t("Caseworker for %(case)s", { case: c.id }) }),
      select),
    button);
}

async function renderCases() {
  const { cases } = await api("GET", "/api/cases");
  byId("assign-cases").replaceChildren(...cases.map(caseItem));
}

// -- substitutes -------------------------------------------------------------------------------------
function substitutionItem(s) {
  const text = t("%(substitute)s stands in for %(absent)s, %(from)s – %(to)s", {
    substitute: nameOf(s.substitute), absent: nameOf(s.absent_user), from: shortDate(s.starts_at),
    to: shortDate(s.ends_at - 1) });
  const button = h("button", { type: "button", class: "button danger", text: t("Remove"),
    "aria-label": t("Remove: %(what)s", { what: text }) });
  button.addEventListener("click", () => guarded(async () => {
    if (!await confirmAction({ heading: t("Remove the substitution?"), action: t("Remove substitution"), danger: true,
      text: t("%(substitute)s will no longer answer %(absent)s's cases.", {
        substitute: nameOf(s.substitute), absent: nameOf(s.absent_user) }) })) return;
    await api("DELETE", `/api/units/${encodeURIComponent(unitId)}/substitutes/${s.id}`);
    announce(t("The substitution is removed."));
    await renderStaff();
    byId("substitutes-heading").focus();
  }));
  return h("li", { class: "device substitution", "data-substitution-id": s.id }, h("p", { text }), button);
}

async function renderStaff() {
  const answer = await api("GET", `/api/units/${encodeURIComponent(unitId)}/staff`);
  staff = answer.staff;
  const now = Date.now();
  const current = answer.substitutions.filter((s) => s.ends_at > now);
  const list = byId("substitutions");
  list.replaceChildren(...current.map(substitutionItem));
  if (!current.length) list.append(h("li", { class: "empty", text: t("No substitutions.") }));
}

/** Why a substitution cannot be made, in words the supervisor can act on; "" when it can. */
function substitutionProblem(absent, substitute, startsAt, endsAt) {
  if (absent === substitute) return t("The substitute must be another person than the absent caseworker. Choose someone else.");
  if (endsAt <= startsAt) return t("The period ends before it starts. Choose a last day on or after the first.");
  return "";
}

async function addSubstitute(event) {
  event.preventDefault();
  const form = event.target;
  const body = { absent_user: form.absent_user.value, substitute: form.substitute.value,
    starts_at: dayStart(form.from.value), ends_at: dayStart(form.to.value, 1) };
  const problem = substitutionProblem(body.absent_user, body.substitute, body.starts_at, body.ends_at);
  status("substitute-error", problem, problem ? "error" : "");
  if (problem) return;
  const names = { substitute: nameOf(body.substitute), absent: nameOf(body.absent_user),
    from: shortDate(body.starts_at), to: shortDate(body.ends_at - 1) };
  if (!await confirmAction({ heading: t("Add the substitution?"), action: t("Add substitute"),
    text: t("From %(from)s to and including %(to)s, %(substitute)s answers %(absent)s's cases and finds them in My cases.", names) })) return;
  try {
    await api("POST", `/api/units/${encodeURIComponent(unitId)}/substitutes`, body);
  } catch (error) {
    const words = error?.code === "invalid_field"
      ? t("The substitution was not saved: the substitute must be another person, for a period that ends after it starts.")
      : explain(error);
    status("substitute-error", words, "error");
    return;
  }
  announce(t("The substitute is added."));
  await guarded(renderStaff);
}

// -- the unit's video meeting link ------------------------------------------------------------------
const videoBase = () => `/api/units/${encodeURIComponent(unitId)}/settings`;

function showVideo(settings) {
  byId("video-template").value = settings.video_link_template || "";
  byId("video-reset").hidden = !settings.video_link_template;
  let current;
  if (settings.video_link_template) current = t("The unit's own link is used.");
  else if (settings.server_video_link_template) {
    current = t("The service's link is used: %(link)s", { link: settings.server_video_link_template });
  } else current = t("No link is set: video meetings are held in Samtal's own video call.");
  byId("video-current").textContent = current;
}

async function saveVideo(template) {
  status("video-status", "");
  try {
    showVideo(await api("PUT", videoBase(), { video_link_template: template }));
  } catch (error) {
    if (error?.code === "invalid_link") {
      status("video-status", t("The link must be an https address with {booking} in it, and nothing else in braces."), "error");
      byId("video-template").focus();
      return;
    }
    throw error;
  }
  status("video-status", template ? t("The unit's meeting link is saved.") : t("The unit's link is removed."));
}

async function main() {
  app = await boot();
  if (config.denied) return;
  unitId = app.me.user.unit_id;
  await renderStaff();
  for (const id of ["sub-absent", "sub-substitute"]) options(byId(id), caseworkers());
  byId("substitute-form").addEventListener("submit", addSubstitute);
  showVideo(await api("GET", videoBase()));
  byId("video-form").addEventListener("submit", (event) => {
    event.preventDefault();
    guarded(() => saveVideo(byId("video-template").value.trim() || null));
  });
  byId("video-reset").addEventListener("click", () => guarded(async () => {
    await saveVideo(null);
    byId("video-heading").focus();
  }));
  await new OfficeList(unitId, guarded).start();
  identity = new IdentityPanel(app.session, unitId, app.me.user.unit_name || "", guardedBy("identity-error"), () => staff);
  await Promise.all([renderPending(), renderCases(), guardedBy("identity-error")(() => identity.render())]);
  app.live.addEventListener("keys", () => guarded(renderPending));
  setInterval(() => guarded(renderPending), REFRESH_MS);
}

main().catch((error) => alertError("unit-error", error));
