// One case's conversation: the messages (decrypted here, shown as text only), the composer with
// attachments, live updates, and sent / delivered / read states. Used by the citizen's conversation
// page and by the caseworker's inbox.
import { announce, byId, h, icon, status } from "./dom.js";
import { fileSize, fullTime, isoTime, senderName, shortTime } from "./format.js";
import { t, tn } from "./i18n.js";
import { ACCEPTED_TYPES, AttachmentError, decryptAttachment, encryptFile, fits, isImage } from "./attachments.js";
import { explain } from "./app.js";
import { waitingWordsWithHelp } from "./key-ceremony.js";
import { refusalWords } from "./refusals.js";
import { fileButton } from "./file-button.js";

const NEAR_BOTTOM_PX = 120;
let current = null; // the conversation the page's composer writes to

/** Why a message could not be shown, in words (its code from session.js's MessageRefused). */
function refusalReason(code) {
  switch (code) {
    case "bad_signature":
    case "undecryptable":
    case "malformed":
    case "mislabelled":
      return t("This message could not be opened: it was changed after it was sent.");
    case "wrong_sender":
      return t("This message is not shown: the server names another sender than the one who signed it.");
    case "unknown_device":
      return t("This message is not shown: its sender's device is not known.");
    case "no_key":
      return t("This message could not be opened: this device lacks its key.");
    case "not_entitled":
      return t("This message comes from a device the unit has not certified, and is not shown.");
    case "bad_body":
      return t("This message could not be opened: its content is not a message.");
    default:
      return t("This message could not be opened. It may have been changed on the way, or this device lacks its key.");
  }
}

/** What is wrong with a message's or the case's place in the transcript (docs/protocol.md §20), in words. */
function transcriptReason(problem) {
  switch (problem.code) {
    case "replayed":
      return t("Warning: this message is shown again. The server repeats an earlier message.");
    case "missing_before":
      return tn("Warning: an earlier message from the same sender is missing here.",
        "Warning: %(n)s earlier messages from the same sender are missing here.", problem.count);
    case "out_of_order":
      return t("Warning: this message is shown out of order. It was written after a message shown below it.");
    case "not_seen":
      return t("Warning: a message that was written before this one is missing.");
    case "gone":
      return t("Warning: a message that was shown here before is gone. The server has removed it.");
    case "own_missing":
      return tn("Warning: a message you sent from this device is missing.",
        "Warning: %(n)s messages you sent from this device are missing.", problem.count);
    default:
      return t("Warning: this conversation could not be checked.");
  }
}
const ANNOUNCE_CHARS = 160;

export class Conversation {
  /**
   * @param app {session, live, outbox, me, config}
   * @param caseView the case (GET /api/cases/{id})
   * @param onActivity called with each new message item (the inbox updates its list)
   */
  constructor(app, caseView, onActivity = () => {}) {
    this.app = app;
    this.view = caseView;
    this.onActivity = onActivity;
    this.me = app.me.user;
    this.items = new Map(); // msg id -> item
    this.othersDelivered = 0;
    this.othersRead = 0;
    this.readSent = 0;
    this.list = byId("messages");
    this.form = byId("composer");
    this.text = byId("message-text");
    this.fileInput = byId("attachment-input");
    this.file = null;
    this.objectUrls = [];
    this.listeners = [];
    this.stopped = false;
    this.ready = false; // the case key is here and the history shown: messages can be sealed
    this.memory = null; // what this device remembered of the transcript when the page opened (§20)
  }

  _on(target, type, handler, options = {}) {
    target.addEventListener(type, handler, options);
    this.listeners.push(() => target.removeEventListener(type, handler, options));
  }

