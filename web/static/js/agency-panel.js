// Myndighetspost in the caseworker's inbox: the received and sent lists, a document opened beside them
// (with its verified receipts), and the form that writes a new document or a reply to an agency. The
// exchange itself (verifying, decrypting, encrypting, signing) is js/agency.js; the form is js/agency-form.js.
import { announce, byId, h, icon, status } from "./dom.js";
import { fullTime, isoTime, shortTime } from "./format.js";
import { t, tn } from "./i18n.js";
import { explain } from "./app.js";
import {
  AgencyMail, DEFAULT_PRIORITY, DocumentInvalid, NoSigningKey, TooLarge, mailItem, priorityWords, receiptWords,
  renderDocument, typeName,
} from "./agency.js";
import { NotPdf, documentForm, problemWords } from "./agency-form.js";

const REFRESH_MS = 20 * 1000; // receipts for sent documents arrive when the agency gets to them

export class AgencyPanel {
  /** `show()` is called before the panel takes the inbox's right-hand side (it closes an open case). */
  constructor(session, unitId, show) {
    this.mail = new AgencyMail(session, unitId);
    this.show = show;
    this.inbox = [];
    this.outbox = [];
    this.openId = null;
    this.form = null; // {documentForm, reply} while the compose form is open
  }

  get isOpen() {
    return Boolean(this.openId) || !byId("agency-compose").hidden;
  }

