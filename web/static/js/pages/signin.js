// The sign-in page: the demo login (in demo mode), or straight on to the app when already signed in.
import { api } from "../api.js";
import { byId, status } from "../dom.js";
import { t } from "../i18n.js";
import { explain, homeOf, registerServiceWorker, whoAmI } from "../app.js";
import { prepareSignin } from "../citizen-devices.js";

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

/**
 * A citizen's sign-in with e-identification carries this browser's new device key (docs/protocol.md section 21):
 * the device's keys are made first, and the nonce they make goes to the provider, whose signed ID token then
 * attests this device. Should that fail, the sign-in goes on as before (the device is then linked by hand).
 */
async function eidSignIn(event, link) {
  event.preventDefault();
  let target = link.getAttribute("href");
  try {
    target += `?nonce=${encodeURIComponent(await prepareSignin())}`;
  } catch {
    // no IndexedDB or WebCrypto here: the sign-in still works, the device is not proven by it
  }
  location.assign(target);
}

async function main() {
  registerServiceWorker();
  const eid = document.querySelector('a[href="/login/citizen"]');
  if (eid) eid.addEventListener("click", (event) => eidSignIn(event, eid));
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
