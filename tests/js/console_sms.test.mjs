// The SMS on an alert's timeline (src/siaga/web/static/console/sms.js): each message one row where it was first
// recorded, showing what became of it since; its failures stay rows of their own. Run with `node --test tests/js/`;
// tests/unit/test_js.py runs it under pytest.
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { foldSms } from "../../src/siaga/web/static/console/sms.js";

let serial = 0;
function event(kind, data = {}) {
  serial += 1;
  return { id: serial, kind, data };
}
const received = (status = "received") =>
  event("sms", { message: "in:7", direction: "in", number: "+62812****7890", purpose: "sos", status });
const reply = (status, more = {}) =>
  event("sms", { message: "out:9", direction: "out", number: "+62812****7890", purpose: "sms_reply", status, ...more });
const failure = (final, attempt) =>
  event("delivery_failed", { message: "out:9", channel: "sms", attempt, final, error: "absent subscriber" });

describe("an alert's SMS on its timeline", () => {
  test("is one row per message, showing its latest state", () => {
    const created = event("created", { category: "lainnya" });
    const rows = foldSms([created, received(), reply("sent"), reply("delivered")]);
    assert.deepEqual(
      rows.map((row) => [row.kind, row.data.message ?? null, row.data.status ?? null]),
      [
        ["created", null, null],
        ["sms", "in:7", "received"],
        ["sms", "out:9", "delivered"],
      ],
    );
  });

  test("shows a failure on its message's row, and keeps the failure as a row of its own", () => {
    const first = failure(false, 1);
    const rows = foldSms([received(), reply("sent"), first]);
    assert.deepEqual(
      rows.map((row) => [row.kind, row.data.status ?? null]),
      [
        ["sms", "received"],
        ["sms", "retrying"],
        ["delivery_failed", null],
      ],
    );
    assert.equal(rows[1].data.error, "absent subscriber");
    const last = failure(true, 6);
    assert.equal(foldSms([reply("sent"), first, last])[0].data.status, "failed");
  });

  test("shows a message sent after all once a retry got through", () => {
    const rows = foldSms([reply("sent", { attempt: 1 }), failure(false, 1), reply("sent", { attempt: 2 })]);
    assert.deepEqual(
      rows.map((row) => [row.kind, row.data.status ?? null, row.data.attempt ?? null]),
      [
        ["sms", "sent", 1],
        ["delivery_failed", null, 1],
      ],
    );
    assert.equal(rows[0].data.error, "");
  });

  test("leaves every other event as it is", () => {
    const note = event("note", { text: "called back" });
    const push = event("delivery_failed", { channel: "push", attempt: 1, final: false });
    assert.deepEqual(foldSms([note, push]), [note, push]);
  });
});
