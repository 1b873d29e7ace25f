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
export const STYLE = `
body { font: 1rem/1.5 system-ui, sans-serif; color: #1c1f24; max-width: 48rem; margin: 2rem auto; padding: 0 1rem; }
h1, h2, h3 { line-height: 1.25; } h2 { border-bottom: 1px solid #c9d0da; padding-bottom: .25rem; margin-top: 2rem; }
.muted, time { color: #4a5361; } .record-text { white-space: pre-wrap; }
article, .journal-remark, .message { border: 1px solid #c9d0da; border-radius: .5rem; padding: .75rem 1rem; margin: .75rem 0; }
.badge { display: inline-block; border: 1px solid #4a5361; border-radius: 1rem; padding: 0 .5rem; margin-right: .25rem; font-size: .9rem; }
ol, ul { padding-left: 1.25rem; } summary, dt { font-weight: 600; }
@media print { body { margin: 0; max-width: none; } article, .message { break-inside: avoid; } }
`;

export const when = (ms) => h("time", { datetime: isoTime(ms), text: fullTime(ms) });

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

/** The citizen's applications in the case, each [application, view] as ApplicationClient.view opened it. */
export async function openApplications(session, caseId) {
  const client = new ApplicationClient(session);
  const mine = await client.list(caseId);
  const { forms } = mine.length ? await client.forms() : { forms: new Map() };
  const views = [];
  for (const a of mine) views.push([a, await client.view(a.id)]);
  return { views, forms };
}

function applicationsPart({ views, forms }) {
  const parts = [h("h2", { text: t("Applications") })];
  if (!views.length) parts.push(h("p", { class: "muted", text: t("No applications.") }));
  const nameOnly = journalOpener(null, null);
  for (const [a, view] of views) {
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

/** A case's parts of a document, from what this device could open: its documentation (every version), the
 * citizen's supplements, its messages and the citizen's applications in it; each part under an h2. `opened`:
 * {messages, applications} when the caller has them already. */
export async function caseParts(app, journal, opened = {}) {
  const caseView = journal.caseView;
  const nameOnly = journalOpener(null, journal);
  const entries = [...journal.entries].sort((a, b) => (b.published_at || 0) - (a.published_at || 0));
  const loose = journal.remarks.filter((r) => r.kind === "supplement" && !r.entry_id);
  const messages = opened.messages ?? await app.session.history(caseView);
  const applications = opened.applications ?? await openApplications(app.session, caseView.id);
  return [
    h("h2", { text: t("Documentation") }),
    entries.length ? entries.map((e) => entryArticle(journal, e, { isStaff: false, opener: nameOnly }))
      : h("p", { class: "muted", text: t("Nothing has been shared with you yet.") }),
    h("h2", { text: t("Your supplements") }),
    loose.length ? loose.map((r) => remarkItem(journal, r, { heading: t("Your supplement"), opener: nameOnly }))
      : h("p", { class: "muted", text: t("No supplements yet.") }),
    ...messagesPart(caseView, messages, app.me.user),
    ...applicationsPart(applications)].flat();
}

/** A document's <html> from its <body>: controls made plain text, earlier versions open, a small style. */
export function documentOf(title, body) {
  for (const el of body.querySelectorAll("[tabindex]")) el.removeAttribute("tabindex");
  for (const el of body.querySelectorAll("details")) el.open = true; // earlier versions are read, and printed, too
  return h("html", { lang },
    h("head", {}, h("meta", { charset: "utf-8" }), h("title", { text: `${title} – Samtal` }), h("style", { text: STYLE })),
    body);
}

/** A download of `text` (Blob + a[download]); the caller logged it first. */
export function offerDownload(text, type, filename) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  h("a", { href: url, download: filename }).click();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/** The serialised document: XMLSerializer writes the elements and escapes every text; no HTML is parsed. */
export const serialise = (html) => `<!doctype html>\n${new XMLSerializer().serializeToString(html)}\n`;

/** The document's <html> element: everything this device could open of the case. */
export async function buildFile(app, journal) {
  const caseView = journal.caseView;
  const title = t("My file: %(case)s", { case: caseView.title });
  return documentOf(title, h("body", {},
    h("h1", { text: title }),
    h("p", { class: "muted" }, [caseView.id, caseView.unit_name].filter(Boolean).join(" · "), ". ",
      t("Exported %(time)s.", { time: fullTime(Date.now()) })),
    h("p", { class: "muted", text: t("Made on your device from what is encrypted for you. Keep it safe: this copy is not encrypted.") }),
    ...await caseParts(app, journal)));
}

/** Make the document and offer it as a download; every export is in the audit log first. */
export async function exportFile(app, journal) {
  const html = await buildFile(app, journal);
  await api("POST", `/api/cases/${encodeURIComponent(journal.case.id)}/journal/export`, {});
  const date = new Date().toISOString().slice(0, 10);
  offerDownload(serialise(html), "text/html;charset=utf-8", `akt-${journal.case.id}-${date}.html`);
}
