// The sign-in page: the demo login (in demo mode), or straight on to the app when already signed in.
import { api } from "../api.js";
import { byId, status } from "../dom.js";
import { t } from "../i18n.js";
import { explain, homeOf, registerServiceWorker, whoAmI } from "../app.js";

function nextPage(user) {
  const next = new URLSearchParams(location.search).get("next");
  // Only a path on this site, never another site ("//host" or "https://…").
  if (next && next.startsWith("/") && !next.startsWith("//") && !next.startsWith("/\\")) return next;
  return homeOf(user);
}

async function signIn(button) {
  for (const b of document.querySelectorAll("[data-username]")) b.disabled = true;
  status("signin-status", t("Signing in…"));
  try {
    const { user } = await api("POST", "/api/demo/login", { username: button.dataset.username });
    location.assign(nextPage(user));
  } catch (error) {
    status("signin-status", explain(error), "error");
    for (const b of document.querySelectorAll("[data-username]")) b.disabled = false;
    button.focus();
  }
}

async function main() {
  registerServiceWorker();
  for (const button of document.querySelectorAll("[data-username]")) {
    button.addEventListener("click", () => signIn(button));
  }
  try {
    const me = await whoAmI();
    if (me && !me.offline) location.replace(nextPage(me.user));
  } catch (error) {
    // not signed in, or offline: the page is the sign-in page
  }
}

main();
