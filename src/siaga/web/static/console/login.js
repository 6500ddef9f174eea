// The staff login. Only command-centre roles may use the console; officers have their own app.
import { html } from "../js/ui.js";
import { t } from "../js/i18n.js";
import { StaffLogin, openStaffSession } from "../js/login.js";
import { LanguageSwitch } from "./language.js";

const CONSOLE_ROLES = new Set(["operator", "supervisor", "admin"]);

async function consoleSession(username, password) {
  const { opened } = await openStaffSession(username, password, {
    refuse: ({ role }) => (CONSOLE_ROLES.has(role) ? "" : t("console.login.wrong_role")),
  });
  return {
    token: opened.access_token,
    expires_at: opened.expires_at,
    role: opened.role,
    staff_id: opened.staff_id,
    agency_id: opened.agency_id,
    username,
  };
}

export function Login({ onLoggedIn, notice }) {
  return html`
    <main class="login">
      <${StaffLogin}
        idPrefix="login"
        standalone
        heading=${t("console.login.title")}
        intro=${t("console.login.intro")}
        notice=${notice || ""}
        open=${consoleSession}
        onLoggedIn=${onLoggedIn}
      >
        <${LanguageSwitch} />
      <//>
    </main>
  `;
}