  async start() {
    const { live, outbox } = this.app;
    this.list.replaceChildren();
    delete this.list.dataset.state;
    this._wireComposer();
    this.form.hidden = this.view.status !== "open" || this.view.may_answer === false;
    status("composer-closed", this._whyNoComposer());
    this._on(live, "msg", (e) => this._pushed(e.detail));
    this._on(live, "receipt", (e) => this._receipt(e.detail));
    this._on(live, "state", () => this._refreshPending());
    this._on(live, "ready", () => this._markSeen());
    this._on(live, "generation", () => this._restored());
    this._on(outbox, "queued", (e) => this._queued(e.detail));
    this._on(outbox, "acked", (e) => this._acked(e.detail));
    this._on(outbox, "failed", (e) => this._queued(e.detail));
    this._on(document, "visibilitychange", () => this._markSeen());
    for (const record of await outbox.list(this.view.id)) await this._queued(record);
    const loaded = await this._loadHistory();
    for (const r of this.view.receipts || []) this._receipt({ ...r, case_id: this.view.id });
    this._scrollToEnd(true);
    // Without the case key nothing could be opened: follow the case once the key is there.
    if (loaded) await live.follow(this.view.id, this._lastSeq());
    this._markSeen();
    this._keepEndInView();
    this.list.dataset.state = "ready"; // the history is shown (tests and styles may wait for it)
  }

  /** Where the list scrolls by itself (the inbox on a desktop), its box can shrink after the history is shown
   * (the meetings band arrives, the composer grows): the newest message stays in view if the reader was at
   * the end, instead of being cut off at the bottom. */
  _keepEndInView() {
    let atEnd = true;
    this._on(this.list, "scroll", () => { atEnd = this._nearBottom(); }, { passive: true });
    const keep = new ResizeObserver(() => {
      if (atEnd && this.list.scrollHeight > this.list.clientHeight + 1) this._scrollToEnd(true);
    });
    keep.observe(this.list);
    this.listeners.push(() => keep.disconnect());
    // An image that finishes loading makes the history taller without changing the list's own box.
    this._on(this.list, "load", () => {
      if (atEnd && this.list.scrollHeight > this.list.clientHeight + 1) this._scrollToEnd(true);
    }, { capture: true });
  }

  /** Why there is no composer, in words with who can answer instead; "" when there is one. */
  _whyNoComposer() {
    const view = this.view;
    if (view.status !== "open") return t("This case is closed. You can read the conversation, but not write in it.");
    if (view.may_answer !== false) return "";
    if (view.on_behalf) return t("Your mandate lets you read this case, not write in it. Ask the caseworker if it should be changed.");
    const who = view.answering?.substitute_for
      ? t("%(substitute)s (standing in for %(name)s)", { substitute: view.answering.name, name: view.assigned_name })
      : view.assigned_name;
    return t("You can read this case but not answer it: %(who)s answers it, or a supervisor. Ask a supervisor to assign the case to you or to make you a substitute if you should answer.", { who });
  }

  /** Why this device waits for keys and who can help (key-ceremony.js); nothing can be sent meanwhile. */
  async _waitForKeys() {
    this._sendable(false);
    const words = await waitingWordsWithHelp(this.me);
    if (!this.stopped && !this.ready) status("conversation-status", words);
  }

  /** Send works only once the case key is here (a message could not be sealed before); what is typed or
   * attached meanwhile is kept. */
  _sendable(yes) {
    byId("send").disabled = !yes;
  }

  /** Open the stored history; false when this device has no key for the case yet. */
  async _loadHistory() {
    const { session, live } = this.app;
    // Still no key after a moment: the key ceremony in words, with who can help.
    const slow = setTimeout(() => this._waitForKeys(), 1500);
    try {
      status("conversation-status", t("Opening the conversation…"));
      await session.caseKey(this.view);
      this.memory = await session.transcriptMemory(this.view.id);
      for (const item of await session.history(this.view)) this._add(item);
      await this._checkTranscript();
      this.ready = true;
      status("conversation-status", "");
      this._sendable(true);
      return true;
    } catch (error) {
      if (error.code !== "no_key") {
        status("conversation-status", explain(error), "error");
        // Offline, say: the live connection replays it later, and what is written waits in the outbox.
        this.ready = true;
        this._sendable(true);
        return true;
      }
      await this._waitForKeys();
      // A key holder may approve this device later; then the server says so and we try again.
      const again = async () => {
        if (await this._loadHistory()) await live.follow(this.view.id, this._lastSeq());
      };
      this._on(live, "keys", again, { once: true });
      return false;
    } finally {
      clearTimeout(slow);
    }
  }

