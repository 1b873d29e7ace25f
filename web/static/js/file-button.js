// A button that hands an attachment to the person, shared by the conversation, the applications and the
// documentation. A long file name stays on one line, shortened where it must be, so that its end (".pdf")
// and size stay in sight and the button keeps its shape on a phone; the whole name is in its accessible
// name and its tooltip.
import { h, icon } from "./dom.js";
import { fileSize } from "./format.js";
import { t } from "./i18n.js";

const LONGEST_EXTENSION = 8; // ".jpeg", ".pdf": a longer "extension" is part of the name

/** [button, status line]: `open()` decrypts and hands over the file; a failure is said beside the button. */
export function fileButton(name, size, open) {
  const label = `${name} (${fileSize(size)})`;
  const dot = name.lastIndexOf(".");
  const cut = dot > 0 && name.length - dot <= LONGEST_EXTENSION ? dot : name.length;
  const error = h("span", { class: "error-text", role: "status" });
  const button = h("button", {
    type: "button", class: "button secondary attachment-file", title: label,
    "aria-label": t("Download %(file)s", { file: label }),
    onclick: async () => {
      error.textContent = "";
      try {
        await open();
      } catch (err) {
        error.textContent = t("The attachment could not be opened.");
      }
    },
  }, icon("file"), h("span", { class: "file-name" },
    h("span", { class: "file-stem", text: name.slice(0, cut) }),
    h("span", { class: "file-tail", text: `${name.slice(cut)} (${fileSize(size)})` })));
  return [button, error];
}
