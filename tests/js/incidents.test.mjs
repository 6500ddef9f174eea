// The console's incidents and operator-set priority (src/siaga/web/static/console/linked.js, the attention model's
// order and the queue's grouping by incident). Run with `node --test tests/js/`; tests/unit/test_js.py runs it under
// pytest.
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { queueOrder, waitingReal } from "../../src/siaga/web/static/console/attention.js";
import { incidentSizes, linkPlan } from "../../src/siaga/web/static/console/linked.js";
import { QueueIndex } from "../../src/siaga/web/static/console/order.js";
import { grouped } from "../../src/siaga/web/static/console/surge.js";

let serial = 0;

// An open alert as the console stream summarises it, pressed `minutesAgo` minutes before 08:00.
function alert(fields = {}, minutesAgo = 0) {
  serial += 1;
  return {
    id: `i${String(serial).padStart(3, "0")}`,
    state: "new",
    category: "kriminalitas",
    priority: "normal",
    duress: false,
    is_exercise: false,
    press_count: 1,
    unit_id: null,
    acknowledged_at: null,
    incident_id: null,
    jurisdiction_id: 1,
    created_at: new Date(Date.UTC(2026, 11, 3, 8, 0) - minutesAgo * 60_000).toISOString(),
    ...fields,
  };
}

const ids = (alerts) => alerts.map((a) => a.id);
const acknowledged = { state: "acknowledged", acknowledged_at: "2026-12-03T07:59:00Z" };

describe("an operator's priority in the queue's order", () => {
  test("among the waiting, critical then high come before the injured and the oldest; duress stays first", () => {
    const oldest = alert({}, 30);
    const injured = alert({ category: "kesehatan" }, 20);
    const high = alert({ priority: "high" }, 1);
    const critical = alert({ priority: "critical" }, 0);
    const duress = alert({ duress: true, priority: "critical" }, 0);
    assert.deepEqual(ids(waitingReal([oldest, injured, high, critical, duress])), ids([duress, critical, high, injured, oldest]));
  });

  test("a priority never lifts a handled alert or a drill above a real alert that nobody has taken", () => {
    const waiting = alert({}, 0);
    const handledCritical = alert({ ...acknowledged, priority: "critical" }, 40);
    const drillCritical = alert({ is_exercise: true, priority: "critical" }, 50);
    const handled = alert(acknowledged, 60);
    assert.deepEqual(ids(queueOrder([drillCritical, handled, handledCritical, waiting])), ids([waiting, handledCritical, handled, drillCritical]));
  });

  test("the queue's index moves an alert whose priority changed, as a full sort would place it", () => {
    const first = alert({}, 10);
    const second = alert({}, 5);
    const index = new QueueIndex();
    index.rebuild([first, second], new Set());
    assert.deepEqual(ids(index.ordered(false)), ids([first, second]));
    index.put({ ...second, priority: "high" }, new Set());
    assert.deepEqual(ids(index.ordered(false)), ids([second, first]));
    assert.deepEqual(index.sectionCounts(), [0, 2, 0, 0]);
  });
});

describe("linked alerts", () => {
  test("picked alerts in no incident become a new one; with one incident among them the others join it", () => {
    const [a, b, c] = [alert(), alert(), alert({ incident_id: "inc-1" })];
    assert.deepEqual(linkPlan([a, b]), { incidentId: null, alertIds: [a.id, b.id] });
    assert.deepEqual(linkPlan([a, c]), { incidentId: "inc-1", alertIds: [a.id] });
  });

  test("one alert alone, or alerts of two incidents, are refused before asking the server", () => {
    assert.deepEqual(linkPlan([alert()]), { error: "incident.too_few" });
    const two = [alert({ incident_id: "inc-1" }), alert({ incident_id: "inc-2" })];
    assert.deepEqual(linkPlan(two), { error: "incident.already_linked" });
  });

  test("the queue grouped by incident shows each incident's alerts together, those in none last", () => {
    const alone = [alert(), alert(), alert()];
    const fight = [alert({ incident_id: "inc-1" }, 3), alert({ incident_id: "inc-1" }, 2)];
    const fire = [alert({ incident_id: "inc-2" })];
    const ordered = queueOrder([...alone, ...fight, ...fire]);
    const groups = grouped(ordered, "incident");
    assert.deepEqual(
      groups.map((g) => [g.key, g.count]),
      [
        ["inc-1", 2],
        ["inc-2", 1],
        ["none", 3],
      ],
    );
    assert.deepEqual(ids(groups[0].alerts), ids(fight));
    assert.deepEqual([...incidentSizes(ordered)], [["inc-1", 2], ["inc-2", 1]]);
  });
});
