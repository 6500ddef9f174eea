// The outbox: every SOS press is written here (IndexedDB) before the phone touches the network, and stays until
// the server confirms it (201, or 200 for a retry of the same press). The alert id is made on the phone, so sending
// the same row again can never make a second alert. Positions measured during an alert wait here too.
//
// This file is loaded two ways: as a classic script by the service worker (importScripts; /sw.js is a classic
// worker because every app registers it) and as an ES module by the page (outbox.js). So it has no import or
// export and publishes itself as globalThis.SiagaOutbox. It must not touch the DOM or localStorage.
(() => {
  "use strict";

  const DB_NAME = "siaga-resident";
  const DB_VERSION = 1;
  const PRESSES = "presses"; // one row per SOS press, keyed by the alert id the phone made
  const POINTS = "points"; // positions waiting to be sent, in the order they were measured
  const LOCK = "siaga-outbox";
  const CHANNEL = "siaga-outbox";
  const REQUEST_TIMEOUT_MS = 15000;
  const MAX_POINTS_PER_REQUEST = 100; // the API's limit per batch
  // Answers that no retry can change. Everything else (no network, timeouts, 5xx, 429) is retried.
  const FINAL = new Set([400, 401, 403, 409, 413, 422]);

  // Storage --------------------------------------------------------------------------------------------------

  let opening = null;

  function openDb() {
    if (opening) return opening;
    opening = new Promise((resolve, reject) => {
      const request = indexedDB.open(DB_NAME, DB_VERSION);
      request.onupgradeneeded = () => {
        const db = request.result;
        if (!db.objectStoreNames.contains(PRESSES)) db.createObjectStore(PRESSES, { keyPath: "id" });
        if (!db.objectStoreNames.contains(POINTS)) {
          db.createObjectStore(POINTS, { keyPath: "seq", autoIncrement: true }).createIndex("alert", "alertId");
        }
      };
      request.onsuccess = () => {
        const db = request.result;
        // A newer version opened elsewhere (another tab, the worker) must not be blocked by this one.
        db.onversionchange = () => {
          db.close();
          opening = null;
        };
        resolve(db);
      };
      request.onerror = () => {
        opening = null;
        reject(request.error);
      };
    });
    return opening;
  }

  function done(request) {
    return new Promise((resolve, reject) => {
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
  }

  /** Run `work(stores)` in one transaction; resolve once committed ("strict": on disk, where the browser can). */
  async function transact(names, mode, work) {
    const db = await openDb();
    const tx = db.transaction(names, mode, mode === "readwrite" ? { durability: "strict" } : undefined);
    const stores = Object.fromEntries([names].flat().map((name) => [name, tx.objectStore(name)]));
    const committed = new Promise((resolve, reject) => {
      tx.oncomplete = resolve;
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error || new Error("transaction aborted"));
    });
    const result = await work(stores);
    await committed;
    return result;
  }

  // Telling the others -----------------------------------------------------------------------------------------

  /** Tell every open page (and the worker) that the outbox changed. */
  function announce(detail) {
    if (typeof BroadcastChannel === "undefined") return;
    const channel = new BroadcastChannel(CHANNEL);
    channel.postMessage(detail);
    channel.close();
  }

  /** Hear changes made by any tab or by the service worker. Returns a function that stops listening. */
  function onOutboxChange(handler) {
    if (typeof BroadcastChannel === "undefined") return () => {};
    const channel = new BroadcastChannel(CHANNEL);
    channel.onmessage = (event) => handler(event.data);
    return () => channel.close();
  }

  // Presses ------------------------------------------------------------------------------------------------------

  function newRow(fields) {
    return {
      body: null,
      state: "pending", // pending | delivered | failed
      createdAt: Date.now(),
      attempts: 0,
      lastAttemptAt: null,
      lastError: null,
      deliveredAt: null,
      view: null, // the server's answer: the resident's view of the alert
      tracking: true, // share positions for this alert until the server says it is closed
      dismissed: false,
      ...fields,
    };
  }

  /** Keep a press. Resolves once it is durably stored; only then may anything try to send it. */
  async function addPress({ body, token }) {
    const row = newRow({ id: body.id, body, token });
    await transact(PRESSES, "readwrite", (s) => done(s[PRESSES].put(row)));
    announce({ type: "press", id: row.id });
    return row;
  }

  async function allPresses() {
    const rows = await transact(PRESSES, "readonly", (s) => done(s[PRESSES].getAll()));
    return rows.sort((a, b) => a.createdAt - b.createdAt);
  }

  function readPress(id) {
    return transact(PRESSES, "readonly", (s) => done(s[PRESSES].get(id)));
  }

  /** Change a stored press; read and written in one transaction, so a concurrent change is not lost. */
  async function updatePress(id, changes) {
    const row = await transact(PRESSES, "readwrite", async (s) => {
      const current = await done(s[PRESSES].get(id));
      if (!current) return null;
      const next = { ...current, ...(typeof changes === "function" ? changes(current) : changes) };
      await done(s[PRESSES].put(next));
      return next;
    });
    if (row) announce({ type: "press", id });
    return row;
  }

  /** Put away a press the resident is done with. An undelivered one is never dropped. */
  async function forgetPress(id) {
    await transact(PRESSES, "readwrite", async (s) => {
      const row = await done(s[PRESSES].get(id));
      if (!row || row.state === "pending") return;
      // Still sharing its position (the server may want it after a duress PIN): keep it, off screen.
      if (row.tracking) await done(s[PRESSES].put({ ...row, dismissed: true }));
      else await done(s[PRESSES].delete(id));
    });
    announce({ type: "press", id });
  }

  /** After the resident verified their number again: waiting presses, and those refused for their session, use
   * the new session. */
  async function adoptToken(token) {
    for (const row of await allPresses()) {
      if (row.state === "pending" || (row.state === "failed" && row.lastError?.status === 401)) {
        await updatePress(row.id, { token, state: "pending", lastError: null });
      }
    }
  }

  /** Follow an open alert this phone did not press (another phone, or before its storage was cleared). */
  async function adoptAlert(view, token) {
    const row = newRow({ id: view.id, token, state: "delivered", deliveredAt: Date.now(), view });
    row.createdAt = Date.parse(view.created_at) || Date.now();
    await transact(PRESSES, "readwrite", async (s) => {
      if (!(await done(s[PRESSES].get(row.id)))) await done(s[PRESSES].put(row));
    });
    announce({ type: "press", id: row.id });
  }

  /** Try a refused press again (the resident asked to). */
  function retryPress(id) {
    return updatePress(id, { state: "pending", lastError: null });
  }

  // Positions ------------------------------------------------------------------------------------------------------

  function addPoint(alertId, point) {
    return transact(POINTS, "readwrite", (s) => done(s[POINTS].put({ alertId, point })));
  }

  function pointsWaiting() {
    return transact(POINTS, "readonly", (s) => done(s[POINTS].getAll()));
  }

  function dropPoints(points) {
    return transact(POINTS, "readwrite", async (s) => {
      for (const p of points) await done(s[POINTS].delete(p.seq));
    });
  }

  // Delivery -----------------------------------------------------------------------------------------------------

  /** POST JSON to the API. Resolves with {status, data}; status 0 means no answer (offline, timeout). */
  async function post(path, body, token) {
    const signal = AbortSignal.timeout ? AbortSignal.timeout(REQUEST_TIMEOUT_MS) : undefined;
    let response;
    try {
      response = await fetch(`/api/v1${path}`, {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json", Authorization: `Bearer ${token}` },
        body: JSON.stringify(body),
        signal,
      });
    } catch (error) {
      return { status: 0, data: null, error: { code: "network", message: String(error?.message || error) } };
    }
    const data = await response.json().catch(() => null);
    const error = response.ok
      ? null
      : {
          code: data?.error?.code || `http_${response.status}`,
          message: data?.error?.message || "",
          details: data?.error?.details || {},
        };
    return { status: response.status, data, error };
  }

  async function sendPress(row) {
    const answer = await post("/alerts", row.body, row.token);
    const delivered = answer.status === 200 || answer.status === 201;
    return updatePress(row.id, (current) => ({
      state: delivered ? "delivered" : FINAL.has(answer.status) ? "failed" : "pending",
      attempts: current.attempts + 1,
      lastAttemptAt: Date.now(),
      lastError: delivered ? null : { status: answer.status, ...answer.error },
      ...(delivered ? { deliveredAt: Date.now(), view: answer.data } : {}),
    }));
  }

  /** Send one alert's waiting positions, 100 at a time. Resolves false if they must wait for the network. */
  async function sendPoints(row, points) {
    for (let start = 0; start < points.length; start += MAX_POINTS_PER_REQUEST) {
      const batch = points.slice(start, start + MAX_POINTS_PER_REQUEST);
      const answer = await post(`/alerts/${row.id}/locations`, { points: batch.map((p) => p.point) }, row.token);
      if (answer.status === 0 || answer.status >= 500 || answer.status === 429 || answer.status === 408) return false;
      if (answer.status >= 400) {
        // Closed (409), gone (404) or not ours: the alert's position is no longer shared; drop what waits.
        await dropPoints(points.slice(start));
        await updatePress(row.id, { tracking: false });
        return true;
      }
      await dropPoints(batch);
    }
    return true;
  }

  // One delivery at a time across tabs and the worker, so two of them do not send the same row at once (the server
  // would still keep one alert, but attempts would be counted twice).
  function exclusively(work) {
    if (globalThis.navigator?.locks) return navigator.locks.request(LOCK, work);
    return work();
  }

  /**
   * Deliver what waits: presses first (a position needs its alert on the server), then positions. Resolves with
   * what is left, so the caller can decide when to try again.
   */
  function deliverAll() {
    return exclusively(async () => {
      let pending = 0;
      let failed = 0;
      for (const row of await allPresses()) {
        if (row.state !== "pending") continue;
        if (!row.body.location && !row.located) {
          pending += 1; // still locating (press.js); it goes once it has a position or has given up on one
          continue;
        }
        const after = await sendPress(row);
        if (after?.state === "pending") pending += 1;
        if (after?.state === "failed") failed += 1;
      }
      let pointsLeft = 0;
      const byAlert = new Map();
      for (const p of await pointsWaiting()) byAlert.set(p.alertId, [...(byAlert.get(p.alertId) || []), p]);
      for (const [alertId, points] of byAlert) {
        const row = await readPress(alertId);
        if (row?.state === "pending") {
          pointsLeft += points.length; // its alert is not on the server yet
        } else if (!row || row.state === "failed" || !row.tracking) {
          await dropPoints(points);
        } else if (!(await sendPoints(row, points))) {
          pointsLeft += points.length;
        }
      }
      return { pending, failed, pointsLeft };
    });
  }

  globalThis.SiagaOutbox = Object.freeze({
    addPress,
    allPresses,
    readPress,
    updatePress,
    forgetPress,
    adoptToken,
    adoptAlert,
    retryPress,
    addPoint,
    pointsWaiting,
    deliverAll,
    onOutboxChange,
  });
})();
