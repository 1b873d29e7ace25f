// One person's side of a booked video meeting's call (docs/protocol.md §16): joining it through the live
// connection, the peer connection (WebRTC) with the other person, and the signalling between the two,
// every signal sealed and checked by js/call-signal.js. The unit's side makes the offer and the citizen's
// answers, so the two never offer at once. Any change of who is in the call starts a fresh peer
// connection (and fresh DTLS keys); the page (js/pages/call.js) shows what this reports, in words.
import { newCallId, openSignal, sealSignal, SignalRefused } from "./call-signal.js";

const PHASES = { new: "connecting", connecting: "connecting", connected: "connected", disconnected: "unstable",
  failed: "failed" };

/**
 * Events: "state" (detail {phase, peer, by}): phase is "waiting" (in the call, the other person is not),
 * "connecting", "connected", "unstable", "failed", "peer-lost" (the other person's connection went away;
 * they may come back) or "ended" (by "me", "peer", "elsewhere": this person joined on another page, or
 * "lost": this side could not rejoin after its connection to the server came back);
 * "remote" (detail: the MediaStream of the other person); "refused" (detail: why a signal was not used).
 */
export class Call extends EventTarget {
  /**
   * @param {{session, live, view, bookingId: number, iceServers: RTCIceServer[], iceTransportPolicy: string,
   *          others: Set<string>}} options
   * `others`: the users who may be on the other side (from the server's call details).
   */
  constructor({ session, live, view, bookingId, iceServers, iceTransportPolicy = "all", others }) {
    super();
    Object.assign(this, { session, live, view, bookingId, iceServers, iceTransportPolicy, others });
    this.offerer = !session.isCitizen;
    this.joined = false;
    this.local = null;
    this.peer = null; // {user, device}
    this.pc = null;
    this.myCall = null; // the id of this side's current peer connection
    this.remoteCall = null; // the other side's, from its verified offer or answer
    this.pending = []; // candidates that came before the answer
    this.seen = new Set(); // signals used already
    this.work = Promise.resolve(); // what comes in is handled one at a time, in order
    this.outgoing = Promise.resolve(); // and what goes out is sent in order
    const mine = (frame) => frame.case_id === view.id && frame.booking_id === bookingId;
    live.addEventListener("call.peer", (e) => mine(e.detail) && this._queue(() => this._peerEvent(e.detail)));
    live.addEventListener("call.signal", (e) => mine(e.detail) && this._queue(() => this._signal(e.detail)));
    live.addEventListener("call.ended", (e) => mine(e.detail) && this._queue(() => this._end("elsewhere")));
    // The server takes a connection that went away out of the call: after a reconnection, join again.
    live.addEventListener("ready", () => this.joined && this._queue(() => this._join().catch(() => this._end("lost"))));
  }

  _queue(step) {
    this.work = this.work.then(step).catch((error) => console.error(error));
    return this.work;
  }

  _report(phase, extra = {}) {
    this.dispatchEvent(new CustomEvent("state", { detail: { phase, peer: this.peer, ...extra } }));
  }

  _frame(t) {
    return { t, case_id: this.view.id, booking_id: this.bookingId };
  }

  get connectionState() {
    return this.pc ? this.pc.connectionState : "none";
  }

  /** Join with the local media (a MediaStream, possibly without tracks). Throws LiveError when refused. */
  async join(local) {
    this.local = local;
    await this.session.caseKey(this.view); // every signal is sealed with it
    await this._online();
    await this._join();
  }

  async _join() {
    this._closePc();
    this.peer = null;
    const answer = await this.live.request(this._frame("call.join"));
    this.joined = true;
    const peer = answer.peers.find((p) => this.others.has(p.user));
    if (peer) this._peerJoined(peer);
    else this._report("waiting");
  }

  _online() {
    if (this.live.online) return Promise.resolve();
    return new Promise((resolve) => this.live.addEventListener("ready", resolve, { once: true }));
  }

  async hangUp() {
    await this._queue(async () => {
      if (this.joined) await this.live.request(this._frame("call.hangup")).catch(() => {});
      this._end("me");
    });
  }

  setMuted(kind, muted) {
    for (const track of this.local?.getTracks() || []) if (track.kind === kind) track.enabled = !muted;
  }

  // -- who is in the call ---------------------------------------------------------------------------
  _peerEvent(frame) {
    if (!this.joined || !this.others.has(frame.user)) return;
    if (frame.event === "joined") {
      this._peerJoined({ user: frame.user, device: frame.device });
    } else if (frame.event === "left" && this.peer?.device === frame.device) {
      if (frame.reason === "hangup") {
        this.live.request(this._frame("call.hangup")).catch(() => {}); // the call is over for both
        this._end("peer");
      } else {
        this._closePc();
        this._report("peer-lost");
      }
    }
  }

  _peerJoined(peer) {
    this._closePc();
    this.peer = peer;
    this._report("connecting");
    if (this.offerer) return this._offer();
    return undefined; // the citizen's side waits for the offer
  }

