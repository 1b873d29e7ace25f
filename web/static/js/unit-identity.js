// The unit's identity on the supervisor's unit page (docs/protocol.md §18): the key ceremony that makes it on
// this device, the safety number and the file the municipality publishes, the devices to certify, giving the
// key to a second supervisor's device after comparing safety numbers, and changing the key (a hand-over).
import { api } from "./api.js";
import { announce, byId, h } from "./dom.js";
import { t } from "./i18n.js";
import { confirmAction } from "./confirm.js";
import { fingerprint } from "./crypto/index.js";
import {
  certifyDevice, createIdentity, giveIdentity, identityState, publishedFile, rotateIdentity, takeUpKeyFile,
} from "./identity.js";

const HOLDER_ROLES = new Set(["supervisor", "unit_admin"]);

export class IdentityPanel {
  /** `staff()`: the unit's staff as /api/units/{unit}/staff lists them (id, display_name, role). */
  constructor(session, unitId, unitName, guarded, staff) {
    Object.assign(this, { session, unitId, unitName, guarded, staff });
  }

  nameOf(userId) {
    return this.staff().find((u) => u.id === userId)?.display_name || userId;
  }

  /** The state of the identity and the unit's devices as this device sees them; null without a supervisor's view. */
  async render() {
    const state = await identityState(this.session, this.unitId);
    const tasks = await api("GET", "/api/keys/pending");
    const root = byId("identity-state");
    if (!state.trust) root.replaceChildren(...this.ceremony());
    else if (state.mine) root.replaceChildren(...await this.holding(state, tasks));
    else root.replaceChildren(...await this.notHolding(state));
  }

  numberLine(label, number) {
    return h("p", { class: "safety-number" }, h("span", { class: "safety-label", text: label }),
      h("span", { class: "fingerprint large", text: number }));
  }

  ceremony() {
    const button = h("button", { type: "button", class: "button primary", text: t("Create the unit's identity") });
    button.addEventListener("click", () => this.guarded(async () => {
      if (!await confirmAction({ heading: t("Create the unit's identity?"), action: t("Create the identity"),
        text: t("This device will hold the unit's identity key. Citizens' apps will trust the devices and keys it certifies. Do this once, for a new unit.") })) return;
      button.disabled = true;
      const made = await createIdentity(this.session, this.unitId, this.unitName);
      await this.render();
      this.showFile(made, t("The unit's identity is created."));
    }));
    return [h("p", { text: t("The unit has no identity yet. In this key ceremony, this device makes the unit's identity key and keeps it. You then give the municipality the safety number to print on its letters and the file to publish on its web site.") }),
      button, this.keyFileInput()];
  }

  /** A key file made with `samtal keys identity` (away from the server), taken up on this device. */
  keyFileInput() {
    const input = h("input", { type: "file", id: "identity-key-file", accept: ".json,application/json" });
    input.addEventListener("change", () => this.guarded(async () => {
      const chosen = input.files?.[0];
      if (!chosen) return;
      try {
        const made = await takeUpKeyFile(this.session, this.unitId, await chosen.text());
        await this.render();
        announce(t("This device now holds the unit's identity key. The unit's safety number is %(number)s.",
          { number: made.fingerprint }));
        byId("identity-heading").focus();
      } finally {
        input.value = "";
      }
    }));
    return h("div", { class: "field" },
      h("label", { for: "identity-key-file", text: t("Or take up a key file made with the samtal command") }),
      input);
  }

  /** The safety number and the signed file for the municipality, after the ceremony or a change of key. */
  showFile(made, said) {
    const text = JSON.stringify(made.file, null, 1);
    const link = h("a", { class: "button secondary", download: `${this.unitId}.json`, text: t("Download the file"),
      href: URL.createObjectURL(new Blob([text], { type: "application/json" })) });
    const box = h("section", { class: "identity-file", "aria-labelledby": "identity-file-heading" },
      h("h3", { id: "identity-file-heading", tabindex: "-1", text: t("For the municipality") }),
      this.numberLine(t("Safety number to print on letters and show at the office"), made.fingerprint),
      h("label", { for: "identity-file", text: t("The file to publish on the municipality's web site") }),
      h("textarea", { id: "identity-file", readonly: true, rows: 8, spellcheck: "false", text }),
      h("p", {}, link));
    byId("identity-state").append(box);
    announce(said);
    byId("identity-file-heading").focus();
  }

  async deviceLine(device, userId, action, label, ariaLabel) {
    const keys = await this.session.deviceKeys(device.id);
    const number = await fingerprint(keys.signPub, keys.kemPub);
    const who = this.nameOf(userId);
    const button = h("button", { type: "button", class: "button", text: label,
      "aria-label": ariaLabel({ name: who, label: device.label || "", start: number.split(" ").slice(0, 2).join(" ") }) });
    button.addEventListener("click", () => this.guarded(async () => {
      button.disabled = true;
      try {
        await action(device.id, who);
        await this.render();
        byId("identity-heading").focus();
      } finally {
        button.disabled = false;
      }
    }));
    return h("li", { class: "device", "data-device-id": device.id }, h("h4", { text: who }),
      h("p", { class: "device-label", text: device.label || "" }),
      this.numberLine(t("Safety number"), number), button);
  }

