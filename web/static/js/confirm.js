// Asking before an action that changes much with one click (a protected identity, a substitution, a
// deleted draft): a modal dialog with the consequence in words, "Avbryt" first and focused, so that Enter
// or Escape never does the action by accident.
import { h } from "./dom.js";
import { t } from "./i18n.js";

let counter = 0;

/**
 * confirmAction({ heading, text, action, danger }): resolves true when the person chose `action`, false
 * when they cancelled (button, Escape). Focus goes back to the element that had it.
 */
export function confirmAction({ heading, text, action, danger = false }) {
  const id = `confirm-${++counter}`;
  const returnTo = document.activeElement;
  const cancel = h("button", { type: "submit", value: "cancel", class: "button secondary", text: t("Cancel") });
  const dialog = h("dialog", { "aria-labelledby": `${id}-heading`, "aria-describedby": `${id}-text` },
    h("form", { method: "dialog" },
      h("h2", { id: `${id}-heading`, text: heading }),
      h("p", { id: `${id}-text`, text }),
      h("div", { class: "dialog-actions" }, cancel,
        h("button", { type: "submit", value: "confirm", class: danger ? "button danger" : "button", text: action }))));
  document.body.append(dialog);
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => {
      const chosen = dialog.returnValue === "confirm";
      dialog.remove();
      if (returnTo instanceof HTMLElement && returnTo.isConnected) returnTo.focus();
      resolve(chosen);
    }, { once: true });
    dialog.showModal();
    cancel.focus();
  });
}
