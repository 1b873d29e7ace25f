// A video call's signalling, end to end (docs/protocol.md §16). Every offer, answer and ICE candidate is a
// message envelope under the case key, signed by the sending device, and relayed by the server without
// being stored. The SDP carries the DTLS fingerprints that authenticate the media: a server that could
// change it could put itself in the middle of the call. So a received signal is used only after it has
// passed every check of a stored message (the labels against the signed header, the signature with the
// device's own key, the device belongs to the named sender, the case key opens it) and the call's own:
// it comes from the person on the other side of this call, and was made for this call and this device.
import * as c from "./crypto/index.js";
import { ApiError } from "./api.js";

export const SIGNAL_TYPE = "call.signal";
const KINDS = new Set(["offer", "answer", "candidate"]);
const ID16 = /^[A-Za-z0-9_-]{21}[AQgw]$/;

export class SignalRefused extends Error {
  constructor(why) {
    super(`call signal refused: ${why}`);
    this.code = "signal_refused";
  }
}

/** A fresh id for one peer connection (a "call" in the signal body): 16 random bytes, base64url. */
export function newCallId() {
  return c.newMsgId();
}

/**
 * Encrypt and sign one signal for device `to`; returns the envelope as base64url for a call.signal frame.
 * @param session the browser's Session (js/session.js)
 * @param caseView the case
 * @param {number} bookingId
 * @param {string} to the receiving device
 * @param {{kind: string, call: string, sdp?: string, reply_to?: string, candidate?: object}} signal
 */
export async function sealSignal(session, caseView, bookingId, to, signal) {
  const { env } = await session.seal(caseView, { ...signal, type: SIGNAL_TYPE, booking: bookingId, to });
  return c.b64u(env);
}

function shapeOk(body) {
  if (!KINDS.has(body.kind) || typeof body.call !== "string" || !ID16.test(body.call)) return false;
  if (body.kind === "candidate") {
    const cand = body.candidate;
    return typeof cand === "object" && cand !== null && typeof cand.candidate === "string";
  }
  if (typeof body.sdp !== "string") return false;
  return body.kind === "offer" || (typeof body.reply_to === "string" && ID16.test(body.reply_to));
}

/**
 * Verify, decrypt and check one relayed call.signal frame. Returns {from: {user, device}, msgId, body}, or
 * throws SignalRefused (any failure: the signal must not be used, not even in part).
 * @param session the browser's Session
 * @param caseView the case
 * @param {number} bookingId the call's booking
 * @param frame the relayed frame {case_id, booking_id, from_user, from_device, env}
 * @param {Set<string>} others the users who may be on the other side of this call
 * @param {Set<string>} seen ids of signals used already (a replayed one is refused); this adds to it
 */
export async function openSignal(session, caseView, bookingId, frame, others, seen) {
  if (frame.case_id !== caseView.id || frame.booking_id !== bookingId) throw new SignalRefused("another call");
  if (!others.has(frame.from_user)) throw new SignalRefused("not from the other side of this call");
  let opened;
  try {
    const { header } = c.parseEnvelope(c.unb64u(frame.env));
    // The same checks as a stored message: labels, signature, owner of the device, the case key.
    opened = await session.open(caseView, {
      env: frame.env, msg_id: header.msg_id, sender: frame.from_user, sender_device: frame.from_device,
      seq: null, stored_at: null,
    });
  } catch (error) {
    if (error instanceof ApiError && error.offline) throw error; // the network, not the signal
    throw new SignalRefused(error?.message || "does not verify");
  }
  const { body } = opened;
  if (opened.senderDevice === session.deviceId) throw new SignalRefused("from this device");
  if (body.type !== SIGNAL_TYPE || body.booking !== bookingId || body.to !== session.deviceId) {
    throw new SignalRefused("not made for this call and this device");
  }
  if (!shapeOk(body)) throw new SignalRefused("not a signal");
  if (seen.has(opened.msgId)) throw new SignalRefused("replayed");
  seen.add(opened.msgId);
  return { from: { user: opened.sender, device: opened.senderDevice }, msgId: opened.msgId, body };
}
