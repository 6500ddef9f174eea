// The console's unit board (src/siaga/web/static/console/roster.js): which units it shows with the drills hidden or
// shown, and counts that match those rows. Run with `node --test tests/js/`; tests/unit/test_js.py runs it under pytest.
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { roster } from "../../src/siaga/web/static/console/roster.js";

function unit(unit_id, state, fields = {}) {
  return { unit_id, callsign: `U-${unit_id}`, state, is_exercise: false, ...fields };
}

const REAL_ALERT = { id: "a1", is_exercise: false };
const DRILL_ALERT = { id: "d1", is_exercise: true };

// A real unit free, one on a real alert, one on a drill alert, one off duty, and a drill's own units (one busy on
// its drill, one waiting for the next).
const UNITS = [
  unit(1, "available"),
  unit(2, "on_scene"),
  unit(3, "en_route"),
  unit(4, "off_duty"),
  unit(5, "assigned", { is_exercise: true }),
  unit(6, "available", { is_exercise: true }),
];
const ALERTS = new Map([
  [2, REAL_ALERT],
  [3, DRILL_ALERT],
  [5, DRILL_ALERT],
]);
const alertOf = (id) => ALERTS.get(id);

function ids(board, group) {
  return board.rows.filter((row) => row.group === group).map((row) => row.unit.unit_id);
}

describe("the unit board", () => {
  test("with the drills shown, a drill's units and units busy on drills count as latihan, not as free or busy", () => {
    const board = roster(UNITS, alertOf);
    assert.deepEqual(board.counts, { busy: 1, drill: 3, available: 1, off_duty: 1 });
    assert.deepEqual(ids(board, "drill"), [3, 5, 6]);
    assert.deepEqual(ids(board, "available"), [1]);
  });

  test("with the drills hidden, a drill's units leave the rows and the counts; a real unit on a drill stays", () => {
    const board = roster(UNITS, alertOf, { hideDrills: true });
    assert.deepEqual(
      board.rows.map((row) => row.unit.unit_id),
      [2, 3, 1, 4],
    );
    assert.deepEqual(board.counts, { busy: 1, drill: 1, available: 1, off_duty: 1 });
    assert.deepEqual(ids(board, "drill"), [3]);
  });

  test("every count is the number of rows in its group", () => {
    for (const hideDrills of [false, true]) {
      const board = roster(UNITS, alertOf, { hideDrills });
      for (const [group, count] of Object.entries(board.counts)) assert.equal(ids(board, group).length, count);
      assert.equal(board.rows.length, Object.values(board.counts).reduce((a, b) => a + b, 0));
    }
  });

  test("busy units come first, then latihan, free and off duty, the busiest first within each", () => {
    assert.deepEqual(
      roster(UNITS, alertOf).rows.map((row) => row.unit.unit_id),
      [2, 3, 5, 6, 1, 4],
    );
  });
});
