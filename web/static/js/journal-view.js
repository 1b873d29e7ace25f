// How a journal entry looks, for the caseworker's page, the citizen's page and the exported file alike: its
// status in words (never only a colour), the newest version with the earlier ones still readable, and beside
// it what the citizen said about it (disputes until answered, with the answer; comments on the draft;
// supplements). The pages add their own controls through `controls`.
import { attachmentOpener } from "./applications.js";
import { h } from "./dom.js";
import { fileSize, fullTime, isoTime } from "./format.js";
import { t } from "./i18n.js";
import { latest, remarksOf, responseTo, UNREADABLE } from "./journal.js";

const when = (ms) => h("time", { datetime: isoTime(ms), text: fullTime(ms) });

/** The text of a record, or the words for one that could not be opened here. */
function recordText(view, recordId, cls = "record-text") {
  const opened = view.opened.get(recordId);
  if (!opened?.body) return h("p", { class: "error-text", text: UNREADABLE() });
  return h("p", { class: cls, text: opened.body.text });
}

/** For a supplement's files: a button that decrypts one (pages), or its name only (the exported file). */
export function journalOpener(client, view) {
  if (!client) return (ref) => h("span", { text: `${ref.name || t("file")} (${fileSize(Number(ref.size) || 0)})` });
  return attachmentOpener({ openAttachment: (_id, ref) => client.openJournalAttachment(view, ref) }, null);
}

function entryStatus(view, entry, isStaff) {
  const parts = [];
  const signed = entry.status === "signed";
  parts.push(h("span", { class: `badge entry-${entry.status}`, text: signed ? t("Signed") : t("Draft") }));
  if (entry.versions.length > 1) {
    parts.push(h("span", { class: "badge corrected", text: t("Corrected, version %(n)s", { n: entry.versions.length }) }));
  }
  if (entry.open_disputes) parts.push(h("span", { class: "badge dispute-open", text: t("Disputed, waiting for an answer") }));
  if ((view.live || []).some((l) => l.entry_id === entry.id)) {
    parts.push(h("span", { class: "badge live", text: t("Shared live") }));
  }
  // Each badge its own sentence to a screen reader ("Signerad. Markerad som felaktig…", not one run-on).
  const spoken = parts.flatMap((part, i) => (i ? [h("span", { class: "visually-hidden", text: ". " }), part] : [part]));
  const line = [h("p", { class: "entry-status" }, ...spoken)];
  if (isStaff && signed) {
    line.push(entry.published_at
      ? h("p", { class: "entry-published" }, t("Visible to the citizen since %(time)s (judged by %(name)s)", {
        time: fullTime(entry.published_at), name: entry.published_by_name || entry.published_by }))
      : h("p", { class: "entry-published muted", text: t("Not visible to the citizen") }));
  }
  return line;
}

function byline(entry) {
  if (entry.status !== "signed") {
    return h("p", { class: "muted" }, t("Written by %(name)s", { name: entry.author_name || entry.author }), ", ",
      when(entry.created_at));
  }
  return h("p", { class: "muted" }, t("Signed by %(name)s", { name: entry.signed_by_name || entry.signed_by }), ", ",
    when(entry.signed_at));
}

function versionBody(view, version, { source, caseHref }) {
  const body = view.opened.get(version.record_id)?.body;
  const parts = [recordText(view, version.record_id)];
  if (body?.reason) parts.unshift(h("p", { class: "correction-reason", text: t("Correction: %(reason)s", { reason: body.reason }) }));
  if (source && body?.source && caseHref) {
    parts.push(h("p", { class: "muted" }, h("a", { href: caseHref, text: t("From a message") })));
  }
  return parts;
}

function earlierVersions(view, entry, options) {
  return entry.versions.slice(0, -1).reverse().map((v) => {
    const body = view.opened.get(v.record_id)?.body;
    return h("details", { class: "earlier-version", id: `version-${entry.id}-${v.version}` },
      h("summary", { text: t("Version %(n)s (replaced)", { n: v.version }) }),
      h("p", { class: "muted" }, body ? h("strong", { text: body.title }) : null, " ", when(v.signed_at || v.created_at)),
      ...versionBody(view, v, options));
  });
}

