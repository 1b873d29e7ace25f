// Building the page without HTML strings. Every text goes in through text nodes, so nothing a message
// (or a file name, or a display name) contains can ever become markup, and there is no Trusted Types
// sink to guard.

/** h("li", {class: "x", text: "y"}, child, …): an element with attributes and children. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "class") el.className = value;
    else if (name === "text") el.textContent = value;
    else if (name.startsWith("on")) el.addEventListener(name.slice(2), value);
    else el.setAttribute(name, value === true ? "" : String(value));
  }
  appendAll(el, children);
  return el;
}

function appendAll(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

export const byId = (id) => document.getElementById(id);

/** Tell screen reader users something once, through the page's polite live region. */
export function announce(text) {
  const region = byId("announcer");
  if (!region) return;
  // Emptied first and filled a moment later, so that the same words twice are announced twice.
  region.textContent = "";
  setTimeout(() => { region.textContent = text; }, 60);
}

/** Set a status line (a role=status element) to a text, or clear it. */
export function status(id, text = "", kind = "") {
  const el = byId(id);
  if (!el) return;
  el.textContent = text;
  el.dataset.kind = kind;
}

/** Show a field's error (in the element `<id>-error`) and mark the field invalid, or clear both; true if shown. */
export function fieldError(id, text) {
  const el = byId(`${id}-error`);
  el.hidden = !text;
  el.textContent = text;
  if (text) byId(id).setAttribute("aria-invalid", "true");
  else byId(id).removeAttribute("aria-invalid");
  return Boolean(text);
}

/** An icon: decorative, its meaning is always given in words beside it. */
export function icon(name) {
  return h("span", { class: `icon icon-${name}`, "aria-hidden": "true" });
}
