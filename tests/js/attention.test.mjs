// The console's attention model (src/siaga/web/static/console/attention.js): what needs a person now, and in what
// order. Run with `node --test tests/js/`; tests/unit/test_js.py runs it under pytest.
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import {
  awaitsOperator,
  backgroundTitle,
  bannerGroups,
  notifies,
  queueOrder,
  sectionOf,
  taken,
  waitingReal,
} from "../../src/siaga/web/static/console/attention.js";

let serial = 0;

// An open alert as the console stream summarises it, pressed `minutesAgo` minutes before 08:00.
function alert(fields = {}, minutesAgo = 0) {
  serial += 1;
  return {
    id: `a${String(serial).padStart(3, "0")}`,
    state: "new",
    category: "kriminalitas",
    priority: "normal",
    silent: false,
    duress: false,
    escalated: false,
    resident_suspended: false,
    is_exercise: false,
    delivery_failed: false,
    unit_id: null,
    acknowledged_at: null,
    created_at: new Date(Date.UTC(2026, 11, 3, 8, 0) - minutesAgo * 60_000).toISOString(),
    ...fields,
  };
}

const acknowledged = { state: "acknowledged", acknowledged_at: "2026-12-03T07:59:00Z" };
const acceptedByOfficer = { state: "en_route", unit_id: 7 };
const escalatedDrill = { is_exercise: true, escalated: true, state: "en_route", unit_id: 3 };

function item(target, kind, fields = {}) {
  return { key: `${target.id}:${kind}`, alertId: target.id, kind, reason: "", at: target.created_at, ...fields };
}

const ids = (alerts) => alerts.map((a) => a.id);
const byId = (...alerts) => new Map(alerts.map((a) => [a.id, a]));

describe("who has an alert", () => {
  test("an operator's acknowledgement or an officer's acceptance takes it; a press alone does not", () => {
    assert.equal(taken(alert()), false);
    assert.equal(taken(alert(acknowledged)), true);
    assert.equal(taken(alert(acceptedByOfficer)), true);
  });

  test("an officer's alert that no operator acknowledged awaits an operator, as the stream says", () => {
    assert.equal(awaitsOperator(alert(acceptedByOfficer)), true);
    assert.equal(awaitsOperator(alert({ ...acceptedByOfficer, ...acknowledged, state: "en_route" })), false);
    assert.equal(awaitsOperator(alert()), false);
    assert.equal(awaitsOperator(alert({ ...acceptedByOfficer, awaiting_operator: false })), false);
  });

  test("sections: duress and waiting are real and untaken, handled is real and taken, drills are drills", () => {
    assert.equal(sectionOf(alert({ duress: true, escalated: true })), "duress");
    assert.equal(sectionOf(alert()), "waiting");
    assert.equal(sectionOf(alert({ escalated: true })), "waiting");
    assert.equal(sectionOf(alert(acceptedByOfficer)), "handled");
    assert.equal(sectionOf(alert({ ...acknowledged, duress: true })), "handled");
    assert.equal(sectionOf(alert({ is_exercise: true, duress: true })), "drills");
  });
});

