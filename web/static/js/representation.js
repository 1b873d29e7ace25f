// A case a person acts in for someone else (docs/representatives.md): "För Dana Karlsson", with what kind of
// representative they are and what they may do, in the case list and at the top of the case.
import { t } from "./i18n.js";
import { shortDate } from "./format.js";

const KIND_WORDS = {
  ombud: () => t("representative (ombud)"),
  god_man: () => t("appointed guardian (god man)"),
  forvaltare: () => t("administrator (förvaltare)"),
  guardian: () => t("custodian (vårdnadshavare)"),
};
const SCOPE_WORDS = {
  read: () => t("read"), write: () => t("write"), apply: () => t("apply"), book: () => t("book meetings"),
};

/** "For Dana Karlsson", or null when the case is the person's own. */
export function forWhom(c) {
  return c.on_behalf ? t("For %(name)s", { name: c.on_behalf.citizen_name || "?" }) : null;
}

/** "As appointed guardian (god man): read, write. Ends 31 Jan 2027." */
export function mandateWords(c) {
  if (!c.on_behalf) return null;
  const m = c.on_behalf;
  const kind = (KIND_WORDS[m.kind] || (() => m.kind))();
  const scopes = m.scopes.map((s) => (SCOPE_WORDS[s] || (() => s))()).join(", ");
  return t("As %(kind)s: %(scopes)s. Ends %(date)s.", { kind, scopes, date: shortDate(m.ends_at) });
}
