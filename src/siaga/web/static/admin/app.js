// The admin app's frame: login, then a tab per area (see route.js for where the tab is kept).
import { html, useEffect, useState } from "../js/ui.js";
import { session } from "../js/api.js";
import { t } from "../js/i18n.js";
import { LanguageSelect, useStaffSession } from "../js/frame.js";
import { Login } from "./login.js";
import { AgenciesPage } from "./agencies.js";
import { RoutingPage } from "./routing.js";
import { JurisdictionsPage } from "./jurisdictions.js";
import { PeoplePage } from "./people.js";
import { ResidentsPage } from "./residents.js";
import { AuditPage } from "./audit.js";
import { SettingsPage } from "./settings.js";
import { DevicesPage } from "./devices.js";
import { TrackersPage } from "./trackers.js";
import { WebhooksPage } from "./webhooks.js";
import { ApiKeysPage } from "./apikeys.js";
import { PartnersPage } from "./partners.js";
import { AccountPage } from "./account.js";
import { readHash } from "./route.js";

const store = session("admin");

// Supervisors may moderate residents and read the audit log and staff list; the rest is for administrators. Both
// manage their own account (their two-step login) in the last tab.
const TABS = {
  admin: ["agencies", "jurisdictions", "routing", "people", "residents", "trackers", "devices", "apikeys", "webhooks", "partners", "audit", "settings", "account"],
  supervisor: ["residents", "audit", "people", "account"],
};
const PAGES = {
  agencies: AgenciesPage,
  jurisdictions: JurisdictionsPage,
  routing: RoutingPage,
  people: PeoplePage,
  residents: ResidentsPage,
  audit: AuditPage,
  settings: SettingsPage,
  devices: DevicesPage,
  trackers: TrackersPage,
  webhooks: WebhooksPage,
  apikeys: ApiKeysPage,
  partners: PartnersPage,
  account: AccountPage,
};

function Shell({ me, config, onExpired }) {
  const tabs = TABS[me.role];
  const [route, setRoute] = useState(readHash);
  useEffect(() => {
    const follow = () => setRoute(readHash());
    window.addEventListener("hashchange", follow);
    return () => window.removeEventListener("hashchange", follow);
  }, []);
  const tab = tabs.includes(route.tab) ? route.tab : tabs[0];
  const Page = PAGES[tab];
  return html`
    <nav class="tabs" aria-label=${t("admin.nav.label")}>
      ${tabs.map(
        (name) => html`<a href=${`#${name}`} class=${name === tab ? "active" : ""}
          aria-current=${name === tab ? "page" : undefined}>${t(`admin.tab.${name}`)}</a>`,
      )}
    </nav>
    <main class="admin">
      <${Page} key=${`${tab}?${new URLSearchParams(route.params)}`} me=${me} config=${config}
        params=${tab === route.tab ? route.params : {}} onExpired=${onExpired} />
    </main>
  `;
}

export function App({ config }) {
  const { me, signIn, signOut, expired } = useStaffSession(store);

  return html`
    <header class="topbar">
      <h1>${t("admin.title")}</h1>
      ${me && html`<span class="who">${me.name} · ${t(`admin.role.${me.role}`)}</span>`}
      <${LanguageSelect} />
      ${me && html`<button type="button" onClick=${signOut}>${t("common.logout")}</button>`}
    </header>
    ${me ? html`<${Shell} me=${me} config=${config} onExpired=${expired} />` : html`<${Login} onLogin=${signIn} />`}
  `;
}
