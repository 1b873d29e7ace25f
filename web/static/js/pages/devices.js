// Devices: this device's safety number (computed here from its own keys) and QR code, the account's
// other devices, and removing one.
import * as c from "../crypto/index.js";
import { api } from "../api.js";
import { announce, byId, h, status } from "../dom.js";
import { fullTime, isoTime } from "../format.js";
import { t } from "../i18n.js";
import { boot, explain } from "../app.js";
import { ownDevicesInLog } from "../trust.js";

let app;

function confirmRevoke(device) {
  const dialog = byId("confirm-revoke");
  byId("confirm-text").textContent = t("“%(name)s”, added %(time)s, will no longer be able to read or send messages.",
    { name: device.label, time: fullTime(device.created_at) });
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "revoke"), { once: true });
    dialog.returnValue = "";
    dialog.showModal();
  });
}

async function revoke(device, button) {
  if (!await confirmRevoke(device)) {
    button.focus();
    return;
  }
  try {
    await api("DELETE", `/api/devices/${encodeURIComponent(device.id)}`);
    announce(t("The device “%(name)s” is removed.", { name: device.label }));
    await render();
    byId("other-devices-heading").focus();
  } catch (error) {
    status("setup-status", explain(error), "error");
  }
}

function confirmLink(device, code) {
  const dialog = byId("confirm-link");
  byId("confirm-link-text").textContent = t("Link “%(name)s” only if it shows exactly this code. A device that shows another code is not the one you hold.",
    { name: device.label });
  byId("confirm-link-code").textContent = code;
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "link"), { once: true });
    dialog.returnValue = "";
    dialog.showModal();
  });
}

/**
 * Link another device of the person from this one (docs/protocol.md section 21): the code is computed here
 * from the keys the server gives for it, so a device whose keys the server swapped shows another code than
 * the person sees on it. This device signs a link for those keys; the key work then gives the device its keys.
 */
async function link(device, button) {
  const keys = await app.session.deviceKeys(device.id); // checked against its id
  const code = await c.linkCode(keys);
  if (!await confirmLink(device, code)) {
    button.focus();
    return;
  }
  try {
    const binding = await c.signLink(app.session.keys, app.me.user.id, keys, Date.now());
    await api("POST", `/api/devices/${encodeURIComponent(device.id)}/binding`, { binding });
    announce(t("“%(name)s” is linked to you. It is given the keys to your conversations in a moment.", { name: device.label }));
    await render();
    byId("other-devices-heading").focus();
  } catch (error) {
    status("setup-status", explain(error), "error");
  }
}

const PROOF_WORDS = {
  signin: () => t("Proven yours by your e-identification"),
  link: () => t("Linked from another of your devices"),
};

function deviceItem(device, removable, proof = null, linkable = false) {
  const item = h("li", { class: "device" },
    h("p", { class: "device-label", text: device.label }),
    h("p", { class: "muted" },
      device.revoked_at
        ? h("span", { text: t("Removed %(time)s", { time: fullTime(device.revoked_at) }) })
        : h("time", { datetime: isoTime(device.created_at), text: t("Added %(time)s", { time: fullTime(device.created_at) }) })),
    h("p", {}, h("span", { class: "visually-hidden", text: `${t("Safety number")}: ` }),
      h("span", { class: "fingerprint", text: device.fingerprint })));
  if (proof) {
    item.append(h("p", { class: proof.how ? "muted" : "error",
      text: proof.how ? PROOF_WORDS[proof.how]() : t("Not linked to you: it is given no keys") }));
  }
  if (linkable) {
    const button = h("button", { type: "button", class: "button",
      "aria-label": t("Link %(name)s", { name: device.label }), text: t("Link") });
    button.addEventListener("click", () => link(device, button));
    item.append(button);
  }
  if (removable) {
    const button = h("button", {
      type: "button", class: "button danger",
      "aria-label": t("Remove %(name)s", { name: device.label }),
      text: t("Remove"),
    });
    button.addEventListener("click", () => revoke(device, button));
    item.append(button);
  }
  return item;
}

