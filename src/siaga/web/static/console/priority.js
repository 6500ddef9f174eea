// How urgent an alert looks (its colour) and the flags shown on it. The queue's order is attention.js's.
//
// A duress PIN or an escalation makes an alert critical whatever its stored priority: the person may be in danger
// and someone has already waited too long.

const RANK = { critical: 3, high: 2, normal: 1 };

function rank(alert) {
  if (alert.duress || alert.escalated) return RANK.critical;
  return RANK[alert.priority] ?? RANK.normal;
}

export function level(alert) {
  return ["normal", "normal", "high", "critical"][rank(alert)];
}

/** The flags an operator must not miss on this alert, most serious first. */
export function flagsOf(alert, deliveryFailed) {
  const flags = [];
  if (alert.duress) flags.push("duress");
  if (alert.escalated) flags.push("escalated");
  // An operator made it more urgent (a duress alert is critical anyway: its own flag says more).
  if (!alert.duress && (alert.priority === "high" || alert.priority === "critical")) flags.push(`priority_${alert.priority}`);
  if (alert.resident_suspended) flags.push("suspended");
  if ((alert.press_count ?? 1) > 1) flags.push("pressed_again");
  if (alert.delivery_failed || deliveryFailed?.has(alert.id)) flags.push("delivery_failed");
  // An officer on the alert asked for backup or an ambulance, and no unit of that type was added yet.
  if ((alert.unit_requests || []).length) flags.push("units_requested");
  if (alert.silent) flags.push("silent");
  if (alert.is_exercise) flags.push("exercise");
  // Not raised from the app: an SMS, a fixed panic button or a GPS tracker (calling back differs for each).
  if (alert.channel && alert.channel !== "app") flags.push(`via_${alert.channel}`);
  return flags;
}
