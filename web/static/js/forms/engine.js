// The form engine: conditions, repeating groups, parsing and validation of answers, all from a form
// definition (chat/forms/*.json, format in docs/applications.md). Pure functions, no DOM, so that the
// renderer (render.js), the drafts and the tests use the very same rules.
//
// Answers are kept as the person typed them ("raw"): strings for text, numbers, amounts, dates and months,
// a string (or a list, for multiple) for a choice, true/false/null for yes/no, true/false for a
// confirmation, a list of attachment references for an attachment, an object for a group and a list of
// objects for a repeating group. `finalize` turns them into the typed answers that are sealed and sent.

export const DEFAULT_MAX_LENGTH = { text: 200, multiline: 4000 };
export const DEFAULT_MAX_FILES = 5;
export const DEFAULT_MAX_ITEMS = 50;
const AMOUNT_MAX = 100_000_000;

/** A text of the definition ({sv, en}) in the page's language, falling back to Swedish. */
export function textOf(text, lang) {
  if (!text) return "";
  return text[lang] || text.sv || "";
}

export function isGroup(item) {
  return item.type === "group";
}

/** Every top-level item of the form (fields and groups), in document order. */
export function topItems(def) {
  return def.sections.flatMap((s) => s.fields);
}

function emptyValue(field) {
  if (field.type === "attachment") return [];
  if (field.type === "choice" && field.multiple) return [];
  if (field.type === "yesno") return null;
  if (field.type === "confirm") return false;
  return "";
}

export function emptyItem(group) {
  return Object.fromEntries(group.fields.map((f) => [f.id, emptyValue(f)]));
}

/** Answers of an untouched form: empty values, a repeating group with its minimum number of items. */
export function emptyAnswers(def) {
  const answers = {};
  for (const item of topItems(def)) {
    if (!isGroup(item)) answers[item.id] = emptyValue(item);
    else if (item.repeat) answers[item.id] = Array.from({ length: item.min_items || 0 }, () => emptyItem(item));
    else answers[item.id] = emptyItem(item);
  }
  return answers;
}

export function isEmpty(field, raw) {
  if (raw === null || raw === undefined) return true;
  if (Array.isArray(raw)) return raw.length === 0;
  if (typeof raw === "string") return raw.trim() === "";
  if (field.type === "confirm") return raw !== true;
  return false;
}

// -- parsing ------------------------------------------------------------------------------------------
const SPACES = /[\s\u00a0\u202f]/g;

function wholeNumber(raw, allowNegative) {
  let text = String(raw).replace(SPACES, "");
  text = text.replace(/(kr|kronor|:-)$/i, "");
  if (/^-?\d+[.,]\d+$/.test(text)) return { error: "not_whole" };
  const pattern = allowNegative ? /^-?\d{1,15}$/ : /^\d{1,15}$/;
  if (!pattern.test(text)) return { error: "not_a_number" };
  return { value: Number(text) };
}

function validDate(y, m, d) {
  const date = new Date(Date.UTC(y, m - 1, d));
  return date.getUTCFullYear() === y && date.getUTCMonth() === m - 1 && date.getUTCDate() === d;
}

function luhn(digits) {
  let sum = 0;
  for (let i = 0; i < digits.length; i += 1) {
    let n = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 1) {
      n *= 2;
      if (n > 9) n -= 9;
    }
    sum += n;
  }
  return sum % 10 === 0;
}

/**
 * Whether a text holds something that is a Swedish personal identity number (or co-ordination number):
 * YYMMDD or YYYYMMDD, an optional - or +, four digits, a real date (day + 60 for a co-ordination number)
 * and a valid check digit. Forms ask for a name and a year of birth instead (docs/applications.md).
 */
export function containsPersonalNumber(text) {
  for (const match of String(text).matchAll(/(?<!\d)(\d{2})?(\d{2})(\d{2})(\d{2})[-+]?(\d{4})(?!\d)/g)) {
    const [, , yy, mm, dd, last] = match;
    const day = Number(dd) > 60 ? Number(dd) - 60 : Number(dd);
    if (validDate(2000 + Number(yy), Number(mm), day) && luhn(`${yy}${mm}${dd}${last}`)) return true;
  }
  return false;
}

