// The citizen's settings: the contact e-mail (booking mails and notices), e-mail when something new waits
// (chat/notifications.py: never any content), and the language of the pages and the e-mails.
import { api, ApiError } from "../api.js";
import { byId, status } from "../dom.js";
import { lang, t, tn } from "../i18n.js";
import { alertError, boot } from "../app.js";

const form = byId("settings-form");
const email = byId("contact-email");
const optIn = byId("notify-opt-in");
const SAVED_FLAG = "samtal-settings-saved"; // survives the reload that changes the page's language

const minutes = (seconds) => Math.max(1, Math.round(seconds / 60));

function fieldError(text) {
  byId("contact-email-error").textContent = text;
  if (text) email.setAttribute("aria-invalid", "true");
  else email.removeAttribute("aria-invalid");
}

async function load() {
  const [contact, prefs] = await Promise.all([api("GET", "/api/me/contact"), api("GET", "/api/me/notifications")]);
  email.value = contact.email || "";
  optIn.checked = prefs.email_opt_in;
  // Each count in its own plural (Babel finds no tn() nested in another call's arguments).
  const after = tn("%(n)s minute", "%(n)s minutes", minutes(prefs.grace_seconds));
  const every = tn("every minute", "every %(n)s minutes", minutes(prefs.min_interval_seconds));
  byId("notify-timing").textContent = t("It comes at the earliest %(after)s after, and at most one e-mail %(every)s.", { after, every });
  const chosen = form.querySelector(`input[name="language"][value="${prefs.language || lang}"]`);
  if (chosen) chosen.checked = true;
}

async function save(event) {
  event.preventDefault();
  alertError("settings-error", null);
  status("settings-status", "");
  fieldError("");
  const address = email.value.trim();
  if (optIn.checked && !address) {
    fieldError(t("Write your e-mail address to get e-mail, or turn the e-mail off."));
    email.focus();
    return;
  }
  const language = new FormData(form).get("language");
  try {
    await api("PUT", "/api/me/contact", { email: address || null });
    await api("PUT", "/api/me/notifications", { email_opt_in: optIn.checked, language });
  } catch (error) {
    if (error instanceof ApiError && error.code === "invalid_field") {
      fieldError(t("This is not an e-mail address. Check it and try again."));
      email.focus();
    } else {
      alertError("settings-error", error);
    }
    return;
  }
  if (language !== lang) {
    // The page's language is kept in a cookie that ?lang= sets; the page comes back in the new language.
    sessionStorage.setItem(SAVED_FLAG, "1");
    location.assign(`/settings?lang=${encodeURIComponent(language)}`);
    return;
  }
  status("settings-status", t("Your settings are saved."));
}

async function main() {
  await boot();
  await load();
  form.addEventListener("submit", save);
  if (sessionStorage.getItem(SAVED_FLAG)) {
    sessionStorage.removeItem(SAVED_FLAG);
    status("settings-status", t("Your settings are saved."));
  }
}

main().catch((error) => alertError("settings-error", error));