describe("the queue", () => {
  test("a real press comes before twenty escalated drills, whatever their age", () => {
    const drills = Array.from({ length: 20 }, (_, n) => alert(escalatedDrill, 30 - n));
    const press = alert({}, 0);
    const order = queueOrder([...drills, press]);
    assert.equal(order[0].id, press.id);
    assert.deepEqual(ids(order.slice(1)), ids(drills));
  });

  test("duress first, then real alerts nobody has taken oldest first, then handled ones, then drills", () => {
    const handledOld = alert(acknowledged, 50);
    const drillNew = alert({ is_exercise: true }, 40);
    const waitingYoung = alert({}, 1);
    const waitingOld = alert({ escalated: true }, 5);
    const duress = alert({ duress: true, escalated: true, priority: "critical" }, 0);
    const officerHasIt = alert(acceptedByOfficer, 60);
    const order = queueOrder([handledOld, drillNew, waitingYoung, waitingOld, duress, officerHasIt]);
    assert.deepEqual(ids(order), ids([duress, waitingOld, waitingYoung, officerHasIt, handledOld, drillNew]));
  });

  test("among handled alerts, duress and unseen flags come first; a flag marked seen no longer lifts its alert", () => {
    const quiet = alert(acknowledged, 30);
    const failed = alert({ ...acknowledged, delivery_failed: true }, 10);
    const duress = alert({ ...acceptedByOfficer, duress: true }, 5);
    assert.deepEqual(ids(queueOrder([quiet, failed, duress], { flagged: new Set([failed.id]) })), ids([duress, failed, quiet]));
    assert.deepEqual(ids(queueOrder([quiet, failed, duress], { flagged: new Set() })), ids([duress, quiet, failed]));
  });

  test("drills follow the same rules among themselves", () => {
    const handled = alert({ ...escalatedDrill }, 30);
    const waiting = alert({ is_exercise: true }, 2);
    const duress = alert({ is_exercise: true, duress: true }, 1);
    assert.deepEqual(ids(queueOrder([handled, waiting, duress])), ids([duress, waiting, handled]));
  });

  test("one switch hides every drill and nothing real", () => {
    const real = [alert(), alert(acknowledged), alert({ duress: true })];
    const drills = [alert({ is_exercise: true }), alert(escalatedDrill)];
    const shown = queueOrder([...drills, ...real], { hideDrills: true });
    assert.deepEqual(new Set(ids(shown)), new Set(ids(real)));
  });

  test("equal ages keep a stable order by id", () => {
    const a = alert({}, 3);
    const b = { ...alert({}, 0), created_at: a.created_at };
    assert.deepEqual(ids(queueOrder([b, a])), ids([a, b]));
  });
});

