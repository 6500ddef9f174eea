// The console's surge view (src/siaga/web/static/console/surge.js and the attention model's surge rules): the queue's
// filters and groups, the oldest and newest waiting alert, and which kecamatan surge. Run with `node --test tests/js/`;
// tests/unit/test_js.py runs it under pytest.
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { queueOrder, waitingEnds, waitingReal } from "../../src/siaga/web/static/console/attention.js";
import { filtered, grouped, passes, rowsOf, surgingAreas } from "../../src/siaga/web/static/console/surge.js";

const NOW = Date.UTC(2026, 11, 3, 8, 0);
let serial = 0;

// An open alert as the console stream summarises it, pressed `minutesAgo` minutes before NOW, in kecamatan `area`.
function alert(fields = {}, minutesAgo = 0, area = 1) {
  serial += 1;
  return {
    id: `s${String(serial).padStart(4, "0")}`,
    state: "new",
    category: "kriminalitas",
    duress: false,
    is_exercise: false,
    press_count: 1,
    unit_id: null,
    acknowledged_at: null,
    jurisdiction_id: area,
    created_at: new Date(NOW - minutesAgo * 60_000).toISOString(),
    ...fields,
  };
}

const ids = (alerts) => alerts.map((a) => a.id);

describe("what rises in a surge", () => {
  test("duress, then the injured, then repeated presses, then the oldest, among the alerts nobody has taken", () => {
    const old = alert({}, 30);
    const pressedAgain = alert({ press_count: 4 }, 5);
    const injured = alert({ category: "kesehatan" }, 1);
    const duress = alert({ duress: true }, 0);
    const young = alert({}, 2);
    assert.deepEqual(ids(waitingReal([old, pressedAgain, injured, duress, young])), ids([duress, injured, pressedAgain, old, young]));
    assert.deepEqual(ids(queueOrder([young, old, injured, pressedAgain, duress])), ids([duress, injured, pressedAgain, old, young]));
  });

  test("an injured drill or a taken injured alert does not rise above a real alert nobody has taken", () => {
    const waiting = alert({}, 0);
    const injuredDrill = alert({ category: "kesehatan", is_exercise: true }, 10);
    const injuredTaken = alert({ category: "kesehatan", state: "acknowledged", acknowledged_at: "2026-12-03T07:59:00Z" }, 10);
    assert.equal(queueOrder([injuredDrill, injuredTaken, waiting])[0].id, waiting.id);
  });

  test("the oldest and newest real alerts nobody has taken are found at either end, drills and taken ones aside", () => {
    const oldest = alert({}, 50);
    const newest = alert({}, 1);
    const middle = alert({ category: "kesehatan" }, 20);
    const newerDrill = alert({ is_exercise: true }, 0);
    const olderTaken = alert({ unit_id: 3, state: "en_route" }, 90);
    const ends = waitingEnds([middle, newest, newerDrill, oldest, olderTaken]);
    assert.equal(ends.oldest.id, oldest.id);
    assert.equal(ends.newest.id, newest.id);
    assert.deepEqual(waitingEnds([newerDrill]), { newest: null, oldest: null });
  });
});

describe("filters and groups", () => {
  test("category, kecamatan, state and age each narrow the queue, and together they all apply", () => {
    const fire = alert({ category: "kebakaran" }, 3, 2);
    const oldFire = alert({ category: "kebakaran" }, 120, 2);
    const crime = alert({}, 3, 1);
    const handled = alert({ category: "kebakaran", state: "dispatched", unit_id: 4 }, 3, 2);
    const all = [fire, oldFire, crime, handled];
    assert.deepEqual(ids(filtered(all, { category: "kebakaran" }, NOW)), ids([fire, oldFire, handled]));
    assert.deepEqual(ids(filtered(all, { area: "1" }, NOW)), ids([crime]));
    assert.deepEqual(ids(filtered(all, { state: "new", category: "kebakaran", area: "2", age: "15" }, NOW)), ids([fire]));
    assert.deepEqual(ids(filtered(all, { age: "older" }, NOW)), ids([oldFire]));
    assert.equal(filtered(all, { category: "", area: "", state: "", age: "all" }, NOW), all);
    assert.equal(passes(alert({ jurisdiction_id: null }), { area: "none" }, NOW), true);
  });

  test("groups by kecamatan or category count their alerts, the largest first, each in queue order", () => {
    const a = [alert({}, 9, 1), alert({}, 8, 2), alert({}, 7, 2), alert({ category: "kesehatan" }, 6, 2)];
    const byArea = grouped(a, "kecamatan");
    assert.deepEqual(byArea.map((g) => [g.key, g.count]), [["2", 3], ["1", 1]]);
    assert.deepEqual(ids(byArea[0].alerts), ids(a.slice(1)));
    assert.deepEqual(grouped(a, "category").map((g) => [g.key, g.count]), [["kriminalitas", 3], ["kesehatan", 1]]);
  });

  test("a collapsed group is drawn as its heading only", () => {
    const a = [alert({}, 9, 1), alert({}, 8, 2), alert({}, 7, 2)];
    const rows = rowsOf(a, "kecamatan", new Set(["2"]));
    assert.deepEqual(rows.map((row) => (row.group ? `group ${row.group.key}` : row.alert.id)), ["group 2", "group 1", a[0].id]);
    assert.equal(rowsOf(a, "attention").length, 3);
  });
});

describe("the surge banner", () => {
  test("an area surges when its real presses in the last minute reach the threshold, repeated presses counted", () => {
    const presses = [
      ...Array.from({ length: 8 }, () => alert({}, 0.5, 7)),
      alert({ press_count: 3 }, 0.2, 7), // one resident pressing again and again
      alert({}, 5, 7), // older than a minute
      ...Array.from({ length: 4 }, () => alert({}, 0.1, 9)),
    ];
    assert.deepEqual(surgingAreas(presses, { threshold: 10, now: NOW }), [{ area: "7", presses: 11, exercise: false }]);
    assert.deepEqual(surgingAreas(presses, { threshold: 4, now: NOW }), [
      { area: "7", presses: 11, exercise: false },
      { area: "9", presses: 4, exercise: false },
    ]);
    assert.deepEqual(surgingAreas(presses, { threshold: 0, now: NOW }), []);
  });

  test("a drill's mass event surges as a drill, after every real surge, and never adds to a real area's count", () => {
    const presses = [
      ...Array.from({ length: 20 }, () => alert({ is_exercise: true }, 0.1, 8)), // a simulated mass event
      ...Array.from({ length: 6 }, () => alert({ is_exercise: true }, 0.1, 7)),
      ...Array.from({ length: 5 }, () => alert({}, 0.1, 7)),
    ];
    assert.deepEqual(surgingAreas(presses, { threshold: 6, now: NOW }), [
      { area: "8", presses: 20, exercise: true },
      { area: "7", presses: 6, exercise: true },
    ]);
    assert.deepEqual(surgingAreas([...presses, alert({}, 0.1, 7)], { threshold: 6, now: NOW }), [
      { area: "7", presses: 6, exercise: false }, // real presses: their own count, first
      { area: "8", presses: 20, exercise: true },
      { area: "7", presses: 6, exercise: true },
    ]);
  });

  test("two consoles with the same alerts, in any order, name the same areas", () => {
    const presses = Array.from({ length: 30 }, (_, n) => alert({}, 0.1, 1 + (n % 3)));
    const one = surgingAreas(presses, { threshold: 10, now: NOW });
    const other = surgingAreas([...presses].reverse(), { threshold: 10, now: NOW });
    assert.deepEqual(one, other);
    assert.equal(one.length, 3);
  });
});
