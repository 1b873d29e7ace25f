// Forms on the page, from their definition: every control with a real label, groups as fieldset and legend,
// help and errors tied to the control with aria-describedby, an error summary whose links move focus to the
// field, and repeating groups whose items are added and removed with buttons. Everything is built with
// text nodes (dom.js); nothing from a definition or an answer ever becomes markup.
import { h, icon } from "../dom.js";
import { fileSize } from "../format.js";
import { t } from "../i18n.js";
import {
  emptyItem, isEmpty, isGroup, itemScope, textOf, topScope, validate, visible,
  DEFAULT_MAX_FILES, DEFAULT_MAX_ITEMS,
} from "./engine.js";

// Whether this browser draws <input type=month> as a month picker (Chromium, Safari on phones) or as a text
// field (Firefox): only a text field needs to be told the format.
const MONTH_PICKER = (() => {
  const probe = document.createElement("input");
  probe.setAttribute("type", "month");
  return probe.type === "month";
})();

const RADIO_LIMIT = 6; // more options than this: a select instead of radio buttons

/** The words for one validation problem. */
export function errorText(error, field, lang) {
  const p = error.params || {};
  switch (error.code) {
    case "required":
      return field?.type === "attachment" ? t("Attach a file.") : ["choice", "yesno"].includes(field?.type)
        ? t("Choose an answer.") : t("Fill in this field.");
    case "must_confirm": return t("Tick the box to confirm.");
    case "too_long": return t("Write at most %(max)s characters.", p);
    case "not_a_number": return t("Write a whole number, with digits only.");
    case "not_whole": return field?.type === "amount" ? t("Write whole kronor, without öre.") : t("Write a whole number.");
    case "too_small": return t("The smallest allowed is %(min)s.", p);
    case "too_large": return t("The largest allowed is %(max)s.", p);
    case "not_a_date": return t("Write a date as year-month-day, for example 2026-05-25.");
    case "not_a_month": return t("Write a year and a month, for example 2026-05.");
    case "personal_number": return t("Do not write a personal identity number here.");
    case "too_few_items": return t("Add at least %(min)s.", p);
    case "too_many_items": return t("At most %(max)s can be added.", p);
    case "too_many_files": return t("At most %(max)s files.", p);
    case "unsupported_type": return t("Only images (PNG, JPEG, WebP, GIF) and PDF files can be attached.");
    case "file_too_large": return t("“%(name)s” is too large (%(size)s). The limit is %(max)s.", p);
    default: return t("Check this answer.");
  }
}

function domId(prefix, path) {
  return `${prefix}-${path.replace(/\./g, "-")}`;
}

/**
 * An editable form. options: {lang, idPrefix, headingLevel (of the sections, 2), maxBytes, onChange(answers),
 * attach(file) -> ref (may throw an error with code too_large / unsupported_type), detach(ref)}. `element` is
 * the form's content; the page puts it in its own <form> with its own buttons.
 */
export class FormView {
  constructor(def, answers, options = {}) {
    this.def = def;
    this.answers = answers;
    this.lang = options.lang || "sv";
    this.prefix = options.idPrefix || "f";
    this.heading = `h${options.headingLevel || 2}`;
    this.options = options;
    this.shown = false; // errors are shown from the first attempt to send on
    this.bindings = []; // {item, wrapper, scope()}: visibility re-evaluated after every change
    this.controls = new Map(); // path -> {field, wrapper, error, focus}
    this.summary = h("div", { class: "error-summary", role: "alert", tabindex: "-1", hidden: true });
    this.element = h("div", { class: "form-body" }, this.summary,
      ...def.sections.map((section) => this._section(section)));
    this.refresh();
  }

  // -- structure ----------------------------------------------------------------------------------------
  _section(section) {
    const headingId = domId(this.prefix, `section.${section.id}`);
    return h("section", { class: "form-section", "aria-labelledby": headingId },
      h(this.heading, { id: headingId, text: textOf(section.title, this.lang) }),
      section.help ? h("p", { class: "help", text: textOf(section.help, this.lang) }) : null,
      ...section.fields.map((item) => (isGroup(item) ? this._group(item) : this._topField(item))));
  }