async function render() {
  const { devices } = await api("GET", "/api/me");
  const mine = devices.find((d) => d.id === app.session.deviceId);
  const local = await app.session.fingerprint();
  byId("this-label").textContent = mine?.label || "";
  byId("this-id").textContent = app.session.deviceId;
  byId("this-fingerprint").textContent = local;
  byId("fingerprint-mismatch").hidden = !mine || mine.fingerprint === local;
  const qr = byId("this-qr");
  qr.alt = t("QR code of the safety number %(number)s", { number: local });
  qr.src = `/devices/${encodeURIComponent(app.session.deviceId)}/qr.svg`;
  qr.hidden = false;
  const others = devices.filter((d) => d.id !== app.session.deviceId && !d.revoked_at);
  const removed = devices.filter((d) => d.revoked_at);
  // A citizen's devices: which are proven theirs (section 21). This one, if not, shows the code to link it by.
  let verdict = null;
  if (app.session.isCitizen) {
    verdict = await app.session.citizenDevices.verdict(app.me.user.id, devices).catch(() => null);
    const how = verdict?.proven.get(app.session.deviceId);
    byId("this-proof").textContent = how ? PROOF_WORDS[how]() : "";
    byId("this-proof").hidden = !how;
    byId("link-this").hidden = Boolean(how);
    if (!how) {
      byId("link-code").textContent = await c.linkCode(app.session.keys);
      const linkQr = byId("link-qr");
      linkQr.alt = t("QR code to link this device");
      linkQr.src = `/devices/${encodeURIComponent(app.session.deviceId)}/qr.svg?link=1`;
      linkQr.hidden = false;
    }
  }
  const proofOf = (d) => (verdict ? { how: verdict.proven.get(d.id) || null } : null);
  const canLink = Boolean(verdict?.proven.has(app.session.deviceId));
  const list = byId("other-devices");
  list.replaceChildren(...others.map((d) => deviceItem(d, true, proofOf(d), canLink && !verdict.proven.has(d.id))));
  if (!others.length) list.append(h("li", { class: "empty", text: t("No other devices.") }));
  byId("removed-devices").replaceChildren(...removed.map((d) => deviceItem(d, false)));
  byId("removed-section").hidden = !removed.length;
}

/** The units of the person's cases and each one's safety number as this device checked it (§18). */
async function renderUnits() {
  const { cases } = await api("GET", "/api/cases");
  const units = new Map(cases.map((c) => [c.unit, c.unit_name]));
  const list = byId("unit-identities");
  list.replaceChildren();
  for (const [unitId, name] of units) {
    const item = h("li", { class: "device" }, h("p", { class: "device-label", text: name || unitId }));
    try {
      // The municipality's published file is fetched again here, so that what is shown is what it says now.
      const trust = await app.session.unitTrust(unitId, true, { recheck: true });
      item.append(trust
        ? h("p", {}, h("span", { class: "visually-hidden", text: `${t("Safety number")}: ` }),
          h("span", { class: "fingerprint", text: trust.fingerprint }))
        : h("p", { class: "muted", text: t("This unit has no published identity yet.") }));
      if (trust?.published) {
        item.append(h("p", { class: "identity-published",
          text: t("Matches the file the municipality publishes at %(host)s.", { host: trust.published.host }) }));
      } else if (trust) {
        item.append(h("p", { class: "muted identity-published",
          text: t("Compare this number with the one on your letter from the municipality.") }));
      }
    } catch (error) {
      item.append(h("p", { class: "error", role: "alert", text: explain(error) }));
    }
    list.append(item);
  }
  byId("units-section").hidden = !units.size;
}

/** The person's devices as the key log shows them: a device they do not know stands out here. */
async function renderLog() {
  const records = await ownDevicesInLog((...p) => app.session._key(...p));
  byId("log-devices").replaceChildren(...records.map((r) => h("li", {},
    h("time", { datetime: isoTime(r.loggedAt), text: fullTime(r.loggedAt) }), " ",
    h("span", { text: r.kind === "device" ? t("added") : t("removed") }), " ",
    h("code", { text: r.deviceId }),
    r.deviceId === app.session.deviceId ? h("span", { text: " " + t("(this device)") }) : "")));
}

async function main() {
  app = await boot();
  if (app.session.isCitizen) { // named as the citizen's menu names it
    byId("devices-heading").textContent = t("Security");
    document.title = `${t("Security")} – Samtal`;
  }
  byId("other-devices-heading").tabIndex = -1;
  await render();
  if (app.session.isCitizen) await renderUnits();
  await renderLog().catch((error) => status("log-status", explain(error), "error"));
}

main().catch((error) => status("setup-status", explain(error), "error"));