/** The typed value of a raw answer: {value} or {error: code, params?}. Only for a non-empty answer. */
export function parseValue(field, raw) {
  switch (field.type) {
    case "text":
    case "multiline": {
      const max = field.max_length || DEFAULT_MAX_LENGTH[field.type];
      const value = String(raw).trim();
      if (value.length > max) return { error: "too_long", params: { max } };
      if (field.no_personal_number && containsPersonalNumber(value)) return { error: "personal_number" };
      return { value };
    }
    case "number":
    case "amount": {
      const parsed = wholeNumber(raw, field.type === "number");
      if (parsed.error) return parsed;
      const min = field.min ?? (field.type === "amount" ? 0 : undefined);
      const max = field.max ?? (field.type === "amount" ? AMOUNT_MAX : undefined);
      if (min !== undefined && parsed.value < min) return { error: "too_small", params: { min } };
      if (max !== undefined && parsed.value > max) return { error: "too_large", params: { max } };
      return parsed;
    }
    case "date": {
      const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(String(raw).trim());
      if (!m || !validDate(Number(m[1]), Number(m[2]), Number(m[3]))) return { error: "not_a_date" };
      return { value: m[0] };
    }
    case "month": {
      const m = /^(\d{4})-(0?[1-9]|1[0-2])$/.exec(String(raw).trim());
      if (!m) return { error: "not_a_month" };
      return { value: `${m[1]}-${m[2].padStart(2, "0")}` };
    }
    case "choice": {
      const values = new Set(field.options.map((o) => o.value));
      const chosen = field.multiple ? raw : [raw];
      if (!Array.isArray(chosen) || chosen.some((v) => !values.has(v))) return { error: "unknown_option" };
      if (!field.multiple) return { value: raw };
      return { value: field.options.map((o) => o.value).filter((v) => chosen.includes(v)) }; // the form's order
    }
    case "yesno":
      return typeof raw === "boolean" ? { value: raw } : { error: "unknown_option" };
    case "confirm":
      return { value: true };
    case "attachment": {
      const max = field.max_files || DEFAULT_MAX_FILES;
      if (!Array.isArray(raw)) return { error: "unknown_option" };
      if (raw.length > max) return { error: "too_many_files", params: { max } };
      return { value: raw };
    }
    default:
      return { error: "unknown_type" };
  }
}

// -- conditions ---------------------------------------------------------------------------------------
function lookup(id, scope, top) {
  if (scope && id in scope.fields) return [scope.fields[id], scope.answers[id]];
  return [top.fields[id], top.answers[id]];
}

/**
 * Whether `item` is shown. `top` is {fields: id -> field, answers}; `scope` is the same for the group item
 * the field belongs to (null at the top). A condition on a hidden field is false: what depends on an
 * answer nobody can see is hidden too.
 */
export function visible(item, top, scope = null) {
  const cond = item.show_if;
  if (!cond) return true;
  const [field, raw] = lookup(cond.field, scope, top);
  if (!field) return false;
  const owner = scope && cond.field in scope.fields ? scope : null;
  if (!visible(field, top, owner)) return false;
  if (isEmpty(field, raw)) return false;
  if (cond.filled) return true;
  const parsed = parseValue(field, raw);
  if (parsed.error) return false;
  const wanted = "in" in cond ? cond.in : [cond.equals];
  const have = Array.isArray(parsed.value) ? parsed.value : [parsed.value];
  return have.some((v) => wanted.includes(v));
}

export function topScope(def, answers) {
  const fields = {};
  for (const item of topItems(def)) if (!isGroup(item)) fields[item.id] = item;
  return { fields, answers };
}

export function itemScope(group, itemAnswers) {
  return { fields: Object.fromEntries(group.fields.map((f) => [f.id, f])), answers: itemAnswers || {} };
}

// -- validation ---------------------------------------------------------------------------------------
function checkField(field, raw, path, errors) {
  if (isEmpty(field, raw)) {
    if (field.required) errors.push({ path, code: field.type === "confirm" ? "must_confirm" : "required" });
    return;
  }
  const parsed = parseValue(field, raw);
  if (parsed.error) errors.push({ path, code: parsed.error, params: parsed.params || {} });
}