  _topField(field) {
    const wrapper = this._field(field, field.id, () => this.answers[field.id],
      (value) => { this.answers[field.id] = value; });
    this.bindings.push({ item: field, wrapper, scope: () => null });
    return wrapper;
  }

  _group(group) {
    const id = domId(this.prefix, group.id);
    const help = group.help ? h("p", { class: "help", id: `${id}-help`, text: textOf(group.help, this.lang) }) : null;
    const error = h("p", { class: "field-error", id: `${id}-error`, hidden: true });
    const wrapper = h("fieldset", { class: `form-group${group.repeat ? " repeating" : ""}`, id,
      "aria-describedby": [help ? `${id}-help` : null, `${id}-error`].filter(Boolean).join(" ") },
    h("legend", { text: textOf(group.label, this.lang) }), help, error);
    this.bindings.push({ item: group, wrapper, scope: () => null });
    this.controls.set(group.id, { field: group, wrapper, error, focus: () => wrapper.querySelector("input, select, textarea, button")?.focus() });
    if (!group.repeat) {
      this.answers[group.id] ||= emptyItem(group);
      wrapper.append(...this._groupFields(group, group.id, () => this.answers[group.id]));
      return wrapper;
    }
    if (!Array.isArray(this.answers[group.id])) this.answers[group.id] = [];
    const list = h("ol", { class: "group-items" });
    const add = h("button", { type: "button", class: "button secondary add-item",
      text: textOf(group.add_label, this.lang) || t("Add") });
    add.addEventListener("click", () => {
      this.answers[group.id].push(emptyItem(group));
      this._renderItems(group, list, add);
      this._changed();
      list.lastElementChild?.querySelector("input, select, textarea")?.focus();
    });
    wrapper.append(list, add);
    this._renderItems(group, list, add);
    return wrapper;
  }

  _renderItems(group, list, add) {
    // Bindings and controls of the old items go; the items are drawn again with their new numbers.
    this.bindings = this.bindings.filter((b) => b.group !== group.id);
    for (const path of [...this.controls.keys()]) if (path.startsWith(`${group.id}.`)) this.controls.delete(path);
    const items = this.answers[group.id];
    list.replaceChildren(...items.map((entry, i) => {
      const n = i + 1;
      const remove = h("button", { type: "button", class: "button quiet remove-item",
        text: textOf(group.remove_label, this.lang).replace("%(n)s", n) || t("Remove") });
      remove.addEventListener("click", () => {
        items.splice(i, 1);
        this._renderItems(group, list, add);
        this._changed();
        (list.children[Math.min(i, items.length - 1)]?.querySelector("input, select, textarea") || add).focus();
      });
      return h("li", {}, h("fieldset", { class: "group-item" },
        h("legend", { text: (textOf(group.item_label, this.lang) || t("Item %(n)s")).replace("%(n)s", n) }),
        ...this._groupFields(group, `${group.id}.${i}`, () => items[i], group.id),
        remove));
    }));
    add.hidden = items.length >= (group.max_items || DEFAULT_MAX_ITEMS);
    this.refresh();
  }

  _groupFields(group, path, entry, repeatId = null) {
    return group.fields.map((field) => {
      const wrapper = this._field(field, `${path}.${field.id}`, () => entry()[field.id],
        (value) => { entry()[field.id] = value; });
      this.bindings.push({ item: field, wrapper, scope: () => itemScope(group, entry()), group: repeatId });
      return wrapper;
    });
  }

