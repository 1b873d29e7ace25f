// Times, durations and sizes in the page's language.
import { lang, t } from "./i18n.js";

const clock = new Intl.DateTimeFormat(lang, { hour: "2-digit", minute: "2-digit" });
const dayAndClock = new Intl.DateTimeFormat(lang, { day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" });
const full = new Intl.DateTimeFormat(lang, { dateStyle: "full", timeStyle: "short" });

function sameDay(a, b) {
  return a.getFullYear() === b.getFullYear() && a.getMonth() === b.getMonth() && a.getDate() === b.getDate();
}

/** A short time for a list or a message: "14:05" today, "3 nov. 14:05" before. */
export function shortTime(ms) {
  const date = new Date(ms);
  return sameDay(date, new Date()) ? clock.format(date) : dayAndClock.format(date);
}

const dateClock = new Intl.DateTimeFormat(lang, { year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit" });

/** A date and a time to the second, for logs: "2026-12-07 14:05:09" in Swedish. */
export function dateAndTime(ms) {
  return dateClock.format(new Date(ms));
}

export function fullTime(ms) {
  return full.format(new Date(ms));
}

export function isoTime(ms) {
  return new Date(ms).toISOString();
}

function unit(value, name) {
  return new Intl.NumberFormat(lang, { style: "unit", unit: name, unitDisplay: "long" }).format(value);
}

/** "5 minuter", "2 timmar", "3 dagar": the largest whole unit, for waiting and answer times. */
export function duration(seconds) {
  if (seconds < 60) return t("less than a minute");
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return unit(minutes, "minute");
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return unit(hours, "hour");
  return unit(Math.floor(hours / 24), "day");
}

export function fileSize(bytes) {
  if (bytes < 1024) return unit(bytes, "byte");
  if (bytes < 1024 * 1024) return new Intl.NumberFormat(lang, { style: "unit", unit: "kilobyte", maximumFractionDigits: 0 }).format(bytes / 1024);
  return new Intl.NumberFormat(lang, { style: "unit", unit: "megabyte", maximumFractionDigits: 1 }).format(bytes / (1024 * 1024));
}

/** The start of a day from a date field's value ("2026-03-01"), in local time, `days` later: ms. */
export function dayStart(value, days = 0) {
  const [y, m, d] = value.split("-").map(Number);
  return new Date(y, m - 1, d + days).getTime();
}

export function shortDate(ms) {
  return new Intl.DateTimeFormat(lang, { dateStyle: "medium" }).format(new Date(ms));
}

/** Who wrote a message in a case, by name: "Du", the citizen, or the staff member who wrote it (the case
 * view's staff_names); the unit's name only for someone no longer in the unit. */
export function senderName(caseView, sender, myId) {
  if (sender === myId) return t("You");
  if (sender === caseView.citizen) return caseView.citizen_name || sender;
  // Someone who acts or acted for the citizen (docs/representatives.md): their name, on whose behalf.
  const representative = caseView.representatives?.find((r) => r.holder === sender);
  if (representative) {
    return t("%(name)s, for %(citizen)s", { name: representative.name || sender,
      citizen: caseView.citizen_name || caseView.citizen });
  }
  const staff = caseView.staff_names?.[sender] || (sender === caseView.assigned_to ? caseView.assigned_name : null);
  return staff || caseView.unit_name || t("Social services");
}
