// The console's queue index (src/siaga/web/static/console/order.js): kept one alert at a time, it must always give
// the attention model's own order, whatever arrives, changes and closes. Run with `node --test tests/js/`;
// tests/unit/test_js.py runs it under pytest.
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import {
  SECTIONS,
  bannerGroups,
  queueOrder,
  sectionOf,
  taken,
} from "../../src/siaga/web/static/console/attention.js";
import { QueueIndex } from "../../src/siaga/web/static/console/order.js";

const NOW = Date.UTC(2026, 11, 3, 8, 0);

// A small deterministic generator, so a failure can be replayed.
function random(seed) {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

function someAlert(next, id) {
  const pick = (choices) => choices[Math.floor(next() * choices.length)];
  const acknowledged = next() < 0.3;
  return {
    id,
    state: acknowledged ? "acknowledged" : "new",
    category: pick(["kriminalitas", "kesehatan", "kebakaran"]),
    duress: next() < 0.1,
    is_exercise: next() < 0.2,
    press_count: pick([1, 1, 1, 3]),
    unit_id: next() < 0.2 ? 7 : null,
    acknowledged_at: acknowledged ? "2026-12-03T07:59:00Z" : null,
    created_at: new Date(NOW - Math.floor(next() * 50) * 60_000).toISOString(), // ties on purpose
  };
}

const ids = (alerts) => alerts.map((a) => a.id);

describe("the queue index", () => {
  test("after any arrivals, changes, flags and closings it gives the same order as sorting them all", () => {
    for (const seed of [1, 2, 3]) {
      const next = random(seed);
      const index = new QueueIndex();
      const open = new Map();
      const flagged = new Set();
      index.rebuild([], flagged);
      for (let step = 0; step < 600; step += 1) {
        const roll = next();
        const known = [...open.keys()];
        const id = roll < 0.5 || known.length === 0 ? `a${step}` : known[Math.floor(next() * known.length)];
        if (roll < 0.75) {
          const alert = someAlert(next, id);
          open.set(id, alert);
          index.put(alert, flagged);
        } else if (roll < 0.9) {
          if (flagged.has(id)) flagged.delete(id);
          else flagged.add(id);
          if (open.has(id)) index.put(open.get(id), flagged);
        } else {
          open.delete(id);
          index.remove(id);
        }
      }
      for (const hideDrills of [false, true]) {
        assert.deepEqual(ids(index.ordered(hideDrills)), ids(queueOrder(open.values(), { flagged, hideDrills })));
      }
      const expected = SECTIONS.map((section) => [...open.values()].filter((a) => sectionOf(a) === section).length);
      assert.deepEqual(index.sectionCounts(), expected);
      const waiting = [...open.values()].filter((a) => !a.is_exercise && !taken(a));
      assert.equal(index.waitingCount(), waiting.length);
      assert.deepEqual(new Set(ids(index.waiting())), new Set(ids(waiting)));
    }
  });

  test("a rebuild from thousands of alerts is the full sort, and the same alert object changes nothing", () => {
    const next = random(9);
    const alerts = Array.from({ length: 5000 }, (_, n) => someAlert(next, `b${n}`));
    const index = new QueueIndex();
    index.rebuild(alerts, new Set());
    assert.deepEqual(ids(index.ordered()), ids(queueOrder(alerts)));
    const version = index.version;
    index.put(alerts[10], new Set());
    assert.equal(index.version, version);
  });
});

describe("the banner from the queue index", () => {
  test("gives the groups, their first items and counts that ordering every item would", () => {
    const next = random(5);
    const alerts = Array.from({ length: 400 }, (_, n) => someAlert(next, `c${String(n).padStart(3, "0")}`));
    const open = new Map(alerts.slice(0, 350).map((a) => [a.id, a])); // the rest closed, their items kept
    const kinds = ["escalated", "duress", "delivery_failed", "flagged"];
    const items = alerts
      .filter(() => next() < 0.6)
      .map((a) => ({ key: `${a.id}:x`, alertId: a.id, kind: kinds[Math.floor(next() * 4)], reason: "", at: a.created_at }));
    const index = new QueueIndex();
    index.rebuild(open.values(), new Set());
    const fromIndex = bannerGroups(open, items, {
      ordered: index.ordered(),
      waiting: index.waiting(),
      placeOf: (id) => index.byId.get(id)?.key ?? Infinity,
    });
    const plain = bannerGroups(open, items);
    const shape = (groups) =>
      groups.map((g) => [g.key, g.count, g.first.key, g.items.length, g.items.map((i) => i.key)]);
    assert.deepEqual(shape(fromIndex), shape(plain));
    for (const group of plain) assert.equal(group.first, group.items[0]);
  });
});