  /** The server's database was restored (docs/protocol.md §14.3): what this page showed may no longer be
   * there, and seqs are handed out again. Show nothing but what waits in the outbox; the live connection
   * replays the whole case from the start. */
  async _restored() {
    this.items.clear();
    this.list.replaceChildren();
    this.readSent = 0;
    for (const record of await this.app.outbox.list(this.view.id)) await this._queued(record);
  }

  stop() {
    this.stopped = true;
    if (current === this) current = null;
    for (const remove of this.listeners) remove();
    this.listeners = [];
    for (const url of this.objectUrls) URL.revokeObjectURL(url);
    this.objectUrls = [];
  }

  _lastSeq() {
    let last = 0;
    for (const item of this.items.values()) if (item.seq && item.seq > last) last = item.seq;
    return last;
  }

  // -- which side a message is on -------------------------------------------------------------------
  _fromCitizen(item) {
    return item.sender === this.view.citizen;
  }

  _ours(item) {
    // The citizen's own messages on one side, the unit's on the other, whoever in the unit wrote them.
    return this.me.role === "citizen" ? item.sender === this.me.id : !this._fromCitizen(item);
  }

  _senderName(item) {
    return senderName(this.view, item.sender, this.me.id);
  }

  // -- incoming ----------------------------------------------------------------------------------
  async _pushed(frame) {
    if (frame.case_id !== this.view.id || this.items.get(frame.msg_id)?.seq === frame.seq) return;
    let item;
    try {
      item = await this.app.session.openSafely(this.view, frame);
    } catch (error) {
      return; // offline while looking up the sender's keys: the message comes again on resume
    }
    if (this.stopped || this.items.get(item.msgId)?.seq === item.seq) return;
    this._add(item);
    await this._checkTranscript();
    this.onActivity(item);
    if (item.sender !== this.me.id) {
      const words = item.body?.text || item.body?.name || "";
      announce(t("New message from %(name)s: %(text)s", { name: this._senderName(item), text: words.slice(0, ANNOUNCE_CHARS) }));
      this._markSeen();
    }
  }

  _receipt(frame) {
    if (frame.case_id !== this.view.id || frame.user === this.me.id) return;
    if (this.me.role !== "citizen" && frame.user !== this.view.citizen) return; // colleagues' reading is not the citizen's
    this.othersDelivered = Math.max(this.othersDelivered, frame.delivered_seq || 0, frame.read_seq || 0);
    this.othersRead = Math.max(this.othersRead, frame.read_seq || 0);
    for (const item of this.items.values()) if (item.seq && this._ours(item)) this._renderState(item);
  }

  _markSeen() {
    if (this.stopped || document.visibilityState !== "visible") return;
    const last = this._lastSeq();
    if (last > this.readSent && this.app.live.online) {
      this.readSent = last;
      this.app.live.receipt(this.view.id, { delivered: last, read: last });
    }
  }

  // -- outgoing ----------------------------------------------------------------------------------
  async _queued(record) {
    if (record.case_id !== this.view.id) return;
    let existing = this.items.get(record.msg_id);
    if (existing?.seq) return;
    if (!existing) {
      let opened = { body: null, sentAt: record.created_at };
      try {
        opened = await this.app.session.openOwn(this.view, record.env);
      } catch (error) {
        // shown as "could not be opened"; it is still sent
      }
      existing = {
        msgId: record.msg_id, seq: null, sender: this.me.id, body: opened.body, sentAt: opened.sentAt,
        storedAt: null, error: opened.body ? null : "local",
      };
      this.items.set(record.msg_id, existing);
    }
    existing.failed = record.failed || null;
    existing.uploading = Boolean(record.blob);
    this._render(existing);
    this._scrollToEnd(true);
  }

