// The apps' API call (src/siaga/web/static/js/api.js) on a stalled network: a request sent and never answered gives
// up and says there is no connection (status 0, code "network"), instead of leaving a button busy for ever.
// Run with `node --test tests/js/`; tests/unit/test_js.py runs it under pytest.
import assert from "node:assert/strict";
import { afterEach, test } from "node:test";

import { ApiError, api } from "../../src/siaga/web/static/js/api.js";

const realFetch = globalThis.fetch;
afterEach(() => {
  globalThis.fetch = realFetch;
});

/** A server that takes the request and never answers (it only lets go when the request is aborted). */
function stalled() {
  globalThis.fetch = (_url, { signal } = {}) =>
    new Promise((_resolve, reject) => {
      signal?.addEventListener("abort", () => reject(signal.reason ?? new DOMException("aborted", "AbortError")));
    });
}

test("a request nobody answers gives up as a network failure", async (t) => {
  stalled();
  const alive = setTimeout(() => {}, 10_000); // AbortSignal.timeout does not keep Node running by itself
  t.after(() => clearTimeout(alive));
  await assert.rejects(api("/alerts/1/acknowledge", { method: "POST", waitMs: 50 }), (error) => {
    assert.ok(error instanceof ApiError);
    assert.equal(error.status, 0);
    assert.equal(error.code, "network");
    return true;
  });
});

test("a request gives up by default too", async () => {
  let given = null;
  globalThis.fetch = (_url, options) => {
    given = options.signal;
    return Promise.resolve(new Response(JSON.stringify({ ok: true }), { status: 200 }));
  };
  assert.deepEqual(await api("/auth/me"), { ok: true });
  assert.ok(given, "the request was sent without any time limit");
});

test("a caller's own signal still cancels it", async () => {
  stalled();
  const controller = new AbortController();
  const call = api("/alerts", { signal: controller.signal, waitMs: 60_000 });
  controller.abort();
  await assert.rejects(call, (error) => error instanceof ApiError && error.status === 0);
});

test("no limit when asked (a large upload on a slow link)", async () => {
  let given = "unset";
  globalThis.fetch = (_url, options) => {
    given = options.signal;
    return Promise.resolve(new Response(null, { status: 204 }));
  };
  assert.equal(await api("/jurisdictions/import", { method: "POST", body: {}, waitMs: 0 }), null);
  assert.equal(given, undefined);
});