describe("the banner", () => {
  test("a real press leads, as its own group, ahead of many escalated drills grouped as one", () => {
    const drills = Array.from({ length: 32 }, (_, n) => alert(escalatedDrill, 40 - n));
    const press = alert({}, 0);
    const items = drills.map((d) => item(d, "escalated", { reason: "not_acknowledged" }));
    const groups = bannerGroups(byId(...drills, press), items);
    assert.deepEqual(
      groups.map((g) => [g.kind, g.exercise, g.items.length]),
      [
        ["new", false, 1],
        ["escalated", true, 32],
      ],
    );
    assert.equal(groups[0].items[0].alertId, press.id);
    assert.equal(groups[0].dismissible, false);
    assert.equal(groups[1].dismissible, true);
  });

  test("real groups by seriousness, then drill groups; the drills switch removes the drill groups", () => {
    const duress = alert({ duress: true, escalated: true }, 3);
    const waiting = alert({}, 9);
    const failed = alert({ ...acknowledged, delivery_failed: true }, 20);
    const escalated = alert({ ...acknowledged, escalated: true }, 15);
    const drill = alert(escalatedDrill, 30);
    const alerts = byId(duress, waiting, failed, escalated, drill);
    const items = [
      item(failed, "delivery_failed", { reason: "sms" }),
      item(drill, "escalated"),
      item(escalated, "escalated"),
      item(duress, "duress"),
    ];
    const kinds = (groups) => groups.map((g) => `${g.exercise ? "drill " : ""}${g.kind}`);
    assert.deepEqual(kinds(bannerGroups(alerts, items)), [
      "duress",
      "new",
      "escalated",
      "delivery_failed",
      "drill escalated",
    ]);
    assert.deepEqual(kinds(bannerGroups(alerts, items, { hideDrills: true })), [
      "duress",
      "new",
      "escalated",
      "delivery_failed",
    ]);
    // The waiting duress alert is announced by its duress item, not twice.
    const fresh = bannerGroups(alerts, items).find((g) => g.kind === "new");
    assert.deepEqual(fresh.items.map((i) => i.alertId), [waiting.id]);
  });

  test("a resident's reply is its own group below escalations, and lifts its alert only among the handled", () => {
    const waiting = alert({}, 1);
    const replied = alert({ ...acknowledged }, 2);
    const quiet = alert({ ...acknowledged }, 9);
    const escalated = alert({ ...acknowledged, escalated: true }, 5);
    const suspended = alert({ ...acknowledged, resident_suspended: true }, 6);
    const alerts = byId(waiting, replied, quiet, escalated, suspended);
    const items = [
      item(suspended, "suspended"),
      item(replied, "reply", { reason: "Saya sembunyi di kamar mandi" }),
      item(escalated, "escalated"),
    ];
    const groups = bannerGroups(alerts, items);
    assert.deepEqual(groups.map((g) => g.kind), ["new", "escalated", "reply", "suspended"]);
    const reply = groups.find((g) => g.kind === "reply");
    assert.equal(reply.dismissible, true);
    assert.equal(reply.first.alertId, replied.id);
    // Unseen, the reply lifts its alert above an older handled one; never above the alert nobody has taken.
    const order = ids(queueOrder(alerts.values(), { flagged: new Set([replied.id]) }));
    assert.equal(order[0], waiting.id);
    assert.ok(order.indexOf(replied.id) < order.indexOf(quiet.id));
    assert.ok(ids(queueOrder(alerts.values())).indexOf(replied.id) > ids(queueOrder(alerts.values())).indexOf(quiet.id));
  });

  test("a duress alert whose item was marked seen still waits in the new group until someone takes it", () => {
    const duress = alert({ duress: true, escalated: true }, 3);
    const groups = bannerGroups(byId(duress), []);
    assert.deepEqual(groups.map((g) => [g.kind, g.items[0].alertId]), [["new", duress.id]]);
    assert.deepEqual(bannerGroups(byId({ ...duress, ...acknowledged }), []), []);
  });

  test("a group's items follow the queue; items of closed alerts come last, newest first", () => {
    const younger = alert({ ...acknowledged, escalated: true }, 1);
    const older = alert({ ...acknowledged, escalated: true }, 8);
    const closedEarly = { key: "x:escalated", alertId: "x", kind: "escalated", reason: "", at: "2026-12-03T07:00:00Z" };
    const closedLate = { key: "y:escalated", alertId: "y", kind: "escalated", reason: "", at: "2026-12-03T07:30:00Z" };
    const [group] = bannerGroups(byId(younger, older), [
      closedEarly,
      item(younger, "escalated"),
      closedLate,
      item(older, "escalated"),
    ]);
    assert.deepEqual(group.items.map((i) => i.alertId), [older.id, younger.id, "y", "x"]);
  });

  test("an item of a closed drill stays with the drills", () => {
    const closed = { key: "z:delivery_failed", alertId: "z", kind: "delivery_failed", at: "2026-12-03T07:00:00Z" };
    const groups = bannerGroups(new Map(), [{ ...closed, exercise: true }]);
    assert.deepEqual(groups.map((g) => [g.kind, g.exercise]), [["delivery_failed", true]]);
    assert.deepEqual(bannerGroups(new Map(), [{ ...closed, exercise: true }], { hideDrills: true }), []);
  });

  test("nothing to say, no groups", () => {
    assert.deepEqual(bannerGroups(byId(alert(acknowledged), alert({ is_exercise: true })), []), []);
  });
});

describe("a console in a background tab", () => {
  test("its title counts the real alerts nobody has taken, only while hidden", () => {
    const alerts = [alert(), alert({ duress: true }), alert(acknowledged), alert({ is_exercise: true })];
    assert.deepEqual(backgroundTitle(alerts, true), { waiting: 2 });
    assert.equal(backgroundTitle(alerts, false), null);
    assert.equal(backgroundTitle([alert(acknowledged), alert({ is_exercise: true })], true), null);
    assert.deepEqual(ids(waitingReal(alerts)), ids([alerts[1], alerts[0]]));
  });

  test("a real press or duress PIN notifies while hidden; drills and other events do not", () => {
    const real = alert();
    assert.equal(notifies({ kind: "created" }, real, true), true);
    assert.equal(notifies({ kind: "duress" }, real, true), true);
    assert.equal(notifies({ kind: "created" }, real, false), false);
    assert.equal(notifies({ kind: "created" }, alert({ is_exercise: true }), true), false);
    assert.equal(notifies({ kind: "note" }, real, true), false);
  });
});
