// An outbox for actions taken on a bad network (the officer's accept, steps, resolve and notes). It follows the
// resident's press outbox (resident/outbox-core.js, a classic script because the service worker loads it too): each
// action is written to IndexedDB before the network is touched, and stays there until the server confirms it. Each
// is named by a key made on the phone and sent as Idempotency-Key; the server applies a key once, so sending again
// after a lost answer is harmless. It is sent again after no answer, a timeout, 5xx or 429, sooner when the browser
// comes back online. An answer no retry can change is kept as a failure for the person to see, retry or discard.
import { ApiError } from "./api.js";

const STORE = "actions";
const FINAL = new Set([400, 403, 404, 409, 413, 422]); // as the press outbox's, 401 aside: that waits for a new login
const REQUEST_TIMEOUT_MS = 15000;
const BACKOFF_MS = [1000, 2000, 4000, 8000, 15000];

function done(request) {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

function openDb(name) {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(name, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE, { keyPath: "id" });
    request.onsuccess = () => {
      request.result.onversionchange = () => request.result.close();
      resolve(request.result);
    };
    request.onerror = () => reject(request.error);
  });
}

/** POST JSON under the action's key. Resolves {status, data, error}; status 0 means no answer (offline, timeout). */
async function post(row, token) {
  const signal = AbortSignal.timeout ? AbortSignal.timeout(REQUEST_TIMEOUT_MS) : undefined;
  let response;
  try {
    response = await fetch(`/api/v1${row.path}`, {
      method: "POST",
      headers: {
        "Content-Type": "application/json",
        Accept: "application/json",
        Authorization: `Bearer ${token}`,
        "Idempotency-Key": row.id,
        // How long ago the officer tapped it, by this phone's clock: the server dates the action then.
        "Action-Age-Ms": String(Math.max(0, Date.now() - row.createdAt)),
      },
      body: JSON.stringify(row.body ?? {}),
      signal,
    });
  } catch (error) {
    return { status: 0, data: null, error: { code: "network", message: String(error?.message || error) } };
  }
  const data = await response.json().catch(() => null);
  if (response.ok) return { status: response.status, data, error: null };
  const error = data?.error || {};
  return {
    status: response.status,
    data,
    error: { code: error.code || `http_${response.status}`, message: error.message || "", details: error.details || {} },
  };
}

/** A stored failure as the error the apps already know how to word (errorText). */
export function failureOf(row) {
  const e = row.lastError || {};
  return new ApiError(e.status ?? 0, e.code || "network", e.message || "", e.details || {});
}

export class Outbox {
  /**
   * @param {string} dbName the IndexedDB database (one per app)
   * @param {{owner: string, token: () => string, onChange: (rows) => void, onDelivered: (row, data) => void,
   *   onFailed: (row) => void, onExpired: () => void}} options rows belong to `owner` (the signed-in account)
   */
  constructor(dbName, options) {
    this.dbName = dbName;
    this.options = options;
    this.rows = [];
    this.answers = new Map(); // row id -> the server's answer, for the submit() waiting for it (see awaited)
    this.awaited = new Set();
    this.attempt = 0;
  }

  async start() {
    try {
      this.db = await openDb(this.dbName);
    } catch {
      this.db = null; // no storage here (a private window): actions are still retried while the page is open
    }
    const stored = this.db ? await this.transact("readonly", (store) => done(store.getAll())) : [];
    this.rows = stored.filter((row) => row.owner === this.options.owner).sort((a, b) => a.createdAt - b.createdAt);
    this.online = () => this.deliver();
    addEventListener("online", this.online);
    this.changed();
    this.deliver();
    return this;
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    removeEventListener("online", this.online);
    this.db?.close();
  }

  async transact(mode, work) {
    const tx = this.db.transaction(STORE, mode, mode === "readwrite" ? { durability: "strict" } : undefined);
    const committed = new Promise((resolve, reject) => {
      tx.oncomplete = resolve;
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error || new Error("transaction aborted"));
    });
    const result = await work(tx.objectStore(STORE));
    await committed;
    return result;
  }

  changed() {
    if (!this.stopped) this.options.onChange([...this.rows]);
  }

  async put(row) {
    if (this.db) await this.transact("readwrite", (store) => done(store.put(row)));
    this.rows = [...this.rows.filter((r) => r.id !== row.id), row].sort((a, b) => a.createdAt - b.createdAt);
    this.changed();
    return row;
  }

  async remove(id) {
    if (this.db) await this.transact("readwrite", (store) => done(store.delete(id)));
    this.rows = this.rows.filter((r) => r.id !== id);
    this.changed();
  }

  /**
   * Keep an action, then send it. Resolves once it is stored and the first attempt has an outcome: the row, with
   * `state` "delivered" (and `data`, the server's answer), "failed" or "pending" (it will be sent again).
   */
  async submit({ kind, path, body, alertId = null, alert = null, ref = null }) {
    const row = {
      id: crypto.randomUUID(),
      owner: this.options.owner,
      kind,
      path,
      body,
      alertId,
      alert, // what the screen needs to name it while it waits (category, place)
      ref, // the app's own reference (an offer id)
      state: "pending",
      attempts: 0,
      lastError: null,
      createdAt: Date.now(),
    };
    await this.put(row);
    this.awaited.add(row.id);
    try {
      await this.deliver();
    } finally {
      this.awaited.delete(row.id);
    }
    const after = this.rows.find((r) => r.id === row.id);
    const data = this.answers.get(row.id);
    this.answers.delete(row.id);
    return after || { ...row, state: "delivered", data };
  }

  /** Send a failed action again (the person asked to). */
  async retry(id) {
    const row = this.rows.find((r) => r.id === id);
    if (!row) return;
    await this.put({ ...row, state: "pending", lastError: null });
    this.deliver();
  }

  /** Give up on a failed action (the person read why). A waiting one is never dropped. */
  async discard(id) {
    const row = this.rows.find((r) => r.id === id);
    if (row && row.state === "failed") await this.remove(id);
  }

  /** Send what waits, oldest first (an alert's steps in the order they were taken). Resolves when nothing more
   * can be sent now; a call during a pass makes another pass, and waits for it too. */
  deliver() {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      do {
        this.again = false;
        await this.deliverOnce();
      } while (this.again && !this.stopped);
    })().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  async deliverOnce() {
    clearTimeout(this.timer);
    for (const row of this.rows.filter((r) => r.state === "pending")) {
      if (this.stopped) return;
      const answer = await post(row, this.options.token());
      if (this.stopped) return; // signed out meanwhile: the row stays stored, and the next start sends it again
      const attempts = row.attempts + 1;
      const lastError = answer.error ? { status: answer.status, ...answer.error } : null;
      if (answer.status >= 200 && answer.status < 300) {
        await this.remove(row.id);
        if (this.awaited.has(row.id)) this.answers.set(row.id, answer.data);
        this.attempt = 0;
        this.options.onDelivered({ ...row, attempts, state: "delivered" }, answer.data);
        continue;
      }
      if (FINAL.has(answer.status)) {
        const failed = await this.put({ ...row, attempts, lastError, state: "failed" });
        this.options.onFailed(failed);
        continue;
      }
      await this.put({ ...row, attempts, lastError });
      if (answer.status === 401) {
        this.options.onExpired(); // kept: sent once the officer has signed in again
        return;
      }
      // No answer, or the server is struggling: everything behind it would fare the same. Try again soon.
      this.timer = setTimeout(() => this.deliver(), BACKOFF_MS[Math.min(this.attempt, BACKOFF_MS.length - 1)]);
      this.attempt += 1;
      return;
    }
  }
}
