// Mitt registerutdrag (docs/extract.md): the citizen asks, this device opens what the server holds about them
// and offers it as a document and as JSON; the request is marked answered once both are made.
import { api } from "../api.js";
import { byId, h, status } from "../dom.js";
import { t } from "../i18n.js";
import { boot, explain } from "../app.js";
import { offerDownload } from "../journal-export.js";
import { extractDocument, extractJson, openExtract, serialise } from "../extract-document.js";

let app;
let made = null; // {html, json, date}

function summary({ server, cases }) {
  const sum = (f) => server.cases.reduce((n, c) => n + f(c), 0);
  const unopened = cases.reduce((n, c) => n + c.messages.filter((m) => !m.body).length, 0);
  const rows = [
    [t("Cases"), server.cases.length],
    [t("Messages"), sum((c) => c.messages.length)],
    [t("Applications"), sum((c) => c.applications.length)],
    [t("Documentation entries"), sum((c) => c.journal.entries.length)],
    [t("Your supplements and comments"), sum((c) => c.journal.remarks.length)],
    [t("Bookings"), sum((c) => c.bookings.length)],
    [t("Files"), server.attachments.length],
    [t("Devices"), (server.devices || []).length],
    [t("Times staff read or changed your case data"), server.staff_access.length]];
  byId("extract-summary").replaceChildren(...rows.flatMap(([k, v]) => [h("dt", { text: k }), h("dd", { text: String(v) })]));
  if (unopened) {
    byId("extract-summary").after(h("p", { class: "error-text",
      text: t("%(n)s messages could not be opened on this device; they are in the extract as the server holds them.", { n: unopened }) }));
  }
}

async function make() {
  const button = byId("make-extract");
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  status("extract-status", t("Collecting and opening your data…"));
  try {
    const opened = await openExtract(app);
    const html = serialise(await extractDocument(app, opened));
    const json = extractJson(opened);
    await api("POST", `/api/me/extract/${encodeURIComponent(opened.server.request.id)}/delivered`, {});
    made = { html, json, date: new Date().toISOString().slice(0, 10) };
    summary(opened);
    byId("extract-ready").hidden = false;
    status("extract-status", t("Your extract is made. Download it below."));
    byId("ready-heading").focus();
  } catch (error) {
    status("extract-status", explain(error), "error");
  } finally {
    button.disabled = false;
    button.removeAttribute("aria-busy");
  }
}

async function main() {
  app = await boot();
  byId("make-extract").addEventListener("click", make);
  byId("download-html").addEventListener("click", () =>
    offerDownload(made.html, "text/html;charset=utf-8", `registerutdrag-${made.date}.html`));
  byId("download-json").addEventListener("click", () =>
    offerDownload(made.json, "application/json", `registerutdrag-${made.date}.json`));
}

main().catch((error) => status("setup-status", explain(error), "error"));
