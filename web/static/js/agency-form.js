// A form for an exchange document, generated from its document type's JSON Schema (the subset of
// chat/exchange/documents.py: objects, strings with a length or a list of values, booleans, lists of
// strings, of objects, and of PDF attachments). Labels are the schema's titles. Reading the form gives
// the document as the schema describes it; an empty optional field is left out.
import { h } from "./dom.js";
import { t } from "./i18n.js";
import { b64u } from "./crypto/index.js";

const TEXTAREA_FROM = 201; // strings allowed longer than one line of text get a text area
const PDF_MAGIC = [0x25, 0x50, 0x44, 0x46, 0x2d]; // "%PDF-"

/** An element id for the field at a path: "$.guardians[0].name" -> "doc-guardians-0-name". */
function fieldId(path) {
  return `doc${path.slice(1).replace(/\[(\d+)\]/g, ".$1").replaceAll(".", "-")}`;
}

/** A validation path as its steps: "$.guardians[0].name" -> ["guardians", 0, "name"]. */
function steps(path) {
  return [...path.slice(1).matchAll(/\.([^.[]+)|\[(\d+)\]/g)].map((m) => (m[1] !== undefined ? m[1] : Number(m[2])));
}

function isAttachments(schema) {
  return schema.type === "array" && schema.items?.type === "object" && "data" in (schema.items.properties || {});
}

function labelFor(id, title, required) {
  return h("label", { for: id }, title, required ? [" ", h("span", { class: "required", text: t("(required)") })] : null);
}

/** A PDF file as an attachment: {name, media_type, data}; refuses anything that is not a PDF. */
async function attachment(file) {
  const bytes = new Uint8Array(await file.arrayBuffer());
  if (!PDF_MAGIC.every((b, i) => bytes[i] === b)) throw new NotPdf(file.name);
  return { name: file.name, media_type: "application/pdf", data: b64u(bytes) };
}

/** A file chosen as an attachment that is not a PDF. */
export class NotPdf extends Error {
  constructor(name) {
    super("only PDF files can be attached");
    this.code = "not_pdf";
    this.fileName = name;
  }
}

/**
 * The field for `schema` at `path`: {element, read, locate}, where read() resolves to the value, or
 * undefined when an optional field is left empty, and locate(steps) gives the element id of the field a
 * validation path leads to (items of a list keep their ids when one before them is removed). `titles`
 * collects each field's title by element id, for the messages about what is missing.
 */
function field(schema, path, required, titles) {
  const id = fieldId(path);
  const title = schema.title || path.split(".").at(-1);
  titles.set(id, title);
  if (schema.type === "object") return objectField(schema, path, titles, title, id);
  if (isAttachments(schema)) return attachmentsField(id, title);
  if (schema.type === "array" && schema.items.type === "object") return listField(schema, path, required, titles, title, id);
  if (schema.type === "array") {
    const area = h("textarea", { id, rows: 3, "aria-describedby": `${id}-hint` });
    return {
      element: h("div", { class: "field" }, labelFor(id, title, required),
        h("p", { id: `${id}-hint`, class: "hint", text: t("One per line.") }), area),
      read: async () => {
        const lines = area.value.split("\n").map((line) => line.trim()).filter(Boolean);
        return lines.length || required ? lines : undefined;
      },
      locate: () => id,
    };
  }
  if (schema.type === "boolean") {
    const box = h("input", { type: "checkbox", id });
    return {
      element: h("div", { class: "field checkbox" }, box, h("label", { for: id, text: title })),
      read: async () => box.checked,
      locate: () => id,
    };
  }
  let control;
  if (schema.enum) {
    control = h("select", { id, required: required || null },
      h("option", { value: "", text: t("Choose…") }), schema.enum.map((v) => h("option", { value: v, text: v })));
  } else if ((schema.maxLength ?? Infinity) >= TEXTAREA_FROM) {
    control = h("textarea", { id, rows: 4, maxlength: schema.maxLength, required: required || null });
  } else {
    control = h("input", { type: "text", id, maxlength: schema.maxLength, required: required || null, autocomplete: "off" });
  }
  return {
    element: h("div", { class: "field" }, labelFor(id, title, required), control),
    read: async () => (control.value.trim() ? control.value : undefined),
    locate: () => id,
  };
}

function objectField(schema, path, titles, title, id) {
  const children = Object.entries(schema.properties).map(([name, prop]) => [name,
    field(prop, `${path}.${name}`, schema.required.includes(name), titles)]);
  const legend = path === "$" ? null : h("legend", { text: title });
  return {
    element: path === "$" ? h("div", { class: "document-form", id }, children.map(([, f]) => f.element))
      : h("fieldset", { class: "subform", id }, legend, children.map(([, f]) => f.element)),
    read: async () => {
      const value = {};
      for (const [name, child] of children) {
        const item = await child.read();
        if (item !== undefined) value[name] = item;
      }
      return value;
    },
    locate: ([name, ...rest]) => children.find(([n]) => n === name)?.[1].locate(rest) ?? id,
  };
}

/** A list of objects (such as guardians): items added and removed with buttons. */
function listField(schema, path, required, titles, title, id) {
  const items = [];
  let made = 0; // ids come from this count, not the position, so they stay unique when items are removed
  const list = h("div", { class: "subform-items" });
  const what = (schema.items.title || title).toLowerCase();
  const add = h("button", { type: "button", class: "button secondary", text: t("Add %(what)s", { what }) });
  const renumber = () => items.forEach((item, i) => {
    item.legend.textContent = `${schema.items.title || title} ${i + 1}`;
  });
  const addItem = () => {
    const itemPath = `${path}[${made}]`;
    made += 1;
    const inner = objectField(schema.items, itemPath, titles, schema.items.title, fieldId(itemPath));
    const remove = h("button", { type: "button", class: "button secondary", text: t("Remove") });
    const legend = inner.element.querySelector("legend");
    const item = { inner, legend, element: inner.element };
    inner.element.append(remove);
    remove.addEventListener("click", () => {
      items.splice(items.indexOf(item), 1);
      item.element.remove();
      renumber();
      add.focus();
    });
    items.push(item);
    list.append(inner.element);
    renumber();
    add.hidden = items.length >= (schema.maxItems ?? Infinity);
  };
  add.addEventListener("click", () => {
    addItem();
    items.at(-1).element.querySelector("input, select, textarea")?.focus();
  });
  return {
    element: h("fieldset", { class: "subform", id }, h("legend", { text: title }), list, add),
    read: async () => {
      const values = [];
      for (const item of items) values.push(await item.inner.read());
      return values.length || required ? values : undefined;
    },
    locate: ([index, ...rest]) => items[index]?.inner.locate(rest) ?? id,
  };
}

function attachmentsField(id, title) {
  const input = h("input", { type: "file", id, multiple: true, accept: "application/pdf,.pdf", "aria-describedby": `${id}-hint` });
  return {
    element: h("div", { class: "field" }, labelFor(id, title, false),
      h("p", { id: `${id}-hint`, class: "hint", text: t("PDF files only. They are encrypted with the document.") }), input),
    read: async () => {
      const files = [...input.files];
      return files.length ? Promise.all(files.map(attachment)) : undefined;
    },
    locate: () => id,
  };
}

/**
 * The form for a document type's schema: {element, read, locate}. read() resolves to the document;
 * locate(path) gives, for a validation problem's path, the element id of its field and that field's title.
 */
export function documentForm(schema) {
  const titles = new Map();
  const form = field(schema, "$", true, titles);
  return {
    element: form.element,
    read: form.read,
    locate: (path) => {
      const id = form.locate(steps(path));
      return { id, title: titles.get(id) || schema.title };
    },
  };
}

/** What is wrong with one field, in words: "Namn: fill this in". */
export function problemWords(problem, title) {
  const words = {
    required: t("fill this in"), too_long: t("too long"), too_many: t("too many"), enum: t("choose one of the alternatives"),
  }[problem] || t("not valid");
  return `${title}: ${words}`;
}