  async holding(state, tasks) {
    const devices = new Map(tasks.approved_staff_devices.map((d) => [d.id, d]));
    const holderIds = new Set(state.holders.map((s) => s.device_id));
    const roleOf = (userId) => this.staff().find((u) => u.id === userId)?.role;
    const toCertify = tasks.certification?.devices_to_certify ?? [];
    const certifyItems = await Promise.all(toCertify.map((d) => this.deviceLine(
      { id: d.device_id, label: devices.get(d.device_id)?.label }, d.user_id,
      async (id, who) => {
        await certifyDevice(this.session, this.unitId, id);
        announce(t("%(name)s's device is certified.", { name: who }));
      }, t("Certify"), (p) => t("Certify “%(label)s” of %(name)s, safety number starting %(start)s", p))));
    const candidates = [...devices.values()].filter((d) => d.id !== this.session.deviceId && !holderIds.has(d.id)
      && HOLDER_ROLES.has(roleOf(d.user_id)) && state.trust.device(d.id));
    const giveItems = await Promise.all(candidates.map((d) => this.deviceLine(d, d.user_id, async (id, who) => {
      await giveIdentity(this.session, this.unitId, id);
      announce(t("%(name)s's device now holds the unit's identity key.", { name: who }));
    }, t("Give the key"), (p) => t("Give the identity key to “%(label)s” of %(name)s, safety number starting %(start)s", p))));
    const fileButton = h("button", { type: "button", class: "button secondary", text: t("Show the file for the municipality") });
    fileButton.addEventListener("click", () => this.guarded(async () => {
      const file = await publishedFile(this.session, this.unitId, this.unitName);
      this.showFile({ fingerprint: state.trust.fingerprint, file }, t("The file for the municipality is shown."));
    }));
    const rotate = h("button", { type: "button", class: "button danger", text: t("Change the unit's identity key") });
    rotate.addEventListener("click", () => this.guarded(async () => {
      if (!await confirmAction({ heading: t("Change the unit's identity key?"), action: t("Change the key"), danger: true,
        text: t("A new key takes over, announced by the current one, and citizens' apps follow. The municipality must publish the new file and print the new safety number, and the other supervisors' devices must be given the new key again.") })) return;
      const made = await rotateIdentity(this.session, this.unitId, this.unitName);
      await this.render();
      this.showFile(made, t("The unit's identity key is changed."));
    }));
    const holders = state.holders.map((s) => h("li", { text: s.device_id === this.session.deviceId
      ? t("This device") : t("A device of %(name)s", { name: this.nameOf(devices.get(s.device_id)?.user_id) }) }));
    return [h("p", { text: t("This device holds the unit's identity key.") }),
      this.numberLine(t("The unit's safety number"), state.trust.fingerprint),
      h("h3", { text: t("Devices that hold the key") }), h("ul", { id: "identity-holders" }, holders),
      h("h3", { text: t("Devices to certify") }),
      h("p", { class: "muted", text: t("Approved devices the unit's identity has not certified yet: citizens' apps do not trust them. Compare each safety number with the one on the device before you certify it.") }),
      h("ul", { id: "devices-to-certify", class: "device-list" }, certifyItems.length ? certifyItems
        : h("li", { class: "empty", text: t("No devices are waiting to be certified.") })),
      h("h3", { text: t("Give the key to another supervisor") }),
      h("p", { class: "muted", text: t("Any one supervisor whose device holds the key can certify devices. Meet the other supervisor and compare the safety number shown on their device's Devices page before you give it.") }),
      h("ul", { id: "identity-candidates", class: "device-list" }, giveItems.length ? giveItems
        : h("li", { class: "empty", text: t("No other supervisor's certified device is without the key.") })),
      h("div", { class: "form-actions" }, fileButton, rotate), this.keyFileInput()];
  }

  async notHolding(state) {
    return [h("p", { class: "notice", text: t("This device does not hold the unit's identity key, so it cannot certify devices. Ask a supervisor whose device holds it to give it to this device, after you have compared this device's safety number with them.") }),
      this.numberLine(t("This device's safety number"), await this.session.fingerprint()),
      this.numberLine(t("The unit's safety number"), state.trust.fingerprint), this.keyFileInput()];
  }
}

/** Whether this browser holds the unit's identity key (so an approval also certifies the device). */
export async function holdsIdentity(session, unitId) {
  return Boolean((await identityState(session, unitId)).mine);
}