  // -- one field -----------------------------------------------------------------------------------------
  _field(field, path, get, set) {
    const id = domId(this.prefix, path);
    const label = textOf(field.label, this.lang);
    const optional = field.required || field.type === "confirm" ? null
      : h("span", { class: "optional", text: " " + t("(optional)") });
    const helpText = field.type === "attachment" ? field.hint || field.help : field.help;
    // How to write a month only where the browser has no month picker (it shows a text field there); the
    // form's own help says what the field means.
    const format = field.type === "month" && !MONTH_PICKER ? t("Write a year and a month, for example 2026-05.") : "";
    const helpWords = [helpText ? textOf(helpText, this.lang) : "", format].filter(Boolean).join(" ");
    const help = helpWords ? h("p", { class: "help", id: `${id}-help`, text: helpWords }) : null;
    const error = h("p", { class: "field-error", id: `${id}-error`, hidden: true });
    const describedBy = [help ? `${id}-help` : null, `${id}-error`].filter(Boolean).join(" ");
    const update = (value) => {
      set(value);
      this._changed();
    };
    let wrapper;
    let focus;
    if (["choice", "yesno"].includes(field.type) && !(field.type === "choice" && !field.multiple
        && field.options.length > RADIO_LIMIT)) {
      const options = field.type === "yesno"
        ? [{ value: true, label: t("Yes") }, { value: false, label: t("No") }]
        : field.options.map((o) => ({ value: o.value, label: textOf(o.label, this.lang) }));
      const multiple = field.type === "choice" && field.multiple;
      const inputs = options.map((option, i) => {
        const input = h("input", { type: multiple ? "checkbox" : "radio", name: id, id: `${id}-${i}`,
          value: String(option.value) });
        const current = get();
        input.checked = multiple ? (current || []).includes(option.value) : current === option.value;
        input.addEventListener("change", () => {
          if (!multiple) update(option.value);
          else update(inputs.filter((x) => x.input.checked).map((x) => x.value));
        });
        return { input, value: option.value, label: option.label };
      });
      focus = () => inputs[0].input.focus();
      wrapper = h("fieldset", { class: `form-field choice-field${multiple ? " multiple" : ""}`, id,
        "aria-describedby": describedBy },
      h("legend", {}, label, optional), help, error,
      h("div", { class: "options" }, ...inputs.map((x) => h("label", { class: "option", for: x.input.id },
        x.input, h("span", { text: x.label })))));
    } else if (field.type === "attachment") {
      wrapper = this._attachmentField(field, id, label, optional, help, error, describedBy, get, update);
      focus = () => wrapper.querySelector("input[type=file]").focus();
    } else {
      const control = this._control(field, id, describedBy, get, update);
      focus = () => control.focus();
      const labelEl = field.type === "confirm"
        ? h("label", { class: "option confirm", for: id }, control, h("span", { text: label }))
        : h("label", { for: id }, label, optional, field.type === "amount"
          ? h("span", { class: "visually-hidden", text: " " + t("(kronor)") }) : null);
      const input = field.type === "amount"
        ? h("span", { class: "with-suffix" }, control, h("span", { class: "suffix", "aria-hidden": "true", text: "kr" }))
        : control;
      wrapper = h("div", { class: `form-field type-${field.type}` },
        field.type === "confirm" ? [help, error, labelEl] : [labelEl, help, error, input]);
    }
    wrapper.dataset.path = path;
    this.controls.set(path, { field, wrapper, error, focus });
    return wrapper;
  }

  _control(field, id, describedBy, get, update) {
    const attrs = { id, name: id, "aria-describedby": describedBy };
    let control;
    if (field.type === "multiline") {
      control = h("textarea", { ...attrs, rows: 4 });
    } else if (field.type === "choice") {
      control = h("select", attrs, h("option", { value: "", text: t("Choose…") }),
        ...field.options.map((o) => h("option", { value: o.value, text: textOf(o.label, this.lang) })));
    } else if (field.type === "confirm") {
      control = h("input", { ...attrs, type: "checkbox" });
      control.checked = get() === true;
      control.addEventListener("change", () => update(control.checked));
      return control;
    } else {
      const type = { date: "date", month: "month" }[field.type] || (field.type === "text" ? field.input || "text" : "text");
      control = h("input", { ...attrs, type, autocomplete: field.autocomplete || "off",
        inputmode: ["number", "amount"].includes(field.type) ? "numeric" : null,
        spellcheck: ["number", "amount", "date", "month"].includes(field.type) ? "false" : null });
    }
    control.value = get() ?? "";
    control.addEventListener(field.type === "choice" ? "change" : "input", () => update(control.value));
    return control;
  }

