// Which picked alerts the console's bulk bar acts on (src/siaga/web/static/console/handles.js): only those the
// reader's agency handles; those it is only informed of are named and left out. Run with `node --test tests/js/`;
// tests/unit/test_js.py runs it under pytest.
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { mayAct, splitPicked } from "../../src/siaga/web/static/console/handles.js";

function alerts(...rows) {
  return new Map(rows.map((row) => [row.id, row]));
}

describe("the bulk bar's picked alerts", () => {
  test("an informed agency's alerts are left out of the actions and counted apart", () => {
    const store = alerts(
      { id: "fire", may_act: false }, // Damkar's kebakaran the police are informed of
      { id: "theft", may_act: true },
      { id: "fight", may_act: true },
    );
    assert.deepEqual(splitPicked(["fire", "theft", "fight"], store), {
      handled: ["theft", "fight"],
      informedOnly: ["fire"],
    });
  });

  test("with only informed alerts picked, nothing is acted on", () => {
    const store = alerts({ id: "fire", may_act: false }, { id: "flood", may_act: false });
    assert.deepEqual(splitPicked(["fire", "flood"], store), { handled: [], informedOnly: ["fire", "flood"] });
  });

  test("an alert gone from the queue is neither, and one without may_act (an older server) is handled", () => {
    const store = alerts({ id: "old" });
    assert.deepEqual(splitPicked(["old", "gone"], store), { handled: ["old"], informedOnly: [] });
    assert.equal(mayAct({}), true);
    assert.equal(mayAct({ may_act: false }), false);
  });
});
