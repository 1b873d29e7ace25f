// What every signed-in page does first: find out who is signed in, set up this browser's device keys,
// open the live connection, and keep the header (who, sign out, connection state) up to date.
import { api, ApiError, forgetEarly, whenSignedOut } from "./api.js";
import { byId, status } from "./dom.js";
import { t } from "./i18n.js";
import { Live } from "./live.js";
import { Outbox } from "./outbox.js";
import { Session } from "./session.js";
import { doKeyWork } from "./keywork.js";
import { noKeyWords } from "./key-ceremony.js";
import { refusalWords } from "./refusals.js";
import * as db from "./idb.js";

export const config = JSON.parse(byId("config")?.textContent || "{}");

// The one Trusted Types policy the page's CSP allows ("trusted-types samtal"). It vouches for exactly
// one script URL, the service worker's; it makes no HTML at all.
const policy = window.trustedTypes?.createPolicy("samtal", {
  createScriptURL(url) {
    if (url === "/sw.js") return url;
    throw new TypeError("script URL not allowed");
  },
});

export function registerServiceWorker() {
  if (!("serviceWorker" in navigator)) return;
  // The worker refuses a new version whose code does not match its signed release (templates/sw.js); it says
  // so while a page is open, and keeps the refusal for the pages opened later.
  navigator.serviceWorker.addEventListener("message", (event) => {
    if (event.data?.type === "release-refused") showRefusedRelease();
  });
  window.caches?.open("samtal-release").then((kept) => kept.match("/refused")).then((refused) => {
    if (refused) showRefusedRelease();
  }).catch(() => {});
  const url = policy ? policy.createScriptURL("/sw.js") : "/sw.js";
  navigator.serviceWorker.register(url, { scope: "/" }).catch(() => {
    // without it the app works the same, only not offline after a reload
  });
}

function showRefusedRelease() {
  status("release", t("A new version of Samtal was refused: its code does not match the signed release. You are still using the version you had. Tell your municipality's IT support."), "error");
}

export function goToSignIn() {
  const next = location.pathname + location.search;
  location.assign(`/?next=${encodeURIComponent(next)}`);
}

export function homeOf(user) {
  return { citizen: "/cases", log_reviewer: "/review" }[user.role] || "/inbox";
}

/** The header's links a role gets (data-role-link): a log reviewer has no inbox, a supervisor a unit page. */
const ROLE_LINKS = {
  citizen: ["citizen"], caseworker: ["staff", "device"], supervisor: ["staff", "supervisor", "retention", "device"],
  unit_admin: ["staff", "supervisor", "retention", "device"], log_reviewer: ["log_reviewer", "retention", "device"],
};

/** /api/me, or the copy kept from the last time when offline; null when not signed in. */
export async function whoAmI() {
  try {
    const me = await api("GET", "/api/me");
    await db.put("meta", me, "me");
    return me;
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return null;
    if (error instanceof ApiError && error.offline) {
      const kept = await db.get("meta", "me");
      if (kept) return { ...kept, offline: true };
    }
    throw error;
  }
}

let connecting = null;
let signedIn = null; // the person boot() found, for words that depend on the role

function showConnection(state) {
  clearTimeout(connecting);
  if (state === "connecting") {
    // Most connections take a moment; say so only when this one takes longer.
    connecting = setTimeout(() => status("connection", t("Connecting…"), state), 2000);
    return;
  }
  const text = {
    online: "",
    offline: t("You are offline. What you write is sent when the connection is back."),
    refused: t("This device can no longer connect. Sign in again."),
  }[state];
  status("connection", text, state);
}

function wireHeader(user) {
  const who = byId("whoami");
  if (who) who.textContent = user.display_name;
  for (const item of document.querySelectorAll("[data-role-link]")) {
    item.hidden = !(ROLE_LINKS[user.role] || ["staff", "device"]).includes(item.dataset.roleLink);
  }
  byId("signout")?.addEventListener("click", async () => {
    try {
      await api("POST", "/api/logout", {});
      // Case keys and case metadata kept for offline use go with the session. The device keys stay:
      // they are this device's identity, useless without a session of their owner.
      await db.clear("keys");
      await db.clear("meta");
      forgetEarly();
    } finally {
      location.assign("/");
    }
  });
}

/**
 * Start a signed-in page: {me, session, live, outbox}. Redirects to the sign-in page when there is no
 * session. `statusId` names the status line that tells about device setup.
 */