  async _acked({ record, ack }) {
    if (record.case_id !== this.view.id) return;
    if (!this.items.has(record.msg_id)) await this._queued(record);
    const item = this.items.get(record.msg_id);
    if (item.body?.type === "attachment" && !item.body.blob_id) {
      // Sealed again after the upload, with the blob's id: show what was sent.
      item.body = (await this.app.session.openOwn(this.view, record.env)).body;
    }
    item.seq = ack.seq;
    item.storedAt = ack.stored_at;
    item.failed = null;
    item.uploading = false;
    item.entry = await this.app.session.entryOf(record.env, ack.seq);
    this.app.live.advance(this.view.id, ack.seq);
    this._render(item);
    await this._checkTranscript();
    this.onActivity(item);
  }

  /**
   * Check the order and completeness of what is shown (docs/protocol.md §20) and mark each message that is
   * out of place; what the case lacks as a whole (messages gone since this device showed them) is said above.
   */
  async _checkTranscript() {
    const stored = [...this.items.values()].filter((item) => item.seq);
    const before = new Map(stored.map((item) => [item, JSON.stringify(item.problems || [])]));
    const problems = await this.app.session.checkTranscript(this.view.id, stored, this.memory);
    for (const [item, old] of before) if (JSON.stringify(item.problems || []) !== old) this._render(item);
    const words = problems.map((p) => transcriptReason(p)).join(" ");
    status("transcript-status", words, words ? "error" : "");
  }

  _refreshPending() {
    for (const item of this.items.values()) if (!item.seq) this._renderState(item);
  }

  _add(item) {
    let known = this.items.get(item.msgId);
    if (known?.seq && item.seq && known.seq !== item.seq) {
      // The same message again under another seq: a replay by the server, kept apart and shown as such.
      item.msgId = `${item.msgId}@${item.seq}`;
      known = this.items.get(item.msgId);
    }
    if (known?.seq) return;
    if (known && !known.seq) {
      this.app.outbox.settled(item.msgId); // sent before (its ack was lost): the server has it
      known.el?.remove();
    }
    this.items.set(item.msgId, item);
    if (item.seq) this.app.live.advance(this.view.id, item.seq);
    const nearBottom = this._nearBottom();
    this._render(item);
    this._scrollToEnd(nearBottom || item.sender === this.me.id);
  }

  // -- rendering ---------------------------------------------------------------------------------
  _render(item) {
    const ours = this._ours(item);
    const mine = item.sender === this.me.id ? " mine" : "";
    const el = h("li", { class: `message ${ours ? "ours" : "theirs"}${mine}`, "data-msg-id": item.msgId });
    el.append(h("p", { class: "sender", text: this._senderName(item) }));
    if (!item.body) {
      el.append(h("p", { class: "text unreadable", text: refusalReason(item.error) }));
    } else {
      if (item.body.text) el.append(h("p", { class: "text", text: String(item.body.text) }));
      if (item.body.type === "attachment") el.append(this._attachment(item));
    }
    for (const problem of item.problems || []) {
      el.classList.add("flagged");
      el.append(h("p", { class: "text transcript-problem", text: transcriptReason(problem) }));
    }
    if (item.unchecked) el.append(h("p", { class: "meta unchecked", text: t("Older message format: its order is not checked.") }));
    if (item.unprovenSender) {
      el.append(h("p", { class: "meta unchecked", text: t("The sender is named by the server only: the device was registered before devices proved whose they are.") }));
    }
    const when = item.sentAt || item.storedAt || Date.now();
    const meta = h("p", { class: "meta" },
      h("time", { datetime: isoTime(when), title: fullTime(when), text: shortTime(when) }));
    if (ours) meta.append(h("span", { class: "state" }));
    if (this.me.role !== "citizen" && item.seq && item.body) {
      // Journalför: a draft in the case's documentation, from this message (the page opens it by seq).
      meta.append(h("a", { class: "file-to-journal", text: t("File in the documentation"),
        href: `/inbox/${encodeURIComponent(this.view.id)}/documentation?from=${item.seq}` }));
    }
    el.append(meta);
    if (item.el) item.el.replaceWith(el);
    else this._insert(el, item);
    item.el = el;
    if (ours) this._renderState(item);
  }

