// The resident app's SOS SMS (src/siaga/web/static/resident/sms.js) is the server's format to the character: the
// line below is the one tests/unit/test_sms_sos_message.py pins for the same press and key, so what the app writes
// the server reads and verifies. Run with `node --test tests/js/`; tests/unit/test_js.py runs it under pytest.
import assert from "node:assert/strict";
import { describe, test } from "node:test";

const stored = new Map();
globalThis.localStorage = {
  getItem: (key) => (stored.has(key) ? stored.get(key) : null),
  setItem: (key, value) => stored.set(key, String(value)),
  removeItem: (key) => stored.delete(key),
};

const { composeSms, keepSmsKey, smsKey, smsLink } = await import("../../src/siaga/web/static/resident/sms.js");

const KEY = "Q2hhbmdlIG1lOiB0aGlzIGlzIGEgdGVzdCBrZXkgb25seQ";
const PRESS = {
  id: "0c8f1d2e-3a4b-4c5d-8e6f-7a8b9c0d1e2f",
  category: "kecelakaan",
  silent: false,
  pressed_at: "2026-12-04T12:00:05.412Z",
  location: { lat: -6.91474, lon: 107.60981, accuracy_m: 25.2 },
};

describe("the SOS SMS", () => {
  test("is the server's line for the same press and key", async () => {
    assert.equal(
      await composeSms(PRESS, KEY),
      "SIAGA1 BSHR2LR2JNGF3DTPPKFZYDI6F4 -6.91474 107.60981 25 1796385605 KEC 7JSRHJ4EIPMOAJTY",
    );
  });

  test("marks a silent press, as the server reads it", async () => {
    assert.equal(
      await composeSms({ ...PRESS, silent: true }, KEY),
      "SIAGA1 BSHR2LR2JNGF3DTPPKFZYDI6F4 -6.91474 107.60981 25 1796385605 KECS YAIHABDXOIXTLKQV",
    );
  });

  test("says when there is no fix, and goes unsigned without a key", async () => {
    const text = await composeSms({ ...PRESS, location: null }, null);
    assert.equal(text, "SIAGA1 BSHR2LR2JNGF3DTPPKFZYDI6F4 - - - 1796385605 KEC AAAAAAAAAAAAAAAA");
  });

  test("fits one SMS with the longest numbers", async () => {
    const far = { ...PRESS, category: "bencana_alam", location: { lat: -89.123456, lon: -179.987654, accuracy_m: 1e9 } };
    const text = await composeSms(far, KEY);
    assert.ok(text.length <= 160, text);
    assert.match(text, / -89\.12346 -179\.98765 99999 \d+ BEN [A-Z2-7]{16}$/);
  });

  test("opens the composer on the centre's number with the message, in the form Android and iOS both read", () => {
    assert.equal(smsLink("+62 811-2000-112", "SIAGA1 A B"), "sms:+628112000112?&body=SIAGA1%20A%20B");
  });

  test("carries the whole message, however it is read", () => {
    const text = "SIAGA1 X -6.9 107.6 25 1796385605 KEC & ?body=no #x +1 100%\nMAC";
    const href = smsLink("+628112000112", text);
    const [number, query] = href.slice("sms:".length).split("?");
    assert.equal(number, "+628112000112");
    // Android (RFC 5724): the query's body parameter.
    assert.equal(new URLSearchParams(query).get("body"), text);
    // iOS 8 and later: what follows "&body=" after the number, up to the end.
    assert.ok(query.startsWith("&body="), query);
    assert.equal(decodeURIComponent(query.slice("&body=".length)), text);
  });

  test("keeps the key for its resident only", () => {
    keepSmsKey("r1", KEY);
    assert.equal(smsKey("r1"), KEY);
    assert.equal(smsKey("r2"), null);
  });
});
