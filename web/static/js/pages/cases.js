// The citizen's cases: each with its caseworker, the latest activity and how many messages are unread.
import { byId, h, status } from "../dom.js";
import { shortTime, isoTime } from "../format.js";
import { t, tn } from "../i18n.js";
import { boot, explain } from "../app.js";

function caseItem(c) {
  const meta = [];
  if (c.assigned_name) meta.push(t("Caseworker: %(name)s", { name: c.assigned_name }));
  if (c.unit_name) meta.push(c.unit_name);
  return h("li", { class: "case-item" },
    h("a", { href: `/cases/${encodeURIComponent(c.id)}`, class: "case-link" },
      h("span", { class: "case-title", id: `case-title-${c.id}`, text: c.title }),
      h("span", { class: "case-meta", text: meta.join(" · ") }),
      h("span", { class: "case-foot" },
        c.last_message_at
          ? h("time", { datetime: isoTime(c.last_message_at), text: t("Latest message %(time)s", { time: shortTime(c.last_message_at) }) })
          : h("span", { text: t("No messages yet") }),
        c.unread ? h("span", { class: "badge unread", text: tn("%(n)s unread", "%(n)s unread", c.unread) }) : null)),
    h("a", { href: `/cases/${encodeURIComponent(c.id)}/documentation`, class: "case-more",
      "aria-describedby": `case-title-${c.id}`, text: t("My documentation") }));
}

async function main() {
  const app = await boot();
  const list = byId("case-list");
  let cases = [];
  const render = () => {
    list.replaceChildren(...cases.map(caseItem));
    if (!cases.length) list.append(h("li", { class: "empty", text: t("You have no cases with messages here.") }));
  };
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
  for (const c of cases) app.live.follow(c.id, c.last_seq);
}

main().catch((error) => status("setup-status", explain(error), "error"));
