// Officer login: only officers who belong to a unit can use this app (offers and duty are per unit).
import { html } from "../js/ui.js";
import { t } from "../js/i18n.js";
import { StaffLogin, openStaffSession } from "../js/login.js";

function refusal(opened, me) {
  if (opened.role !== "officer") return t("officer.login.not_officer");
  if (me.unit_id === null) return t("common.error.officer.no_unit");
  return "";
}

async function officerSession(username, password) {
  const { opened, me } = await openStaffSession(username, password, {
    refuse: refusal,
    profile: true,
    cookie: false, // its offline outbox and position reports send the token themselves
  });
  return {
    token: opened.access_token,
    name: me.name,
    staffId: me.staff_id,
    unitId: me.unit_id,
    expiresAt: opened.expires_at,
  };
}

export function Login({ onLogin }) {
  return html`<${StaffLogin}
    idPrefix="officer"
    heading=${t("officer.login.heading")}
    open=${officerSession}
    onLoggedIn=${onLogin}
  />`;
}
