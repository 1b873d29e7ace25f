// The citizen's conversation with the caseworker.
import { byId, status } from "../dom.js";
import { duration } from "../format.js";
import { t } from "../i18n.js";
import { boot, config, explain } from "../app.js";
import { rememberEarly } from "../api.js";
import { Conversation } from "../conversation.js";
import { automated } from "../automated.js";
import { forWhom, mandateWords } from "../representation.js";

async function main() {
  const app = await boot("conversation-status");
  const view = await app.session.caseView(config.case_id);
  document.title = `${view.title} – Samtal`;
  byId("conversation-title").textContent = view.title;
  byId("conversation-with").textContent = view.assigned_name
    ? t("With %(name)s, %(unit)s", { name: view.assigned_name, unit: view.unit_name })
    : view.unit_name;
  if (view.on_behalf) {  // acting for someone else: whose case it is and what the mandate allows
    byId("conversation-title").textContent = `${view.title} – ${forWhom(view)}`;
    byId("conversation-with").textContent += ` · ${mandateWords(view)}`;
  }
  const usual = view.assigned_usual_reply_seconds;
  byId("reply-time").replaceChildren(...(usual
    ? [t("Usually answers within %(time)s.", { time: duration(usual) }), " ",
      automated(t("computed by Samtal from how long the unit took to answer in its recent conversations."))]
    : [t("Usual answer time: not known yet.")]));
  await new Conversation({ ...app, config }, view).start();
  rememberEarly(app.session.deviceId, view.id, view.unit, app.session.knownDevices());
}

main().catch((error) => status("conversation-status", explain(error), "error"));
