// The command-centre console (operators, supervisors): log in, then work the live queue, map and alert panel.
import { html, render, useEffect, useState } from "../js/ui.js";
import { session, webConfig } from "../js/api.js";
import { lang, loadI18n } from "../js/i18n.js";
import { learnReportRule } from "../js/report.js";
import { Login } from "./login.js";
import { ConsoleScreen } from "./screen.js";

const saved = session("console");
// Used only if /config/web cannot be read: the map still works, centred on Kota Bandung, without tiles.
const FALLBACK_CONFIG = { tile_url: "", tile_attribution: "", map_center: [-6.9147, 107.6098], map_zoom: 13 };

function stillValid(account) {
  return Boolean(account?.token) && (!account.expires_at || Date.parse(account.expires_at) > Date.now());
}

function Root({ config }) {
  const [account, setAccount] = useState(() => (stillValid(saved.get()) ? saved.get() : null));
  const [notice, setNotice] = useState("");
  const [, setLanguage] = useState(lang());

  useEffect(() => {
    // A language switch re-renders everything: every string is read through t() at render time.
    const onLanguage = (event) => setLanguage(event.detail);
    window.addEventListener("siaga:lang", onLanguage);
    return () => window.removeEventListener("siaga:lang", onLanguage);
  }, []);

  if (!account) {
    return html`<${Login}
      notice=${notice}
      onLoggedIn=${(value) => {
        saved.save(value);
        setNotice("");
        setAccount(value);
      }}
    />`;
  }
  return html`<${ConsoleScreen}
    config=${config}
    account=${account}
    onLogout=${(message = "") => {
      saved.clear();
      setNotice(message);
      setAccount(null);
    }}
  />`;
}

async function start() {
  await loadI18n("console");
  const config = await webConfig().catch(() => FALLBACK_CONFIG);
  learnReportRule(config);
  render(html`<${Root} config=${config} />`, document.getElementById("app"));
}

start();