  _insert(el, item) {
    if (item.seq) {
      for (const other of this.list.children) {
        const otherItem = this.items.get(other.dataset.msgId);
        if (!otherItem?.seq || otherItem.seq > item.seq) {
          this.list.insertBefore(el, other);
          return;
        }
      }
    }
    this.list.append(el);
  }

  _state(item) {
    if (item.failed === "forbidden") return ["failed", t("Not sent: you may not answer this case.")];
    // Any other refusal in words (refusals.js), so that it is clear whether trying again can help.
    const why = item.failed && item.failed !== "error" ? refusalWords({ code: item.failed }) : null;
    if (item.failed) return ["failed", why ? t("Not sent: %(why)s", { why }) : t("Not sent")];
    if (!item.seq) {
      if (!this.app.live.online) return ["waiting", t("Waiting for connection")];
      return ["sending", item.uploading ? t("Uploading…") : t("Sending…")];
    }
    if (this.othersRead >= item.seq) return ["read", t("Read")];
    if (this.othersDelivered >= item.seq) return ["delivered", t("Delivered")];
    return ["sent", t("Sent")];
  }

  _renderState(item) {
    const holder = item.el?.querySelector(".state");
    if (!holder) return;
    const [kind, words] = this._state(item);
    if (holder.dataset.kind === kind) return;
    holder.dataset.kind = kind;
    holder.replaceChildren(icon(`state-${kind}`), h("span", { text: words }));
    if (kind === "failed") {
      // A refusal that a retry cannot change offers no retry.
      if (item.failed !== "forbidden") {
        holder.append(h("button", { type: "button", class: "button quiet small", text: t("Try again"), onclick: () => this.app.outbox.retry(item.msgId) }));
      }
      holder.append(
        h("button", {
          type: "button", class: "button quiet small", text: t("Delete"),
          onclick: async () => {
            await this.app.outbox.discard(item.msgId);
            item.el.remove();
            this.items.delete(item.msgId);
            this.text.focus();
          },
        }));
    }
  }

  _attachment(item) {
    const body = item.body;
    const name = String(body.name || t("file"));
    const label = `${name} (${fileSize(Number(body.size) || 0)})`;
    if (!item.seq || !body.blob_id) {
      return h("p", { class: "attachment" }, icon("attach"), h("span", { text: label }));
    }
    if (isImage(body.mime)) {
      const figure = h("figure", { class: "attachment image" },
        h("p", { class: "muted", text: t("Opening image…") }),
        h("figcaption", { text: label }));
      this._decrypt(body).then((url) => {
        // Drawn, the picture makes its message taller: the newest message stays in sight above the composer
        // (on a phone it was cut off under it).
        const message = figure.closest("li");
        const keep = message === this.list.lastElementChild && message.getBoundingClientRect().top < innerHeight;
        const img = h("img", { src: url, alt: name });
        if (keep) img.addEventListener("load", () => this._scrollToEnd(true), { once: true });
        figure.firstChild.replaceWith(img);
      }, () => {
        figure.firstChild.replaceWith(h("p", { class: "error-text", text: t("The attachment could not be opened.") }));
      });
      return figure;
    }
    const [button, error] = fileButton(name, Number(body.size) || 0, async () => {
      h("a", { href: await this._decrypt(body), download: name }).click();
    });
    return h("p", { class: "attachment" }, button, error);
  }

  async _decrypt(body) {
    const blob = await decryptAttachment(this.view.id, body);
    const url = URL.createObjectURL(blob);
    this.objectUrls.push(url);
    return url;
  }

