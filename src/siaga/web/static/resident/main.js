// Start the resident app: catalogues first (every word on screen comes from them), then the service worker
// that keeps the app and its outbox working without a network, then the screens.
import { html, render } from "../js/ui.js";
import { loadI18n, t } from "../js/i18n.js";
import { App } from "./app.js";

function registerWorker() {
  if (!("serviceWorker" in navigator)) return;
  // The one worker of the installable apps: registered by each of them the same way (classic, scope "/").
  navigator.serviceWorker.register("/sw.js").catch((error) => {
    // Without it the app still works online and retries while open; it just cannot open offline.
    console.warn("service worker not registered", error);
  });
}

async function start() {
  const root = document.getElementById("app");
  try {
    await loadI18n("resident");
  } catch {
    root.textContent = "Siaga tidak dapat dimuat. Periksa koneksi. / Siaga could not load. Check the connection.";
    return;
  }
  const title = () => (document.title = t("resident.title"));
  title();
  window.addEventListener("siaga:lang", title);
  registerWorker();
  render(html`<${App} />`, root);
}

start();
