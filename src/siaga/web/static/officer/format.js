// Small display helpers for distances, times and places.
import { t } from "../js/i18n.js";

export function distance(metres) {
  if (metres === null || metres === undefined) return "";
  return metres < 1000 ? `${Math.round(metres)} m` : `${(metres / 1000).toFixed(1)} km`;
}

export function minutes(seconds) {
  return t("officer.minutes", { minutes: Math.max(1, Math.round(seconds / 60)) });
}

export function place(alert) {
  return alert.jurisdiction_name || t("officer.place.unknown");
}
