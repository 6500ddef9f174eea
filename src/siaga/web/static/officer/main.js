// The officer app: boots the catalogues and the server's web configuration, then renders.
import { html, render } from "../js/ui.js";
import { webConfig } from "../js/api.js";
import { loadI18n } from "../js/i18n.js";
import { learnReportRule } from "../js/report.js";
import { App } from "./app.js";
import { unlockAudioOnFirstGesture } from "./ringer.js";

async function boot() {
  unlockAudioOnFirstGesture();
  await loadI18n("officer");
  // The app still starts when the configuration cannot be read (offline start from the cache): push is then off.
  const config = await webConfig().catch(() => ({ vapid_public_key: null }));
  learnReportRule(config);
  render(html`<${App} config=${config} />`, document.getElementById("app"));
}

boot();
