// Admin login: administrators, and supervisors for moderation and the audit log.
import { html } from "../js/ui.js";
import { t } from "../js/i18n.js";
import { StaffLogin, openStaffSession } from "../js/login.js";

const ALLOWED = new Set(["admin", "supervisor"]);

async function adminSession(username, password) {
  const { opened, me } = await openStaffSession(username, password, {
    refuse: ({ role }) => (ALLOWED.has(role) ? "" : t("admin.login.not_allowed")),
    profile: true,
  });
  return { token: opened.access_token, role: opened.role, name: me.name, agencyId: me.agency_id };
}

export function Login({ onLogin }) {
  return html`<main class="admin narrow">
    <${StaffLogin}
      idPrefix="admin"
      heading=${t("admin.login.heading")}
      open=${adminSession}
      onLoggedIn=${onLogin}
    />
  </main>`;
}
