// The unit's offices (besöksadresser) on the supervisor's unit page: where meetings in person are held.
// The address goes into booking e-mails and calendar invitations; retiring one keeps earlier bookings'.
import { api } from "./api.js";
import { announce, byId, h, status } from "./dom.js";
import { t } from "./i18n.js";

const REFUSALS = {
  invalid_address: () => t("Write the address on one line, 3 to 200 characters."),
  office_in_use: () => t("Times still to come are at this office. Withdraw or move them first."),
};

export class OfficeList {
  constructor(unitId, guarded) {
    this.base = `/api/units/${encodeURIComponent(unitId)}/offices`;
    this.guarded = guarded;
  }

  async start() {
    byId("office-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this._act(async () => {
        const input = byId("office-address");
        const answer = await api("POST", this.base, { address: input.value });
        input.value = "";
        this._show(answer.offices);
        announce(t("The office %(address)s is added.", { address: answer.office.address }));
      }, "office-address");
    });
    this._show((await api("GET", this.base)).offices);
  }

  async _act(work, focusOnRefusal) {
    status("office-status", "");
    await this.guarded(async () => {
      try {
        await work();
      } catch (error) {
        if (!REFUSALS[error?.code]) throw error;
        status("office-status", REFUSALS[error.code](), "error");
        if (focusOnRefusal) byId(focusOnRefusal).focus();
      }
    });
  }

  _show(offices) {
    const list = byId("offices");
    list.replaceChildren(...offices.map((office) => h("li", { class: "device", "data-office-id": office.id },
      h("p", { text: office.address }),
      h("button", { type: "button", class: "button quiet", text: t("Stop using this address"),
        "aria-label": t("Stop using this address: %(address)s", { address: office.address }),
        onclick: () => this._act(async () => {
          this._show((await api("DELETE", `${this.base}/${office.id}`)).offices);
          announce(t("The office %(address)s is no longer used for new times.", { address: office.address }));
          byId("offices-heading").focus();
        }) }))));
    if (!offices.length) list.append(h("li", { class: "empty", text: t("No offices: times can be by phone or video only.") }));
  }
}
