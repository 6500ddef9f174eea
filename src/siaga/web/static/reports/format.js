// How figures read: counts with thousands separators, seconds as m:ss, rates as per cent, dates in the UI language.
import { clock, lang } from "../js/i18n.js";

function locale() {
  return lang() === "id" ? "id-ID" : "en-GB";
}

export function count(value) {
  return value === null || value === undefined ? "–" : Number(value).toLocaleString(locale());
}

export function duration(seconds) {
  return seconds === null || seconds === undefined ? "–" : clock(seconds);
}

export function percent(value) {
  if (value === null || value === undefined) return "–";
  return `${(value * 100).toLocaleString(locale(), { maximumFractionDigits: 1 })}%`;
}

export function decimal(value) {
  return value === null || value === undefined ? "–" : Number(value).toLocaleString(locale(), { maximumFractionDigits: 2 });
}

/** A calendar day (YYYY-MM-DD, already in WIB) as "5 Okt" / "5 Oct". */
export function day(iso) {
  const [y, m, d] = iso.split("-").map(Number);
  return new Date(Date.UTC(y, m - 1, d)).toLocaleDateString(locale(), { day: "numeric", month: "short", timeZone: "UTC" });
}

/** Format a figure by its kind: count, seconds, rate or decimal. */
export function figure(kind, value) {
  return { seconds: duration, rate: percent, decimal }[kind]?.(value) ?? count(value);
}
