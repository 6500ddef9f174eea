// How urgent an alert is, and the order of the queue.
//
// A duress PIN or an escalation makes an alert critical whatever its stored priority: the person may be in danger
// and someone has already waited too long. Among critical alerts a duress PIN comes first (someone is being coerced
// right now). Within a priority, alerts nobody has acknowledged yet come before those already in hand (in a mass
// event the waiting ones would otherwise sink under hundreds being handled), then the oldest first.

const RANK = { critical: 3, high: 2, normal: 1 };

export function rank(alert) {
  if (alert.duress || alert.escalated) return RANK.critical;
  return RANK[alert.priority] ?? RANK.normal;
}

export function level(alert) {
  return ["normal", "normal", "high", "critical"][rank(alert)];
}

function waiting(alert) {
  return alert.state === "new" ? 1 : 0;
}

function duress(alert) {
  return alert.duress ? 1 : 0;
}

export function compareAlerts(a, b) {
  return (
    rank(b) - rank(a) ||
    duress(b) - duress(a) ||
    waiting(b) - waiting(a) ||
    Date.parse(a.created_at) - Date.parse(b.created_at) ||
    (a.id < b.id ? -1 : 1)
  );
}

/** The flags an operator must not miss on this alert, most serious first. */
export function flagsOf(alert, deliveryFailed) {
  const flags = [];
  if (alert.duress) flags.push("duress");
  if (alert.escalated) flags.push("escalated");
  if (alert.resident_suspended) flags.push("suspended");
  if (alert.delivery_failed || deliveryFailed?.has(alert.id)) flags.push("delivery_failed");
  if (alert.silent) flags.push("silent");
  if (alert.is_exercise) flags.push("exercise");
  return flags;
}
