// Siaga's service worker, served at /sw.js and registered by the installable apps (resident /app, officer
// /officer) with the default scope "/". It is a classic worker (not a module) because every app registers it the
// same way, and a registration has one script type.
//
// 1. Opening without a network: the resident app's shell is cached at install; every page shell and /static file
//    fetched later is cached as it goes. Network first (so a new build is used at once), the cache when the
//    network fails or is too slow to wait for.
// 2. SOS presses still in the outbox are delivered when the network returns, even with every tab closed, where the
//    browser has Background Sync (Chromium, Android). Elsewhere the app delivers them at its next start.
// 3. Web Push: an officer's offer or assignment rings the phone with a notification.
// The API and the live streams are never cached.
importScripts("/static/resident/outbox-core.js");

const CACHE = "siaga-shell-v1";
const SYNC_TAG = "siaga-outbox";
const NETWORK_WAIT_MS = 3000; // on a weak signal, the cached copy is better than a long wait
const APP_PAGES = new Set(["/app", "/officer"]);

const RESIDENT_SHELL = [
  "/app",
  "/static/resident/manifest.webmanifest",
  "/static/resident/icon.svg",
  "/static/resident/icon-192.png",
  "/static/resident/icon-512.png",
  "/static/resident/main.js",
  "/static/resident/app.js",
  "/static/resident/outbox-core.js",
  "/static/resident/outbox.js",
  "/static/resident/delivery.js",
  "/static/resident/location.js",
  "/static/resident/press.js",
  "/static/resident/register.js",
  "/static/resident/profile.js",
  "/static/resident/pins.js",
  "/static/resident/settings.js",
  "/static/resident/sms.js",
  "/static/resident/sos.js",
  "/static/resident/status.js",
  "/static/resident/chat.js",
  "/static/resident/widgets.js",
  "/static/js/api.js",
  "/static/js/errors.js",
  "/static/js/ui.js",
  "/static/js/i18n.js",
  "/static/js/stream.js",
  "/static/js/outbox.js",
  "/static/css/base.css",
  "/static/css/resident.css",
  "/static/i18n/common.id.json",
  "/static/i18n/common.en.json",
  "/static/i18n/resident.id.json",
  "/static/i18n/resident.en.json",
  "/static/vendor/preact/preact.mjs",
  "/static/vendor/preact/hooks.mjs",
  "/static/vendor/htm/htm.mjs",
  "/static/vendor/leaflet/leaflet.css",
  "/static/img/siaga.svg",
];

self.addEventListener("install", (event) => {
  event.waitUntil(
    (async () => {
      const cache = await caches.open(CACHE);
      // One by one: a single missing file must not leave the app without any offline copy.
      await Promise.all(
        RESIDENT_SHELL.map((url) => cache.add(new Request(url, { cache: "reload" })).catch(() => null)),
      );
      await self.skipWaiting();
    })(),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    (async () => {
      for (const name of await caches.keys()) {
        if (name.startsWith("siaga-") && name !== CACHE) await caches.delete(name);
      }
      await self.clients.claim();
      // The browser may have been closed with presses waiting: a starting worker delivers them.
      await self.SiagaOutbox.deliverAll().catch(() => null);
    })(),
  );
});

// Shell caching --------------------------------------------------------------------------------------------------

function cacheable(request) {
  if (request.method !== "GET") return false;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return false;
  if (request.mode === "navigate") return APP_PAGES.has(url.pathname);
  return url.pathname.startsWith("/static/");
}

async function networkFirst(event) {
  const request = event.request;
  const url = new URL(request.url);
  const key = request.mode === "navigate" ? url.pathname : request; // /app?x is the same shell as /app
  const cache = await caches.open(CACHE);
  const network = fetch(request);
  // Keep what the network gives for next time (also when the cached copy was served first).
  const keep = (response) => (response.ok && response.type === "basic" ? cache.put(key, response.clone()) : null);
  event.waitUntil(network.then(keep).catch(() => null));
  const slow = new Promise((resolve) => setTimeout(resolve, NETWORK_WAIT_MS, "slow"));
  try {
    const first = await Promise.race([network, slow]);
    if (first !== "slow") return first;
    return (await cache.match(key)) || (await network);
  } catch {
    const cached = await cache.match(key);
    return cached || new Response("offline", { status: 503, headers: { "Content-Type": "text/plain" } });
  }
}

self.addEventListener("fetch", (event) => {
  if (!cacheable(event.request)) return; // the API and the streams go straight to the network
  event.respondWith(networkFirst(event));
});

// The outbox -----------------------------------------------------------------------------------------------------

self.addEventListener("sync", (event) => {
  if (event.tag !== SYNC_TAG) return;
  event.waitUntil(
    self.SiagaOutbox.deliverAll().then((left) => {
      // Rejecting asks the browser to fire the sync again later (Chromium: a few more times, backing off).
      if (left.pending || left.pointsLeft) throw new Error("the outbox still has presses waiting");
    }),
  );
});

self.addEventListener("message", (event) => {
  if (event.data?.type === "deliver") event.waitUntil(self.SiagaOutbox.deliverAll().catch(() => null));
});

// Web Push (officer offers and assignments) ------------------------------------------------------------------

self.addEventListener("push", (event) => {
  let data = {};
  try {
    data = event.data ? event.data.json() : {};
  } catch {
    data = { body: event.data ? event.data.text() : "" };
  }
  const url = data.url || "/officer";
  event.waitUntil(
    self.registration.showNotification(data.title || "Siaga", {
      body: data.body || "",
      tag: data.alert_id ? `siaga-${data.alert_id}` : "siaga",
      renotify: true,
      requireInteraction: true, // an offer waits for an answer; it must not fade away on its own
      vibrate: [600, 200, 600, 200, 600],
      icon: "/static/img/siaga.svg",
      data: { ...data, url },
    }),
  );
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const url = event.notification.data?.url || "/officer";
  event.waitUntil(
    (async () => {
      const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
      const path = new URL(url, self.location.origin).pathname;
      const open = windows.find((client) => new URL(client.url).pathname === path);
      if (!open) return self.clients.openWindow(url);
      // The app is open already: bring it forward and tell it which alert was tapped (/officer#alert=<id>).
      open.postMessage({ type: "siaga.open", url });
      return open.focus();
    })(),
  );
});
