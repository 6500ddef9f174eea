// Time as the server sees it. Every timer counts from the server's receipt of the press, so the console corrects its
// own clock by the offset the stream's hello reports; a wrong PC clock must not make an alert look younger.
import { useEffect, useState } from "../js/ui.js";
import { lang, t } from "../js/i18n.js";

let offsetMs = 0;

export function setServerTime(iso) {
  const server = Date.parse(iso);
  if (!Number.isNaN(server)) offsetMs = server - Date.now();
}

export function serverNow() {
  return Date.now() + offsetMs;
}

/** Seconds from `startIso` to `endIso` (or to now while the step has not happened). */
export function secondsBetween(startIso, endIso) {
  const end = endIso ? Date.parse(endIso) : serverNow();
  return (end - Date.parse(startIso)) / 1000;
}

/** Re-render the calling component every `ms`, so running timers move; returns how many ticks there have been. */
export function useTick(ms = 1000) {
  const [count, setCount] = useState(0);
  useEffect(() => {
    const id = setInterval(() => setCount((n) => n + 1), ms);
    return () => clearInterval(id);
  }, [ms]);
  return count;
}

function locale() {
  return lang() === "en" ? "en-GB" : "id-ID";
}

export function timeOfDay(iso) {
  return new Date(iso).toLocaleTimeString(locale(), { hour: "2-digit", minute: "2-digit", second: "2-digit" });
}

export function dateAndTime(iso) {
  return new Date(iso).toLocaleString(locale(), { dateStyle: "medium", timeStyle: "short" });
}

export function distance(metres) {
  if (metres < 1000) return t("console.distance.m", { value: Math.round(metres) });
  return t("console.distance.km", { value: (metres / 1000).toFixed(1) });
}
