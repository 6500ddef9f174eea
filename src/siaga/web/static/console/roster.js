// Which units the unit board shows and how it counts them, from one list so that the counts always match the rows.
// Pure: no DOM, no store (tests/js/roster.test.mjs).
//
// A drill's own units (is_exercise) are part of the drill: hidden with the drills by the console's drill switch, and
// while shown they count as "latihan", never as units free for a real SOS. A real unit busy on a drill alert is busy
// all the same and stays on the board whatever the switch says, but counts as "latihan" too, so "sibuk" is what real
// alerts take. The groups, in the board's order: busy (offered, assigned, en route, on scene), drill, available,
// off duty.

export const GROUPS = ["busy", "drill", "available", "off_duty"];
const STATE_ORDER = ["on_scene", "en_route", "assigned", "offered", "available", "off_duty"];

function byBoardOrder(a, b) {
  return (
    GROUPS.indexOf(a.group) - GROUPS.indexOf(b.group) ||
    STATE_ORDER.indexOf(a.unit.state) - STATE_ORDER.indexOf(b.unit.state) ||
    a.unit.callsign.localeCompare(b.unit.callsign)
  );
}

/** The group of `unit`, given the open alert it has (or none). */
export function groupOf(unit, alert) {
  if (unit.state === "off_duty") return "off_duty";
  if (unit.is_exercise || alert?.is_exercise) return "drill";
  if (unit.state === "available") return "available";
  return "busy";
}

/**
 * The board: `rows` ({unit, alert, group}) by group, then busiest first, then callsign, without a drill's units while
 * `hideDrills`, and `counts` of those rows by group (every group present, 0 when empty). `alertOf(unitId)` is the
 * open alert a unit has.
 */
export function roster(units, alertOf, { hideDrills = false } = {}) {
  const rows = [];
  const counts = Object.fromEntries(GROUPS.map((group) => [group, 0]));
  for (const unit of units) {
    if (hideDrills && unit.is_exercise) continue;
    const alert = alertOf(unit.unit_id);
    const group = groupOf(unit, alert);
    counts[group] += 1;
    rows.push({ unit, alert, group });
  }
  rows.sort(byBoardOrder);
  return { rows, counts };
}