/**
 * Draw a list again (the journal reloads whenever the other side acts) without taking from the person what they
 * were doing in it: the focused element, text typed in its fields, opened earlier versions and opened forms are
 * kept, by element id.
 */
export function redraw(container, children) {
  const focused = container.contains(document.activeElement) ? document.activeElement.id : null;
  const kept = [...container.querySelectorAll("[id]")].map((el) => [el.id, {
    value: "value" in el && el.tagName !== "BUTTON" ? el.value : undefined, open: el.open, hidden: el.hidden,
    expanded: el.getAttribute("aria-expanded") }]);
  container.replaceChildren(...children);
  for (const [id, was] of kept) {
    const el = document.getElementById(id);
    if (!el) continue;
    if (was.value !== undefined && "value" in el) el.value = was.value;
    if (el.tagName === "DETAILS") el.open = was.open;
    if (el.tagName === "FORM") el.hidden = was.hidden;
    if (was.expanded !== null) el.setAttribute("aria-expanded", was.expanded);
  }
  if (focused) document.getElementById(focused)?.focus();
}

/** A remark of the citizen's (or the unit's response), with who and when. */
export function remarkItem(view, remark, { heading, opener = null, extra = [] }) {
  const body = view.opened.get(remark.id)?.body;
  const files = Array.isArray(body?.attachments) ? body.attachments : [];
  return h("div", { class: `journal-remark kind-${remark.kind}`, "data-remark-id": remark.id },
    h("p", { class: "remark-head" }, h("strong", { text: heading }), " ", when(remark.created_at)),
    recordText(view, remark.id),
    files.length && opener ? h("ul", { class: "answer-files" }, ...files.map((ref) => h("li", {}, opener(ref)))) : null,
    ...extra);
}

function disputes(view, entry, { isStaff, respond }) {
  return remarksOf(view, entry.id, "dispute").map((d) => {
    const response = responseTo(view, d.id);
    const open = !response && !d.answered_at;
    const heading = isStaff ? t("The citizen considers this incorrect") : t("You marked this as incorrect");
    const extra = [h("p", { class: `badge ${open ? "dispute-open" : "dispute-answered"}`,
      text: open ? t("Waiting for an answer") : t("Answered") })];
    if (response) {
      extra.push(remarkItem(view, response, { heading: t("Answer from %(name)s", {
        name: response.author_name || response.author }) }));
    }
    if (open && respond) extra.push(respond(d));
    return remarkItem(view, d, { heading, extra });
  });
}

/**
 * One entry as an <article>: heading (tabindex -1, for focus after an action), status, the newest version,
 * earlier versions (Version 1 (ersatt)), disputes and answers, comments, supplements to it, and `controls`.
 */
export function entryArticle(view, entry, { isStaff, opener, controls = [], respond = null, caseHref = null }) {
  const { body } = latest(view, entry);
  const headingId = `entry-${entry.id}`;
  const comments = remarksOf(view, entry.id, "comment").map((r) => remarkItem(view, r, {
    heading: isStaff ? t("Comment from the citizen") : t("Your comment on the draft") }));
  const supplements = remarksOf(view, entry.id, "supplement").map((r) => remarkItem(view, r, {
    heading: isStaff ? t("Supplement from the citizen") : t("Your supplement"), opener }));
  const beside = [...disputes(view, entry, { isStaff, respond }), ...comments, ...supplements];
  return h("article", { class: `journal-entry${entry.open_disputes ? " has-dispute" : ""}`, "data-entry-id": entry.id,
    "aria-labelledby": headingId },
  h("h3", { id: headingId, tabindex: "-1", text: body ? body.title : t("Entry") }),
  ...entryStatus(view, entry, isStaff),
  byline(entry),
  ...versionBody(view, entry.versions[entry.versions.length - 1], { source: true, caseHref }),
  ...earlierVersions(view, entry, { source: false, caseHref }),
  beside.length ? h("div", { class: "entry-remarks" }, ...beside) : null,
  controls.length ? h("div", { class: "form-actions entry-actions" }, ...controls) : null);
}