  // On a desktop the message list scrolls by itself; on a phone the whole page does.
  _nearBottom() {
    const list = this.list;
    if (list.scrollHeight > list.clientHeight + 1) {
      return list.scrollHeight - list.scrollTop - list.clientHeight < NEAR_BOTTOM_PX;
    }
    const page = document.scrollingElement;
    return page.scrollHeight - page.scrollTop - innerHeight < NEAR_BOTTOM_PX;
  }

  _scrollToEnd(really) {
    const last = this.list.lastElementChild;
    if (!really || !last) return;
    last.scrollIntoView({ block: "end" });
    // On a phone the composer sticks over the bottom of the page and may be taller than the message's scroll
    // margin (a file chosen, an error said): scroll on until the newest message is above it.
    if (this.form.hidden) return;
    const covered = last.getBoundingClientRect().bottom - this.form.getBoundingClientRect().top;
    if (covered > 0) window.scrollBy(0, covered + 8);
  }

  // -- the composer ------------------------------------------------------------------------------
  _error(text) {
    status("composer-error", text, text ? "error" : "");
  }

  _wireComposer() {
    // The page's one composer is wired once and writes to the conversation open now (the inbox opens one
    // after another). It is never replaced: a file chosen while the page was getting ready stays chosen (a
    // replaced input lost it, silently); one chosen in another case of the inbox is not carried over.
    const first = !this.form.hasAttribute("data-wired");
    if (first) {
      this.form.setAttribute("data-wired", "");
      this.form.addEventListener("submit", (event) => {
        event.preventDefault();
        current?._send();
      });
      this.text.addEventListener("keydown", (event) => {
        const coarse = matchMedia("(pointer: coarse)").matches; // on a phone Enter makes a new line
        if (event.key === "Enter" && !event.shiftKey && !event.isComposing && !coarse) {
          event.preventDefault();
          current?._send();
        }
      });
      this.fileInput.addEventListener("change", () => current?._chooseFile(this.fileInput.files[0] || null));
      byId("attachment-remove").addEventListener("click", () => {
        current?._chooseFile(null);
        this.fileInput.focus();
      });
    }
    current = this;
    this._error("");
    this._sendable(false); // until the case key is here
    this._chooseFile(first ? this.fileInput.files[0] || null : null);
  }

  _chooseFile(file) {
    const max = this.app.config.max_attachment_bytes;
    this._error("");
    if (file && !ACCEPTED_TYPES.includes(file.type)) {
      this._error(t("“%(name)s” cannot be sent. Only images (PNG, JPEG, WebP, GIF) and PDF files can be attached.", { name: file.name }));
      file = null;
    } else if (file && !fits(file, max)) {
      this._error(t("“%(name)s” is %(size)s, which is too large. Attachments can be at most %(max)s.",
        { name: file.name, size: fileSize(file.size), max: fileSize(max) }));
      file = null;
    }
    this.file = file;
    if (!file) this.fileInput.value = "";
    byId("attachment-chosen").hidden = !file;
    byId("attachment-name").textContent = file ? t("Attached: %(file)s", { file: `${file.name} (${fileSize(file.size)})` }) : "";
  }

  async _send() {
    if (!this.ready) { // Enter while the page waits for the case key (Send is disabled then)
      this._error(t("Not sent yet: this device is waiting for the keys to the case, as said above. What you wrote is kept."));
      return;
    }
    const text = this.text.value.trim();
    const file = this.file;
    if (!text && !file) {
      this._error(t("Write a message or attach a file first."));
      this.text.focus();
      return;
    }
    this._error("");
    try {
      if (file) {
        const { body, blob } = await encryptFile(file, text, this.app.config.max_attachment_bytes);
        await this.app.outbox.add(this.view, body, blob);
      } else {
        await this.app.outbox.add(this.view, { type: "text", text });
      }
      this.text.value = "";
      this._chooseFile(null);
    } catch (error) {
      if (error instanceof AttachmentError) {
        this._error(error.code === "too_large" ? t("The file is too large.") : t("Only images (PNG, JPEG, WebP, GIF) and PDF files can be attached."));
      } else {
        this._error(explain(error));
      }
    }
    this.text.focus();
  }
}
