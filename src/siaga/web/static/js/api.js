// Siaga's public HTTP API, as every app uses it. Errors carry the server's stable code and its message.

export class ApiError extends Error {
  constructor(status, code, message, details = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

/**
 * What the console, admin and reports apps keep in place of a token: their session's real token is in an HttpOnly
 * cookie of their own that no script of the page can read, so an injected script cannot carry it away. A request
 * names the app (X-Siaga-Session) and the browser sends the cookie.
 */
export function cookieSession(app) {
  return `cookie:${app}`;
}

function cookieApp(token) {
  return typeof token === "string" && token.startsWith("cookie:") ? token.slice("cookie:".length) : null;
}

/** The headers that authenticate a request made with `token`: a bearer token, or an app's cookie session. */
export function authHeaders(token) {
  const app = cookieApp(token);
  if (app) return { "X-Siaga-Session": app };
  return token ? { Authorization: `Bearer ${token}` } : {};
}

/** The session of one app (console, officer, resident, admin), kept in this browser's localStorage. */
export function session(app) {
  const key = `siaga.${app}.session`;
  return {
    get() {
      try {
        return JSON.parse(localStorage.getItem(key) || "null");
      } catch {
        return null;
      }
    },
    save(value) {
      localStorage.setItem(key, JSON.stringify(value));
    },
    clear() {
      localStorage.removeItem(key);
    },
  };
}

// A request on a stalled network (sent, never answered) gives up after this long and says there is no connection,
// so the person can try again instead of watching a button stay busy for ever. `waitMs` changes it (0: no limit).
const WAIT_MS = 30_000;

function patience(signal, waitMs) {
  if (!waitMs || !AbortSignal.timeout) return signal;
  const timeout = AbortSignal.timeout(waitMs);
  if (!signal) return timeout;
  return AbortSignal.any ? AbortSignal.any([signal, timeout]) : signal;
}

/** Call the API. Resolves with the JSON body (or null for 204); rejects with ApiError. */
export async function api(
  path,
  { method = "GET", body, token, signal, query, headers: extra = {}, waitMs = WAIT_MS } = {},
) {
  const headers = { Accept: "application/json", ...authHeaders(token), ...extra };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let url = `/api/v1${path}`;
  if (query) {
    const params = new URLSearchParams();
    for (const [name, value] of Object.entries(query)) {
      if (value === undefined || value === null) continue;
      for (const item of Array.isArray(value) ? value : [value]) params.append(name, String(item));
    }
    if ([...params].length) url += `?${params}`;
  }
  let response;
  try {
    response = await fetch(url, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: patience(signal, waitMs),
    });
  } catch (error) {
    // The caller's own abort stays an abort; a request that ran out of patience is a network failure (status 0).
    if (error?.name === "AbortError" && signal?.aborted) throw new ApiError(0, "aborted", "aborted");
    throw new ApiError(0, "network", error?.message || "network error");
  }
  if (response.status === 204) return null;
  let data = null;
  try {
    data = await response.json();
  } catch (error) {
    // An aborted or cut-off body must not look like an empty answer to the caller.
    if (response.ok) throw new ApiError(0, error?.name === "AbortError" ? "aborted" : "bad_response", String(error?.message || error));
    data = null;
  }
  if (!response.ok) throw refusal(response, data);
  return data;
}

/** The ApiError of an answer that is not 2xx, from its JSON body (`data`; null if it had none). */
export function refusal(response, data) {
  const error = data?.error || {};
  return new ApiError(response.status, error.code || `http_${response.status}`, error.message || response.statusText, error.details || {});
}

/**
 * Fetch a file the API answers (a report's CSV, an alert's CAP or EIDO) and hand it to the browser to save: the API
 * wants the session, which a plain link cannot send, so it is fetched and saved as a blob under the name the server
 * gives it (Content-Disposition), else `filename`. Rejects with ApiError as `api` does.
 */
export async function download(path, { token, query, accept, filename }) {
  const search = query ? `?${new URLSearchParams(query)}` : "";
  let response;
  try {
    response = await fetch(`/api/v1${path}${search}`, { headers: { ...authHeaders(token), Accept: accept } });
  } catch (error) {
    throw new ApiError(0, "network", error?.message || "network error");
  }
  if (!response.ok) throw refusal(response, await response.json().catch(() => null));
  const named = (response.headers.get("Content-Disposition") || "").match(/filename="([^"]+)"/);
  const url = URL.createObjectURL(await response.blob());
  const link = document.createElement("a");
  link.href = url;
  link.download = named ? named[1] : filename;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** The web apps' configuration (map tiles, languages, Web Push key). */
export function webConfig() {
  return api("/config/web");
}

/** The WebSocket address of a stream. */
export function streamUrl(name, token, cursor) {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const app = cookieApp(token);
  const query = new URLSearchParams(app ? { session: app } : { token });
  if (cursor !== null && cursor !== undefined) query.set("cursor", String(cursor));
  return `${scheme}//${location.host}/api/v1/stream/${name}?${query}`;
}
