// The video call page of a booked video meeting, for the citizen (on a phone) and the caseworker: own and
// remote video, microphone and camera switches, hang up, and the state of the connection in words in a
// polite live region. The camera starts only when the person chooses to join.
import { api } from "../api.js";
import { byId, status } from "../dom.js";
import { fullTime } from "../format.js";
import { t } from "../i18n.js";
import { alertError, boot, config, explain } from "../app.js";
import { Call } from "../call.js";

const root = byId("call");
const joinButton = byId("call-join");
const controls = ["call-mute", "call-camera", "call-hangup"].map(byId);
const names = new Map(); // user id -> name, from the call's details
let call = null;
let local = null;
let waitingFor = "";
let rejected = 0;

// Refusals of call.join a person can act on, in words.
const REFUSALS = {
  call_not_open: () => t("The call is not open now. It opens 15 minutes before the meeting."),
  call_full: () => t("Someone else is already in this call."),
  forbidden: () => t("You do not take part in this call."),
  relay_unavailable: () => t("This call cannot be held safely here: it needs a relay server that is not set up. Meet by phone or at the office instead."),
};

function nameOf(peer) {
  return (peer && names.get(peer.user)) || t("the other person");
}

function setInCall(inCall) {
  joinButton.hidden = inCall;
  joinButton.disabled = inCall;
  for (const button of controls) button.hidden = !inCall;
  root.dataset.joined = String(inCall);
}

function stopMedia() {
  for (const track of local?.getTracks() || []) track.stop();
  local = null;
  byId("local-video").srcObject = null;
  for (const button of controls) button.setAttribute("aria-pressed", "false");
}

function ended(by, peer) {
  stopMedia();
  setInCall(false);
  const name = nameOf(peer);
  return {
    me: t("You left the call."), peer: t("%(name)s ended the call.", { name }),
    elsewhere: t("You joined this call on another page or device."),
    lost: t("The connection to the call was lost. Join again to continue."),
  }[by];
}

function showState({ phase, peer, by }) {
  root.dataset.phase = phase;
  root.dataset.pcState = call.connectionState;
  const name = nameOf(peer);
  // The other person's picture goes with their peer connection; a new one brings its own stream.
  if (phase === "waiting" || phase === "peer-lost" || phase === "ended") byId("remote-video").srcObject = null;
  const words = {
    waiting: () => t("Waiting for %(name)s to join…", { name: waitingFor }),
    connecting: () => t("Connecting to %(name)s…", { name }),
    connected: () => t("Connected with %(name)s.", { name }),
    unstable: () => t("The connection is unstable. Trying to reconnect…"),
    failed: () => t("The call could not be connected. Hang up and join again."),
    "peer-lost": () => t("%(name)s lost the connection. Waiting for them to come back…", { name }),
    ended: () => ended(by, peer),
  }[phase]();
  status("call-state", words, phase === "failed" ? "error" : "");
  byId("remote-label").textContent = peer ? name : t("The other person");
}

/** Camera and microphone; without them the person still sees and hears the other one. */
async function startMedia() {
  for (const wanted of [{ audio: true, video: { width: { ideal: 640 }, height: { ideal: 480 } } }, { audio: true }]) {
    try {
      return await navigator.mediaDevices.getUserMedia(wanted);
    } catch (error) {
      // try with less, then with nothing
    }
  }
  status("call-error",
    t("Your camera and microphone could not be used. You can still see and hear the other person."), "error");
  return new MediaStream();
}

async function join() {
  joinButton.disabled = true;
  alertError("call-error", null);
  try {
    local = await startMedia();
    byId("local-video").srcObject = local;
    setInCall(true);
    await call.join(local);
  } catch (error) {
    stopMedia();
    setInCall(false);
    if (REFUSALS[error?.code]) status("call-error", REFUSALS[error.code](), "error");
    else alertError("call-error", error);
  }
}

function toggle(button, kind) {
  const muted = button.getAttribute("aria-pressed") !== "true";
  button.setAttribute("aria-pressed", String(muted));
  call.setMuted(kind, muted);
}

function describe(details, view, isCitizen) {
  const { call: info } = details;
  names.set(info.citizen.id, info.citizen.name);
  for (const person of info.unit_side) names.set(person.id, person.name);
  names.set(info.caseworker.id, info.caseworker.name);
  waitingFor = (isCitizen ? info.caseworker.name : info.citizen.name) || t("the other person");
  const withWhom = isCitizen ? [info.caseworker.name, view.unit_name].filter(Boolean).join(", ") : info.citizen.name;
  byId("call-meeting").textContent = t("Video meeting %(time)s with %(name)s",
    { time: fullTime(info.starts_at), name: withWhom });
  const back = byId("call-back");
  back.href = isCitizen ? `/cases/${encodeURIComponent(view.id)}/booking` : "/calendar";
  if (details.ice_transport_policy === "relay" && !details.relay_available) {
    // A protected identity's call must go through a relay, and there is none: say so before anyone tries.
    status("call-state", REFUSALS.relay_unavailable());
  } else if (info.open) {
    joinButton.disabled = false;
  } else if (Date.now() < info.opens_at) {
    status("call-state", t("The call opens at %(time)s, 15 minutes before the meeting.",
      { time: fullTime(info.opens_at) }));
    const opens = () => { joinButton.disabled = false; status("call-state", ""); };
    setTimeout(opens, Math.min(info.opens_at - Date.now(), 2 ** 31 - 1)); // setTimeout's longest wait
  } else {
    status("call-state", t("This call is closed."));
  }
}

async function main() {
  const app = await boot();
  if (config.denied) return;
  const view = await app.session.caseView(config.case_id);
  const bookingId = Number(config.booking_id);
  const details = await api("GET", `/api/cases/${encodeURIComponent(view.id)}/calls/${bookingId}`);
  const isCitizen = app.session.isCitizen;
  const others = isCitizen ? details.call.unit_side.map((p) => p.id) : [details.call.citizen.id];
  call = new Call({ session: app.session, live: app.live, view, bookingId, iceServers: details.ice_servers,
    iceTransportPolicy: details.ice_transport_policy,
    others: new Set(others) });
  call.addEventListener("state", (event) => showState(event.detail));
  call.addEventListener("remote", (event) => { byId("remote-video").srcObject = event.detail; });
  call.addEventListener("refused", (event) => {
    rejected += 1;
    root.dataset.rejected = String(rejected);
    root.dataset.refusedWhy = event.detail; // for whoever looks into it; the person is told in words
    status("call-error", t("A call message could not be verified and was not used."), "error");
  });
  joinButton.addEventListener("click", join);
  byId("call-mute").addEventListener("click", (event) => toggle(event.currentTarget, "audio"));
  byId("call-camera").addEventListener("click", (event) => toggle(event.currentTarget, "video"));
  byId("call-hangup").addEventListener("click", () => call.hangUp());
  describe(details, view, isCitizen);
}

main().catch((error) => alertError("call-error", error));
