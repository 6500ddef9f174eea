// Server errors in the officer's language: known codes have a translation; anything else shows the server's own
// message, which says what is wrong.
import { t } from "../js/i18n.js";

const TRANSLATED = new Set([
  "offer.taken",
  "offer.expired",
  "offer.declined",
  "offer.accepted",
  "offer.not_found",
  "alert.taken",
  "officer.off_duty",
  "officer.no_unit",
  "officer.on_alert",
]);

export function errorText(error) {
  if (error?.code === "network") return t("common.error.network");
  if (TRANSLATED.has(error?.code)) return t(`officer.error.${error.code}`);
  return t("common.error.generic", { message: error?.message || String(error) });
}
