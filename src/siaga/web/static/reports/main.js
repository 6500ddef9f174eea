// The reports app: boots the catalogues and the server's web configuration (for the map), then renders.
import { html, render } from "../js/ui.js";
import { webConfig } from "../js/api.js";
import { loadI18n } from "../js/i18n.js";
import { App } from "./app.js";

async function boot() {
  await loadI18n("reports");
  const config = await webConfig();
  render(html`<${App} config=${config} />`, document.getElementById("app"));
}

boot();