  start() {
    for (const pane of ["agency-view", "agency-compose"]) {
      byId(pane).querySelector(".back").addEventListener("click", (event) => {
        event.preventDefault();
        const id = this.openId;
        this.close();
        this.hidePane();
        (id ? document.querySelector(`[data-agency-id="${CSS.escape(id)}"]`) : byId("agency-new"))?.focus();
      });
    }
    byId("agency-new").addEventListener("click", () => this.compose(null));
    byId("agency-reply").addEventListener("click", () => this.compose(this.replyTo));
    byId("compose-to").addEventListener("change", () => this.fillTypes());
    byId("compose-type").addEventListener("change", () => this.fillDocument());
    byId("compose-label").addEventListener("input", () => { byId("compose-label").dataset.edited = "true"; });
    byId("compose-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.send();
    });
    this.load();
    setInterval(() => { if (document.visibilityState === "visible") this.load(); }, REFRESH_MS);
  }

  async load() {
    try {
      ({ inbox: this.inbox, outbox: this.outbox } = await this.mail.list());
    } catch (error) {
      if (error.status === 403) return; // not for this role
      status("agency-status", explain(error), "error");
      return;
    }
    document.querySelector(".list-switch").hidden = false; // the unit has agency mail: its place in the list
    const urgent = this.inbox.filter((m) => m.priority === "urgent" && !m.statuses.includes("read")).length;
    const unread = this.inbox.filter((m) => !m.statuses.includes("read")).length;
    status("agency-status", urgent ? tn("%(n)s urgent, not read", "%(n)s urgent, not read", urgent) : "", urgent ? "error" : "");
    // Said on the switch too, so that urgent mail is seen while the list shows the cases.
    const count = byId("agency-count");
    count.textContent = urgent ? tn("%(n)s urgent", "%(n)s urgent", urgent) : unread ? tn("%(n)s new", "%(n)s new", unread) : "";
    count.className = urgent ? "badge priority-urgent" : "badge unread";
    count.hidden = !count.textContent;
    this.render();
    const shown = this.outbox.find((m) => m.id === this.openId);
    if (shown && shown.statuses.length !== this.shownReceipts) this.showReceipts(this.openId, true);
  }

  render() {
    const list = (id, messages, sent, empty) => {
      byId(id).replaceChildren(...messages.map((m) => mailItem(m, this.mail.names, m.id === this.openId,
        (msgId) => this.open(msgId), sent)));
      if (!messages.length) byId(id).append(h("li", { class: "empty", text: empty }));
    };
    list("agency-list", this.inbox, false, t("No documents from agencies."));
    list("agency-sent", this.outbox, true, t("Nothing sent yet."));
  }

  close() {
    this.openId = null;
    this.form = null;
    byId("agency-view").hidden = true;
    byId("agency-compose").hidden = true;
  }

  hidePane() {
    document.querySelector(".inbox").classList.remove("has-case");
    byId("no-case").hidden = false;
    this.render();
  }

  takePane(pane) {
    this.show();
    document.querySelector(".inbox").classList.add("has-case");
    byId("no-case").hidden = true;
    byId("agency-view").hidden = pane !== "agency-view";
    byId("agency-compose").hidden = pane !== "agency-compose";
  }

  // -- one document: a received one is opened on this device; a sent one shows its receipts ----------------
  async open(msgId) {
    this.close();
    this.takePane("agency-view");
    this.openId = msgId;
    const sent = this.outbox.find((x) => x.id === msgId);
    const m = sent || this.inbox.find((x) => x.id === msgId);
    const names = this.mail.names;
    byId("agency-title").textContent = typeName(m?.type);
    byId("agency-meta").textContent = m ? [sent ? t("To %(recipient)s", { recipient: names[m.to] || m.to })
      : t("From %(sender)s", { sender: names[m.from] || m.from }), fullTime(m.stored_at * 1000), m.label]
      .filter(Boolean).join(" · ") : "";
    const priority = byId("agency-priority");
    priority.hidden = m?.priority !== "urgent";
    priority.replaceChildren(icon("urgent"), h("strong", { text: priorityWords("urgent") }));
    byId("agency-document").replaceChildren();
    byId("agency-receipts").replaceChildren();
    byId("agency-reply").hidden = true;
    document.querySelector(".agency-receipts").hidden = true;
    this.render();
    byId("agency-title").focus();
    if (sent) {
      status("agency-doc-status", t("The content was encrypted to the recipient; only they can open it."));
      await this.showReceipts(msgId, true);
      return;
    }
    status("agency-doc-status", t("Opening…"));
    try {
      const opened = await this.mail.open(msgId);
      if (this.openId !== msgId) return;
      if (opened.error) {
        status("agency-doc-status", opened.error, "error");
        if (opened.keyChange) this.showKeyChange(msgId, opened.keyChange, opened.error);
      } else {
        status("agency-doc-status", "");
        byId("agency-document").replaceChildren(h("h3", { text: opened.schema.title }),
          renderDocument(opened.schema, opened.content));
        this.replyTo = opened.envelope;
        byId("agency-reply").hidden = false;
        announce(t("The document is open."));
      }
      await this.load();
      await this.showReceipts(msgId, false);
    } catch (error) {
      status("agency-doc-status", explain(error), "error");
    }
  }

  /**
   * A document signed by an agency key this browser has not pinned: said loudly, with the new key's thumbprint
   * and the pinned ones, and a way to trust the new key once the agency has confirmed it (docs/exchange.md).
   */
  showKeyChange(msgId, change, words) {
    const trust = h("button", { type: "button", class: "button danger",
      text: t("The agency has confirmed this key: trust it") });
    trust.addEventListener("click", async () => {
      await this.mail.pin(change.address, change.kid);
      await this.open(msgId);
    });
    byId("agency-document").replaceChildren(h("div", { class: "key-warning", role: "alert" },
      h("p", {}, h("strong", { text: words })),
      h("p", { text: t("Key of this document: %(kid)s", { kid: change.kid }) }),
      h("p", { text: t("Key trusted before: %(kids)s", { kids: change.pinned.join(", ") }) }),
      trust));
  }

  /** The message's signed receipts, each verified with the endpoint key, oldest first. */
  async showReceipts(msgId, sent) {
    try {
      const { receipts } = await this.mail.receipts(msgId);
      if (this.openId !== msgId) return;
      this.shownReceipts = receipts.length;
      byId("agency-receipts").replaceChildren(...receipts.map((r) => h("li", { class: `receipt receipt-${r.status}` },
        h("span", { class: "receipt-status", text: receiptWords(r, sent) }), " ",
        h("time", { datetime: isoTime(r.at * 1000), title: fullTime(r.at * 1000), text: shortTime(r.at * 1000) }), " ",
        h("span", { class: "muted", text: t("audit log entry %(id)s", { id: r.log.id }) }))));
      document.querySelector(".agency-receipts").hidden = false;
    } catch (error) {
      status("agency-doc-status", error.name === "CryptoError" ? t("A receipt does not verify.") : explain(error), "error");
    }
  }

  // -- writing: a new document, or a reply in the conversation of a received one -------------------------
  async compose(replyTo) {
    this.close();
    this.takePane("agency-compose");
    byId("compose-errors").hidden = true;
    status("compose-status", "");
    byId("compose-label").value = "";
    delete byId("compose-label").dataset.edited;
    let agencies;
    try {
      agencies = await this.mail.recipients();
    } catch (error) {
      status("compose-status", explain(error), "error");
      return;
    }
    this.agencies = agencies;
    this.form = { reply: replyTo };
    const names = this.mail.names;
    const sender = byId("compose-sender");
    sender.replaceChildren(...this.mail.addresses.map((a) => h("option", { value: a, text: names[a] || a })));
    byId("compose-sender-field").hidden = Boolean(replyTo) || this.mail.addresses.length < 2;
    const recipient = byId("compose-to");
    recipient.replaceChildren(...agencies.map((a) => h("option", { value: a.address, text: a.name })));
    byId("compose-to-field").hidden = Boolean(replyTo);
    if (replyTo) {
      sender.value = replyTo.to;
      recipient.value = replyTo.from;
      byId("compose-title").textContent = t("Reply to %(agency)s", { agency: names[replyTo.from] || replyTo.from });
      byId("compose-context").textContent = t("In reply to: %(type)s, %(label)s", { type: typeName(replyTo.type),
        label: replyTo.label || "–" });
    } else {
      byId("compose-title").textContent = t("New document to an agency");
      byId("compose-context").textContent = "";
    }
    this.fillTypes();
    // Nothing to send to, or nothing to send from: say so and why, instead of a button that does nothing.
    const missing = !this.mail.addresses.length
      ? t("Your unit has no functional address for the exchange yet, so nothing can be sent. Ask your IT operator to register one (samtal exchange admin register).")
      : !agencies.length && !replyTo
        ? t("No agency is registered for the exchange yet, so there is no one to send to. Ask your IT operator to register the agency's address (samtal exchange admin register).")
        : "";
    status("compose-status", missing, missing ? "error" : "");
    byId("compose-form").querySelector("button[type=submit]").disabled = Boolean(missing);
    byId("compose-title").focus();
  }

  /** The document types the chosen agency accepts; a reply starts with the type that answers the question. */
  fillTypes() {
    const agency = this.agencies.find((a) => a.address === byId("compose-to").value);
    const types = agency?.document_types || [];
    const select = byId("compose-type");
    select.replaceChildren(...types.map((type) => h("option", { value: type, text: typeName(type) })));
    const reply = this.form?.reply;
    select.value = reply ? this.mail.replyType(reply.type, agency) : types.includes("message/v1") ? "message/v1" : types[0];
    this.fillDocument();
  }

  async fillDocument() {
    const type = byId("compose-type").value;
    byId("compose-priority").value = DEFAULT_PRIORITY[type] || "normal";
    const label = byId("compose-label");
    if (!label.dataset.edited) label.value = typeName(type);
    const schema = type ? await this.mail.schema(type) : null;
    if (!schema || !this.form) return;
    this.form.documentForm = documentForm(schema);
    byId("compose-document").replaceChildren(this.form.documentForm.element);
  }

  showProblems(items) {
    byId("compose-error-list").replaceChildren(...items.map(({ id, text }) => h("li", {},
      id ? h("a", { href: `#${id}`, text, onclick: (event) => {
        event.preventDefault();
        byId(id)?.focus();
      } }) : text)));
    byId("compose-errors").hidden = false;
    byId("compose-errors").focus();
  }

  async send() {
    const form = this.form;
    if (!form?.documentForm || this.sending) return;
    byId("compose-errors").hidden = true;
    const button = byId("compose-form").querySelector("button[type=submit]");
    this.sending = true;
    button.disabled = true;
    try {
      const document = await form.documentForm.read();
      const doc = {
        from: byId("compose-sender").value, to: byId("compose-to").value, type: byId("compose-type").value, document,
        priority: byId("compose-priority").value, label: byId("compose-label").value.trim(),
        conversation: form.reply?.conversation, inReplyTo: form.reply?.id,
      };
      status("compose-status", t("Encrypting, signing and sending…"));
      const receipt = await this.mail.send(doc);
      announce(t("Sent. The exchange received it at %(time)s.", { time: shortTime(receipt.at * 1000) }));
      await this.load();
      await this.open(receipt.message);
      status("agency-doc-status", t("Sent. The exchange received it at %(time)s.", { time: shortTime(receipt.at * 1000) }));
    } catch (error) {
      status("compose-status", "");
      this.explainRefusal(error, form);
    } finally {
      this.sending = false;
      button.disabled = false;
    }
  }

  explainRefusal(error, form) {
    if (error instanceof DocumentInvalid) {
      this.showProblems(error.problems.map((p) => {
        const { id, title } = form.documentForm.locate(p.path);
        return { id, text: problemWords(p.problem, title) };
      }));
    } else if (error instanceof NotPdf) {
      this.showProblems([{ text: t("%(name)s is not a PDF file; only PDF files can be attached.", { name: error.fileName }) }]);
    } else if (error instanceof NoSigningKey) {
      const words = t("This device has not been given the unit address's signing key yet. Ask the key holder to share it, or try again in a moment.");
      this.showProblems([{ text: words }]);
    } else if (error instanceof TooLarge) {
      this.showProblems([{ text: t("The document with its attachments is larger than the recipient accepts.") }]);
    } else {
      const words = error.name === "CryptoError"
        ? t("The exchange's answer does not verify; the document may not have been received.") : explain(error);
      status("compose-status", words, "error");
    }
  }
}
