// Log in to the reports: supervisors (their agency and those below it) and administrators (everything).
import { html } from "../js/ui.js";
import { t } from "../js/i18n.js";
import { StaffLogin, openStaffSession } from "../js/login.js";

const ALLOWED = new Set(["admin", "supervisor"]);

async function reportsSession(username, password) {
  const { opened, me } = await openStaffSession(username, password, {
    refuse: ({ role }) => (ALLOWED.has(role) ? "" : t("reports.login.not_allowed")),
    profile: true,
  });
  return { token: opened.access_token, role: opened.role, name: me.name, agencyId: me.agency_id };
}

export function Login({ onLogin }) {
  return html`<main class="reports narrow">
    <${StaffLogin}
      idPrefix="reports"
      heading=${t("reports.login.heading")}
      open=${reportsSession}
      onLoggedIn=${onLogin}
    />
  </main>`;
}