  _end(by) {
    this.joined = false;
    this._closePc();
    this._report("ended", { by });
    this.peer = null;
  }

  // -- the peer connection --------------------------------------------------------------------------
  _newPc() {
    // "relay": only the TURN server's addresses are gathered, so neither side learns the other's (the unit's
    // choice where citizens with protected identities take part; docs/protocol.md §16).
    const pc = new RTCPeerConnection({ iceServers: this.iceServers, iceTransportPolicy: this.iceTransportPolicy });
    const remote = new MediaStream();
    this.pc = pc;
    this.myCall = newCallId();
    this.remoteCall = null;
    this.pending = [];
    pc.ontrack = (event) => {
      remote.addTrack(event.track);
      this.dispatchEvent(new CustomEvent("remote", { detail: remote }));
    };
    const myCall = this.myCall;
    pc.onicecandidate = (event) => {
      if (!event.candidate || pc !== this.pc) return;
      this._send({ kind: "candidate", call: myCall, candidate: event.candidate.toJSON() });
    };
    pc.onconnectionstatechange = () => {
      if (pc === this.pc && PHASES[pc.connectionState]) this._report(PHASES[pc.connectionState]);
    };
    return pc;
  }

  _closePc() {
    if (!this.pc) return;
    const pc = this.pc;
    this.pc = null;
    pc.ontrack = pc.onicecandidate = pc.onconnectionstatechange = null;
    pc.close();
  }

  _addMedia(pc, offering) {
    const tracks = this.local?.getTracks() || [];
    for (const track of tracks) pc.addTrack(track, this.local);
    if (!offering) return;
    for (const kind of ["audio", "video"]) {
      // Without a camera or microphone, still ask to receive the other person's.
      if (!tracks.some((track) => track.kind === kind)) pc.addTransceiver(kind, { direction: "recvonly" });
    }
  }

  async _offer() {
    const pc = this._newPc();
    this._addMedia(pc, true);
    const offer = await pc.createOffer();
    // Queued before setLocalDescription, so the offer goes out ahead of the candidates that follow it.
    this._send({ kind: "offer", call: this.myCall, sdp: offer.sdp });
    await pc.setLocalDescription(offer);
  }

  /** Seal and send one signal to the peer, after those queued before it. */
  _send(signal) {
    const peer = this.peer;
    this.outgoing = this.outgoing.then(async () => {
      for (let attempt = 0; attempt < 2 && this.joined && this.peer === peer; attempt++) {
        try {
          const env = await sealSignal(this.session, this.view, this.bookingId, peer.device, signal);
          await this.live.request({ ...this._frame("call.signal"), to: peer.device, env });
          return;
        } catch (error) {
          if (error.code !== "stale_epoch") return; // the other person left, or the connection did: it restarts
          this.session.forgetEpoch(this.view.id); // the case key was rotated: seal again with the new one
        }
      }
    });
  }

  // -- signals from the other person ----------------------------------------------------------------
  async _signal(frame) {
    let signal;
    try {
      signal = await openSignal(this.session, this.view, this.bookingId, frame, this.others, this.seen);
      if (!this.joined) return;
      if (signal.from.device !== this.peer?.device) throw new SignalRefused("not from the device in the call");
    } catch (error) {
      if (error instanceof SignalRefused) this.dispatchEvent(new CustomEvent("refused", { detail: error.message }));
      return;
    }
    const { body } = signal;
    if (body.kind === "offer" && !this.offerer) await this._answer(body);
    else if (body.kind === "answer" && this.offerer) await this._answered(body);
    else if (body.kind === "candidate") await this._candidate(body);
  }

  async _answer(offer) {
    this._closePc();
    const pc = this._newPc();
    this.remoteCall = offer.call;
    try {
      await pc.setRemoteDescription({ type: "offer", sdp: offer.sdp });
      this._addMedia(pc, false);
      const answer = await pc.createAnswer();
      this._send({ kind: "answer", call: this.myCall, reply_to: offer.call, sdp: answer.sdp });
      await pc.setLocalDescription(answer);
    } catch (error) {
      if (pc === this.pc) this._report("failed");
    }
  }

  async _answered(answer) {
    const pc = this.pc;
    if (!pc || answer.reply_to !== this.myCall || pc.signalingState !== "have-local-offer") return;
    this.remoteCall = answer.call;
    try {
      await pc.setRemoteDescription({ type: "answer", sdp: answer.sdp });
    } catch (error) {
      if (pc === this.pc) this._report("failed");
      return;
    }
    for (const early of this.pending.splice(0)) await this._candidate(early);
  }

  async _candidate(body) {
    const pc = this.pc;
    if (!pc) return;
    if (!pc.remoteDescription) {
      this.pending.push(body); // kept until the description they belong to is set
      return;
    }
    if (body.call !== this.remoteCall) return; // of an earlier peer connection
    await pc.addIceCandidate(body.candidate).catch(() => {});
  }
}
