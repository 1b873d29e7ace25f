// The page's language: the catalogue the server put in the page (a JSON data block, not script) and
// formatting through Intl in that language.
const catalogue = JSON.parse(document.getElementById("i18n")?.textContent || "{}");
export const lang = document.documentElement.lang || "sv";

function fill(text, params) {
  if (!params) return text;
  return text.replace(/%\((\w+)\)s/g, (whole, name) => (name in params ? String(params[name]) : whole));
}

/** t("Sent"), t("New message from %(name)s", {name}) */
export function t(msgid, params) {
  const found = catalogue[msgid];
  return fill(typeof found === "string" ? found : msgid, params);
}

/** tn("%(n)s case", "%(n)s cases", n): Swedish and English both have one form for 1 and one for the rest. */
export function tn(singular, plural, n, params = {}) {
  const forms = catalogue[singular];
  const chosen = Array.isArray(forms) ? forms[n === 1 ? 0 : 1] : (n === 1 ? singular : plural);
  return fill(chosen, { n, ...params });
}