  _attachmentField(field, id, label, optional, help, error, describedBy, get, update) {
    const list = h("ul", { class: "chosen-files" });
    const input = h("input", { type: "file", id, class: "visually-hidden file-input", multiple: true,
      accept: "image/png,image/jpeg,image/webp,image/gif,application/pdf", "aria-describedby": describedBy });
    const chooser = h("label", { for: id, class: "button secondary" }, icon("attach"), h("span", { text: t("Choose file") }));
    const draw = () => {
      const refs = get() || [];
      list.replaceChildren(...refs.map((ref, i) => h("li", {},
        icon("file"), h("span", { text: `${ref.name} (${fileSize(ref.size)})` }),
        h("button", { type: "button", class: "button quiet small", text: t("Remove"),
          "aria-label": t("Remove %(file)s", { file: ref.name }),
          onclick: () => {
            const rest = refs.filter((_, j) => j !== i);
            this.options.detach?.(ref);
            update(rest);
            draw();
            input.focus();
          } }))));
      chooser.hidden = refs.length >= (field.max_files || DEFAULT_MAX_FILES);
    };
    input.addEventListener("change", async () => {
      const files = [...input.files];
      input.value = "";
      const problems = [];
      for (const file of files) {
        if ((get() || []).length >= (field.max_files || DEFAULT_MAX_FILES)) break;
        try {
          const ref = await this.options.attach(file);
          update([...(get() || []), ref]);
        } catch (problem) {
          problems.push(problem.code === "too_large"
            ? errorText({ code: "file_too_large", params: { name: file.name, size: fileSize(file.size), max: fileSize(this.options.maxBytes || 0) } })
            : `${file.name}: ${errorText({ code: "unsupported_type" })}`);
        }
      }
      draw();
      this._fileProblem(error, problems.join(" "));
    });
    const wrapper = h("fieldset", { class: "form-field attachment-field", "aria-describedby": describedBy },
      h("legend", {}, label, optional), help, error, list, input, chooser);
    draw();
    return wrapper;
  }

  _fileProblem(error, text) {
    error.hidden = !text;
    error.replaceChildren(...(text ? [icon("state-failed"), h("span", { text })] : []));
  }

  // -- state ---------------------------------------------------------------------------------------------
  _changed() {
    this.refresh();
    if (this.shown) this.showErrors({ focus: false });
    this.options.onChange?.(this.answers);
  }

  /** Show and hide what depends on other answers. */
  refresh() {
    const top = topScope(this.def, this.answers);
    for (const binding of this.bindings) {
      binding.wrapper.hidden = !visible(binding.item, top, binding.scope());
    }
  }

