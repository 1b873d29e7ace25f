// "Exportera min akt": the citizen's file of one case as one readable, printable HTML document, made here
// from what this device decrypted (the published entries with every version, supplements, disputes and
// answers, the case's messages, the citizen's applications in the case) and handed over as a download. The
// document is built as elements (no HTML strings) and serialised; it has no script, only a small style.
import { api } from "./api.js";
import { ApplicationClient, statusText, timeline } from "./applications.js";
import { h } from "./dom.js";
import { fileSize, fullTime, isoTime, senderName } from "./format.js";
import { lang, t } from "./i18n.js";
import { entryArticle, journalOpener, remarkItem } from "./journal-view.js";
import { textOf } from "./forms/engine.js";
import { renderAnswers } from "./forms/render.js";

// No "<", ">" or "&" in it: the serialiser escapes text, and a style element's text is not unescaped.
const STYLE = `
body { font: 1rem/1.5 system-ui, sans-serif; color: #1c1f24; max-width: 48rem; margin: 2rem auto; padding: 0 1rem; }
h1, h2, h3 { line-height: 1.25; } h2 { border-bottom: 1px solid #c9d0da; padding-bottom: .25rem; margin-top: 2rem; }
.muted, time { color: #4a5361; } .record-text { white-space: pre-wrap; }
article, .journal-remark, .message { border: 1px solid #c9d0da; border-radius: .5rem; padding: .75rem 1rem; margin: .75rem 0; }
.badge { display: inline-block; border: 1px solid #4a5361; border-radius: 1rem; padding: 0 .5rem; margin-right: .25rem; font-size: .9rem; }
ol, ul { padding-left: 1.25rem; } summary, dt { font-weight: 600; }
@media print { body { margin: 0; max-width: none; } article, .message { break-inside: avoid; } }
`;

const when = (ms) => h("time", { datetime: isoTime(ms), text: fullTime(ms) });

function messagesPart(caseView, messages, me) {
  const sender = (m) => senderName(caseView, m.sender, me.id);
  return [h("h2", { text: t("Messages") }),
    messages.length ? h("ol", { class: "messages" }, ...messages.map((m) => h("li", { class: "message" },
      h("p", {}, h("strong", { text: sender(m) }), " ", when(m.sentAt || m.storedAt)),
      !m.body ? h("p", { text: t("This message could not be opened on this device.") }) : null,
      m.body?.text ? h("p", { class: "record-text", text: String(m.body.text) }) : null,
      m.body?.type === "attachment"
        ? h("p", { class: "muted", text: t("Attachment: %(file)s", { file: `${m.body.name} (${fileSize(Number(m.body.size) || 0)})` }) })
        : null)))
      : h("p", { class: "muted", text: t("No messages.") })];
}

async function applicationsPart(session, caseId) {
  const client = new ApplicationClient(session);
  const mine = await client.list(caseId);
  const parts = [h("h2", { text: t("Applications") })];
  if (!mine.length) parts.push(h("p", { class: "muted", text: t("No applications.") }));
  const { forms } = mine.length ? await client.forms() : { forms: new Map() };
  const nameOnly = journalOpener(null, null);
  for (const a of mine) {
    const view = await client.view(a.id);
    const def = forms.get(a.form_id);
    const answers = view.opened.get(a.id)?.body?.answers;
    parts.push(h("article", {},
      h("h3", { text: def ? textOf(def.title, lang) : a.form_id }),
      h("p", { text: t("Status: %(status)s", { status: statusText(view.application) }) }),
      timeline(view, { openAttachment: nameOnly, isStaff: false }),
      answers && def ? renderAnswers(def, answers, { lang, openAttachment: nameOnly, headingLevel: 4 })
        : h("p", { text: t("Your answers could not be opened on this device.") })));
  }
  return parts;
}

/** The document's <html> element: everything this device could open of the case. */
export async function buildFile(app, journal) {
  const caseView = journal.caseView;
  const nameOnly = journalOpener(null, journal);
  const entries = [...journal.entries].sort((a, b) => (b.published_at || 0) - (a.published_at || 0));
  const loose = journal.remarks.filter((r) => r.kind === "supplement" && !r.entry_id);
  const messages = await app.session.history(caseView);
  const title = t("My file: %(case)s", { case: caseView.title });
  const body = h("body", {},
    h("h1", { text: title }),
    h("p", { class: "muted" }, [caseView.id, caseView.unit_name].filter(Boolean).join(" · "), ". ",
      t("Exported %(time)s.", { time: fullTime(Date.now()) })),
    h("p", { class: "muted", text: t("Made on your device from what is encrypted for you. Keep it safe: this copy is not encrypted.") }),
    h("h2", { text: t("Documentation") }),
    entries.length ? entries.map((e) => entryArticle(journal, e, { isStaff: false, opener: nameOnly }))
      : h("p", { class: "muted", text: t("Nothing has been shared with you yet.") }),
    h("h2", { text: t("Your supplements") }),
    loose.length ? loose.map((r) => remarkItem(journal, r, { heading: t("Your supplement"), opener: nameOnly }))
      : h("p", { class: "muted", text: t("No supplements yet.") }),
    ...messagesPart(caseView, messages, app.me.user),
    ...await applicationsPart(app.session, caseView.id));
  for (const el of body.querySelectorAll("[tabindex]")) el.removeAttribute("tabindex");
  for (const el of body.querySelectorAll("details")) el.open = true; // earlier versions are read, and printed, too
  return h("html", { lang },
    h("head", {}, h("meta", { charset: "utf-8" }), h("title", { text: `${title} – Samtal` }), h("style", { text: STYLE })),
    body);
}

/** Make the document and offer it as a download (Blob + a[download]); every export is in the audit log first. */
export async function exportFile(app, journal) {
  const html = await buildFile(app, journal);
  await api("POST", `/api/cases/${encodeURIComponent(journal.case.id)}/journal/export`, {});
  // XMLSerializer writes the elements and escapes every text; no HTML is ever parsed from a string here.
  const blob = new Blob([`<!doctype html>\n${new XMLSerializer().serializeToString(html)}\n`],
    { type: "text/html;charset=utf-8" });
  const url = URL.createObjectURL(blob);
  const date = new Date().toISOString().slice(0, 10);
  h("a", { href: url, download: `akt-${journal.case.id}-${date}.html` }).click();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