export async function boot(statusId = "setup-status", { keys = true } = {}) {
  registerServiceWorker();
  const me = await whoAmI();
  if (!me) {
    goToSignIn();
    return new Promise(() => {}); // the page is going away
  }
  wireHeader(me.user);
  signedIn = me.user;
  whenSignedOut(goToSignIn);
  // A page that shows no case content (the log reviewer's) needs no device keys: it makes none, joins no
  // key work, and opens no live connection.
  if (!keys) return { me };
  const session = new Session(me.user);
  session.demo = Boolean(me.demo);
  status(statusId, t("Preparing this device's encryption keys…"));
  if (me.offline) {
    const record = await db.get("devices", me.user.id);
    if (!record) throw new ApiError(0, "offline", "offline before this device was set up");
    await session.ensureDevice(null);
  } else {
    await session.ensureDevice(me.devices);
  }
  status(statusId, session.replacedRevoked ? t("This device had been removed from your account; it now has new keys.") : "");
  const live = new Live(session.deviceId);
  const outbox = new Outbox(session, live);
  live.addEventListener("state", (event) => showConnection(event.detail));
  live.addEventListener("keys", () => {
    session.keysChanged();
    doKeyWork(session); // staff only: keys for new cases, a rotation, a citizen's new device
  });
  live.addEventListener("msg", (event) => {
    const frame = event.detail;
    if (frame.sender !== me.user.id) live.receipt(frame.case_id, { delivered: frame.seq });
  });
  live.addEventListener("state", async (event) => {
    if (event.detail === "refused" && !(await whoAmI())) goToSignIn();
    // Back online (or online for the first time): `keys` frames sent while this page was not connected are
    // lost, so look for work that may have come meanwhile (one request when there is none).
    if (event.detail === "online") doKeyWork(session);
  });
  live.connect();
  showConnection(live.state);
  if (!me.offline) doKeyWork(session); // work that waited while no staff device was online
  return { me, session, live, outbox };
}

/** Turn an error into words for a status line. */
export function explain(error) {
  if (error?.code === "no_key") return noKeyWords(signedIn);
  if (error?.code === "unit_identity_changed") {
    return t("Warning: the unit's identity has changed without a hand-over from the identity this device trusted. Nothing is sent. Compare the unit's safety number with the letter from the municipality, and call the unit.");
  }
  if (error?.code === "key_file_refused") {
    return t("This is not a key file of the unit's identity key. Choose the file “samtal keys identity” made for this unit.");
  }
  if (error?.code === "not_holder") {
    return t("This device does not hold the unit's identity key.");
  }
  if (error?.code === "identity_mismatch") {
    return t("Warning: the municipality publishes another identity for the unit than the server shows. Nothing is sent. Do not write, and call the unit.");
  }
  if (error?.code === "identity_unreachable") {
    return t("The unit's identity could not be compared with the file the municipality publishes, so nothing is sent yet. Try again later.");
  }
  if (error?.code === "not_entitled") {
    return t("Warning: this comes from a device the unit has not certified. It is not used, and nothing is sent with it.");
  }
  if (["log_fork", "log_key_changed", "not_in_log", "bad_chain"].includes(error?.code)) {
    return t("Warning: the server showed this device key records that do not agree with what it showed before. Nothing is sent. Contact the municipality.");
  }
  if ((error instanceof ApiError && error.offline) || ["disconnected", "timeout"].includes(error?.code)) {
    return t("You are offline, or the connection was lost before the server answered. Try again when the connection is back.");
  }
  // The server's refusals (HTTP problem+json; a WebSocket error frame has no status: told as a refusal) in
  // words, with what to do.
  const status = error instanceof ApiError ? error.status : error?.frame ? 400 : 0;
  const refused = refusalWords({ status, code: error?.code, detail: error?.detail });
  if (refused) return refused;
  console.error(error); // a fault of this page's own code: for whoever looks at the console
  return t("This page ran into an error of its own. Reload the page and try again; if it happens again, tell your IT support.");
}

/** Show an error in a page's role=alert line (cleared with null). */
export function alertError(id, error) {
  status(id, error ? explain(error) : "", error ? "error" : "");
}

/** guarded = guardedBy("alert-id"); guarded(async () => …) runs the work and tells its failure in words. */
export function guardedBy(alertId) {
  return async (work) => {
    alertError(alertId, null);
    try {
      await work();
    } catch (error) {
      alertError(alertId, error);
    }
  };
}
