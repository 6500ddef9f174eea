// The report that resolving an alert needs, checked before a resolve is sent, or kept on a phone without signal (a
// resolve the server would refuse must never wait in the outbox). The rule is the server's: its web configuration
// carries the minimum (resolve_report_min_chars), remembered for a start without signal; the sentence is the one
// the server's refusal reads (common.error.alert.report_required).
import { t } from "./i18n.js";

const KEY = "siaga.report_min_chars";

function remembered() {
  try {
    return Number(localStorage.getItem(KEY)) || 1; // never read yet: at least not blank
  } catch {
    return 1;
  }
}

let minimum = remembered();

/** Take the minimum from the web configuration (each app that resolves does this once, at start). */
export function learnReportRule(config) {
  const min = Number(config?.resolve_report_min_chars);
  if (!Number.isInteger(min) || min < 1) return;
  minimum = min;
  try {
    localStorage.setItem(KEY, String(min));
  } catch {
    // Private mode: known for this visit only.
  }
}

/** What is wrong with `report` as a resolve's report, in the reader's language ("" when nothing is). */
export function reportProblem(report) {
  return report.trim().length >= minimum ? "" : t("common.error.alert.report_required", { min: minimum });
}
