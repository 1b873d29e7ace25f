// The citizen's home: what waits for them first (unread messages, requests for completion with their due
// dates, decisions to read, the next meeting with its form, place and caseworker, answers to objections),
// then their cases. Kept live: messages come as `msg` frames, everything else as a `pending` frame after
// which the list is fetched again (metadata only: chat/pending.py).
import { announce, byId, h, status } from "../dom.js";
import { fullTime, shortDate, shortTime, isoTime } from "../format.js";
import { t, tn } from "../i18n.js";
import { boot, explain } from "../app.js";
import { FORM_NAMES } from "../booking-common.js";
import { answerUnread, decisionUnread } from "../seen.js";
import { forWhom } from "../representation.js";

let app;
let cases = [];

const casePath = (c, rest = "") => `/cases/${encodeURIComponent(c.id)}${rest}`;

function caseItem(c) {
  const meta = [];
  if (forWhom(c)) meta.push(forWhom(c));  // a case they act in for someone else (docs/representatives.md)
  if (c.assigned_name) meta.push(t("Caseworker: %(name)s", { name: c.assigned_name }));
  if (c.unit_name) meta.push(c.unit_name);
  return h("li", { class: "case-item" },
    h("a", { href: casePath(c), class: "case-link" },
      h("span", { class: "case-title", id: `case-title-${c.id}`, text: c.title }),
      h("span", { class: "case-meta", text: meta.join(" · ") }),
      h("span", { class: "case-foot" },
        c.last_message_at
          ? h("time", { datetime: isoTime(c.last_message_at), text: t("Latest message %(time)s", { time: shortTime(c.last_message_at) }) })
          : h("span", { text: t("No messages yet") }),
        c.unread ? h("span", { class: "badge unread", text: tn("%(n)s unread", "%(n)s unread", c.unread) }) : null)),
    h("a", { href: casePath(c, "/documentation"), class: "case-more",
      "aria-describedby": `case-title-${c.id}`, text: t("My documentation") }));
}

/** A meeting in words: when, how, with whom and where. */
function meetingWords(m) {
  const parts = [FORM_NAMES[m.form]()];
  if (m.with_name) parts.push(t("with %(name)s", { name: m.with_name }));
  return t("Meeting %(when)s: %(what)s", { when: fullTime(m.starts_at), what: parts.join(" ") });
}

/** What waits in one case, most pressing first: [{text, detail, href, kind}]. */
function waitingIn(c) {
  const me = app.me.user.id;
  const p = c.pending || {};
  const items = [];
  for (const r of p.completions || []) {
    const late = r.due_at && r.due_at < Date.now();
    items.push({ kind: "completion", href: `/apply/${encodeURIComponent(r.application)}`,
      text: !r.due_at ? t("The unit asks you to complete your application")
        : late ? t("The unit asks you to complete your application: the last day was %(date)s", { date: shortDate(r.due_at) })
          : t("The unit asks you to complete your application by %(date)s", { date: shortDate(r.due_at) }) });
  }
  for (const r of p.communications || []) {
    items.push({ kind: "completion", href: `/apply/${encodeURIComponent(r.application)}`,
      text: r.due_at ? t("Comment on the basis for a decision by %(date)s", { date: shortDate(r.due_at) })
        : t("Comment on the basis for a decision") });
  }
  if (c.unread) {
    items.push({ kind: "unread", href: casePath(c),
      text: tn("%(n)s unread message", "%(n)s unread messages", c.unread) });
  }
  for (const d of (p.decisions || []).filter((x) => decisionUnread(me, x))) {
    items.push({ kind: "decision", href: `/apply/${encodeURIComponent(d.application)}`,
      text: t("A decision to read, from %(date)s", { date: shortDate(d.decided_at) }) });
  }
  const answers = (p.answers || []).filter((a) => answerUnread(me, c.id, a));
  if (answers.length) {
    items.push({ kind: "answer", href: casePath(c, "/documentation"),
      text: tn("The unit has answered your objection", "The unit has answered %(n)s of your objections", answers.length) });
  }
  if (p.meeting) {
    items.push({ kind: "meeting", href: casePath(c, "/booking"), text: meetingWords(p.meeting),
      detail: p.meeting.address ? t("Address: %(address)s", { address: p.meeting.address }) : null });
  }
  if (p.objections_open) {
    items.push({ kind: "objection", href: casePath(c, "/documentation"),
      text: tn("Your objection waits for the unit's answer", "%(n)s of your objections wait for the unit's answer", p.objections_open) });
  }
  return items;
}

function waitingItem(c, item, manyCases) {
  return h("li", { class: `waiting-item waiting-${item.kind}` },
    h("a", { href: item.href, text: item.text }),
    item.detail ? h("span", { class: "waiting-detail", text: item.detail }) : null,
    manyCases ? h("span", { class: "waiting-case", text: c.title }) : null);
}

function render() {
  const list = byId("case-list");
  list.replaceChildren(...cases.map(caseItem));
  list.removeAttribute("aria-busy");
  if (!cases.length) list.append(h("li", { class: "empty", text: t("You have no cases with messages here.") }));
  const waiting = byId("waiting-list");
  const items = cases.flatMap((c) => waitingIn(c).map((item) => waitingItem(c, item, cases.length > 1)));
  waiting.replaceChildren(...items);
  waiting.removeAttribute("aria-busy");
  if (!items.length) waiting.append(h("li", { class: "empty", text: t("Nothing is waiting for you right now.") }));
}

let refetching = null;

/** Something changed in a case's applications, documentation or bookings: fetch the list again (once for a burst). */
function refetchSoon() {
  clearTimeout(refetching);
  refetching = setTimeout(async () => {
    try {
      cases = await app.session.cases();
      render();
      announce(t("What is waiting for you has changed."));
    } catch (error) {
      // the next change or a reload shows it
    }
  }, 200);
}

async function main() {
  app = await boot();
  try {
    cases = await app.session.cases();
    render();
  } catch (error) {
    status("setup-status", explain(error), "error");
    return;
  }
  // New messages update the list live (the citizen gets every message of their cases).
  app.live.addEventListener("msg", (event) => {
    const frame = event.detail;
    const found = cases.find((c) => c.id === frame.case_id);
    if (!found) return;
    found.last_message_at = frame.stored_at;
    if (frame.sender !== app.me.user.id) found.unread = (found.unread || 0) + 1;
    app.live.advance(found.id, frame.seq);
    render();
  });
  app.live.addEventListener("pending", refetchSoon);
  for (const c of cases) app.live.follow(c.id, c.last_seq);
}

main().catch((error) => status("setup-status", explain(error), "error"));