function checkGroupFields(group, item, path, top, errors) {
  const scope = itemScope(group, item);
  for (const field of group.fields) {
    if (visible(field, top, scope)) checkField(field, scope.answers[field.id], `${path}.${field.id}`, errors);
  }
}

/**
 * Every problem with the answers, in document order: [{path, code, params}]. Paths: "field", "group.field"
 * and "group.2.field" (the third item of a repeating group); a group's own problems (too few items) have
 * the group's path. Hidden fields are not checked.
 */
export function validate(def, answers) {
  const errors = [];
  const top = topScope(def, answers);
  for (const item of topItems(def)) {
    if (!visible(item, top)) continue;
    const raw = answers[item.id];
    if (!isGroup(item)) {
      checkField(item, raw, item.id, errors);
    } else if (!item.repeat) {
      checkGroupFields(item, raw || {}, item.id, top, errors);
    } else {
      const items = Array.isArray(raw) ? raw : [];
      const min = item.min_items || 0;
      const max = item.max_items || DEFAULT_MAX_ITEMS;
      if (items.length < min) errors.push({ path: item.id, code: "too_few_items", params: { min } });
      if (items.length > max) errors.push({ path: item.id, code: "too_many_items", params: { max } });
      items.forEach((entry, i) => checkGroupFields(item, entry, `${item.id}.${i}`, top, errors));
    }
  }
  return errors;
}

function finalField(field, raw) {
  if (isEmpty(field, raw)) return undefined;
  const parsed = parseValue(field, raw);
  if (parsed.error) throw new Error(`finalize: ${field.id} is not valid (${parsed.error})`);
  return parsed.value;
}

function finalGroup(group, item, top) {
  const scope = itemScope(group, item);
  const out = {};
  for (const field of group.fields) {
    if (!visible(field, top, scope)) continue;
    const value = finalField(field, scope.answers[field.id]);
    if (value !== undefined) out[field.id] = value;
  }
  return out;
}

/**
 * The typed answers to seal: only shown, non-empty answers, parsed (amounts and numbers as integers,
 * months as YYYY-MM, choices in the form's order). Throws if the answers do not validate.
 */
export function finalize(def, answers) {
  const top = topScope(def, answers);
  const out = {};
  for (const item of topItems(def)) {
    if (!visible(item, top)) continue;
    const raw = answers[item.id];
    if (!isGroup(item)) {
      const value = finalField(item, raw);
      if (value !== undefined) out[item.id] = value;
    } else if (!item.repeat) {
      const value = finalGroup(item, raw || {}, top);
      if (Object.keys(value).length) out[item.id] = value;
    } else {
      const items = (Array.isArray(raw) ? raw : []).map((entry) => finalGroup(item, entry, top));
      if (items.length) out[item.id] = items;
    }
  }
  return out;
}

/** The attachment references in the answers (raw or final), with the path of the field holding each. */
export function attachmentsOf(def, answers) {
  const found = [];
  const add = (field, value, path) => {
    if (field.type === "attachment" && Array.isArray(value)) value.forEach((ref) => found.push({ path, ref }));
  };
  for (const item of topItems(def)) {
    const value = answers[item.id];
    if (!isGroup(item)) add(item, value, item.id);
    else if (!item.repeat) for (const f of item.fields) add(f, value?.[f.id], `${item.id}.${f.id}`);
    else (Array.isArray(value) ? value : []).forEach((entry, i) => {
      for (const f of item.fields) add(f, entry?.[f.id], `${item.id}.${i}.${f.id}`);
    });
  }
  return found;
}

/** The field (or group) a path names, e.g. "members.0.name" -> the members group's name field. */
export function itemAt(def, path) {
  const [first, ...rest] = path.split(".");
  const item = topItems(def).find((i) => i.id === first);
  if (!item || !rest.length) return item;
  const id = rest[rest.length - 1];
  return item.fields?.find((f) => f.id === id) || item;
}