  /**
   * Validate; show each problem at its field and in the summary. Returns the problems, with those of fields
   * outside the form (options.extraErrors(): [{id, text}], a link to the element) first in the same summary.
   */
  showErrors({ focus = true } = {}) {
    this.shown = true;
    const errors = validate(this.def, this.answers);
    const extra = this.options.extraErrors?.() || [];
    const byPath = new Map(errors.map((e) => [e.path, e]));
    for (const [path, control] of this.controls) {
      const problem = byPath.get(path);
      const text = problem ? errorText(problem, control.field, this.lang) : "";
      control.error.hidden = !problem;
      control.error.replaceChildren(...(problem ? [h("span", { class: "visually-hidden", text: t("Error:") + " " }),
        h("span", { text })] : []));
      control.wrapper.classList.toggle("has-error", Boolean(problem));
      for (const el of control.wrapper.querySelectorAll(":scope > input, :scope > textarea, :scope > select, :scope > .with-suffix > input, :scope .options input")) {
        if (problem) el.setAttribute("aria-invalid", "true");
        else el.removeAttribute("aria-invalid");
      }
    }
    const all = extra.length + errors.length;
    this.summary.hidden = !all;
    this.summary.replaceChildren(...(all ? [
      // Staff registering for someone else are not told about "your answers" (options.summaryHeading).
      h(this.heading, { text: this.options.summaryHeading || t("There is a problem with your answers") }),
      h("ul", {}, ...extra.map(({ id, text }) => h("li", {}, h("a", { href: `#${id}`, text, onclick: (event) => {
        event.preventDefault();
        document.getElementById(id)?.focus();
      } }))), ...errors.map((error) => {
        const control = this.controls.get(error.path);
        const name = control ? textOf(control.field.label, this.lang) : error.path;
        const link = h("a", { href: `#${domId(this.prefix, error.path)}`,
          text: `${name}: ${errorText(error, control?.field, this.lang)}` });
        link.addEventListener("click", (event) => {
          event.preventDefault();
          control?.wrapper.scrollIntoView({ block: "center" });
          control?.focus();
        });
        return h("li", {}, link);
      }))] : []));
    if (all && focus) this.summary.focus();
    return [...extra, ...errors];
  }
}

// -- reading a sent application ----------------------------------------------------------------------------
function valueText(field, value, lang) {
  switch (field.type) {
    case "yesno": return value ? t("Yes") : t("No");
    case "confirm": return t("Confirmed");
    case "amount": return `${new Intl.NumberFormat(lang).format(value)} kr`;
    case "number": return String(value);
    case "choice": {
      const names = Object.fromEntries(field.options.map((o) => [o.value, textOf(o.label, lang)]));
      return (Array.isArray(value) ? value : [value]).map((v) => names[v] || v).join(", ");
    }
    default: return String(value);
  }
}

function answerRow(field, value, lang, openAttachment) {
  if (value === undefined || isEmpty(field, value)) return null;
  const shownValue = field.type === "attachment"
    ? h("ul", { class: "answer-files" }, ...value.map((ref) => h("li", {}, openAttachment
      ? openAttachment(ref) : h("span", { text: `${ref.name} (${fileSize(ref.size)})` }))))
    : h("span", { class: "answer-text", text: valueText(field, value, lang) });
  return h("div", { class: "answer" }, h("dt", { text: textOf(field.label, lang) }), h("dd", {}, shownValue));
}

/**
 * A sent application's answers, read-only, section by section: only what was answered (hidden and empty
 * fields were left out when it was sealed). `openAttachment(ref)` makes the element for one attachment.
 */
export function renderAnswers(def, answers, { lang = "sv", openAttachment = null, headingLevel = 3 } = {}) {
  const heading = `h${headingLevel}`;
  const sections = def.sections.map((section) => {
    const rows = [];
    for (const item of section.fields) {
      const value = answers[item.id];
      if (value === undefined) continue;
      if (!isGroup(item)) {
        rows.push(answerRow(item, value, lang, openAttachment));
        continue;
      }
      const entries = item.repeat ? value : [value];
      rows.push(h("div", { class: "answer group" }, h("dt", { text: textOf(item.label, lang) }), h("dd", {},
        h("ol", { class: "answer-items" }, ...entries.map((entry) => h("li", {},
          h("dl", {}, ...item.fields.map((f) => answerRow(f, entry[f.id], lang, openAttachment)))))))));
    }
    if (!rows.some(Boolean)) return null;
    return h("section", { class: "answers-section" }, h(heading, { text: textOf(section.title, lang) }),
      h("dl", { class: "answers" }, ...rows));
  });
  return h("div", { class: "application-answers" }, ...sections);
}
