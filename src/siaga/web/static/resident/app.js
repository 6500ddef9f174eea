// The resident app: which screen to show, and the wiring between the outbox, the position and the screens.
// The SOS button works whenever the phone has a session, with or without a network or a loaded profile.
import { html, useEffect, useRef, useState } from "../js/ui.js";
import { ApiError, api, session as sessionStore, webConfig } from "../js/api.js";
import { t } from "../js/i18n.js";
import { adoptAlert, adoptToken, allPresses, forgetPress, onOutboxChange, retryPress } from "./outbox.js";
import { kick, requestBackgroundSync, startDelivery } from "./delivery.js";
import { locatePress, locateWaiting, newPress, sendUnstored, storePress } from "./press.js";
import { track } from "./location.js";
import { forgetSmsKey, keepSmsKey, keepSmsNumber } from "./sms.js";
import { RegisterScreen } from "./register.js";
import { ProfileForm } from "./profile.js";
import { PinsForm } from "./pins.js";
import { SettingsScreen } from "./settings.js";
import { SosScreen } from "./sos.js";
import { StatusScreen } from "./status.js";
import { Call112, ErrorLine, TopBar } from "./widgets.js";

const store = sessionStore("resident");
const PROFILE_KEY = "siaga.resident.profile";
const SILENT_KEY = "siaga.resident.silent";
const POINT_BATCH_MS = 2000; // positions measured close together go in one request
// How long the app waits for a profile it has no copy of before it shows the SOS button anyway (a stalled network
// must never keep the button away; the profile's screens follow when it arrives).
const PROFILE_WAIT_MS = 3000;

function cachedProfile(residentId) {
  try {
    const profile = JSON.parse(localStorage.getItem(PROFILE_KEY) || "null");
    return profile && profile.id === residentId ? profile : null;
  } catch {
    return null;
  }
}

function useOnline() {
  const [online, setOnline] = useState(navigator.onLine);
  useEffect(() => {
    const up = () => setOnline(true);
    const down = () => setOnline(false);
    window.addEventListener("online", up);
    window.addEventListener("offline", down);
    return () => {
      window.removeEventListener("online", up);
      window.removeEventListener("offline", down);
    };
  }, []);
  return online;
}

/** The outbox rows, re-read whenever a tab or the service worker changes them; positions follow the open ones. */
function useOutbox() {
  const [rows, setRows] = useState(null);
  const [failure, setFailure] = useState(null);
  const batch = useRef(0);
  useEffect(() => {
    const soon = () => {
      clearTimeout(batch.current);
      batch.current = setTimeout(kick, POINT_BATCH_MS);
    };
    const refresh = async () => {
      try {
        const all = await allPresses();
        setRows(all);
        track(all.filter((r) => r.tracking && r.state !== "failed").map((r) => r.id), { whenPoint: soon });
      } catch (error) {
        setFailure(error);
        setRows([]);
      }
    };
    const stop = onOutboxChange(refresh);
    refresh();
    startDelivery(refresh);
    locateWaiting()
      .then(kick)
      .catch(() => null);
    return stop;
  }, []);
  return { rows, failure };
}

/** The resident's profile: from the server when reachable, else the copy kept on the phone. */
function useProfile(auth, onLoggedOut) {
  const [profile, setProfile] = useState(() => (auth ? cachedProfile(auth.resident_id) : null));
  const [loading, setLoading] = useState(Boolean(auth));
  useEffect(() => {
    setProfile(auth ? cachedProfile(auth.resident_id) : null); // never show one resident another's profile
    if (!auth) return;
    setLoading(true);
    const waited = setTimeout(() => setLoading(false), PROFILE_WAIT_MS);
    api("/residents/me", { token: auth.token })
      .then(keep)
      .catch((error) => {
        if (error instanceof ApiError && error.status === 401) onLoggedOut();
      })
      .finally(() => {
        clearTimeout(waited);
        setLoading(false);
      });
    return () => clearTimeout(waited);
  }, [auth?.token]);
  function keep(next) {
    const { sms_key: key, ...kept } = next; // given once (a resident from before SMS keys): kept apart
    if (key) keepSmsKey(kept.id, key);
    localStorage.setItem(PROFILE_KEY, JSON.stringify(kept));
    setProfile(kept);
  }
  return { profile, loading, keep };
}

function Onboarding({ step, profile, token, onProfile, onPins }) {
  return html`<div class="screen onboarding">
    <${TopBar} />
    <main class="content">
      <p class="muted">${t("resident.onboarding.step", { n: step === "profile" ? 2 : 3, total: 3 })}</p>
      ${step === "profile"
        ? html`<${ProfileForm} profile=${profile} token=${token} onSaved=${onProfile}
            submitLabel=${t("resident.next")} />`
        : html`<${PinsForm} token=${token} hasPins=${false} onSaved=${onPins} submitLabel=${t("resident.next")} />`}
    </main>
  </div>`;
}

export function App() {
  const [, setLanguageTick] = useState(0);
  const [auth, setAuth] = useState(() => store.get());
  const [screen, setScreen] = useState("home");
  const [silent, setSilent] = useState(() => localStorage.getItem(SILENT_KEY) === "1");
  const [pressError, setPressError] = useState(null);
  const online = useOnline();
  const { rows, failure } = useOutbox();
  const logout = () => {
    store.clear();
    localStorage.removeItem(PROFILE_KEY);
    forgetSmsKey();
    setAuth(null);
    setScreen("home");
  };
  const { profile, loading, keep } = useProfile(auth, logout);

  useEffect(() => {
    const switched = (event) => {
      setLanguageTick((n) => n + 1);
      // SMS from Siaga (codes, notices) then come in the same language; offline it simply waits for next time.
      if (!auth) return;
      api("/residents/me", { method: "PATCH", body: { language: event.detail }, token: auth.token }).catch(() => null);
    };
    window.addEventListener("siaga:lang", switched);
    return () => window.removeEventListener("siaga:lang", switched);
  }, [auth?.token]);

  const current = rows ? rows.filter((r) => !r.dismissed).at(-1) : null;

  // An alert still open on the server that this phone does not know about (pressed before a reinstall).
  useEffect(() => {
    if (!auth || !rows || current) return;
    api("/alerts", { token: auth.token, query: { active: true, limit: 5 } })
      .then((alerts) => {
        const open = alerts.find((a) => a.state !== "cancelled" && a.state !== "resolved");
        if (open) adoptAlert(open, auth.token);
      })
      .catch(() => null);
  }, [auth?.token, rows === null]);

  // The command centre's SMS number, read while there is data, for when there is none (the status screen's offer).
  useEffect(() => {
    webConfig()
      .then((config) => keepSmsNumber(config.sms_number))
      .catch(() => null);
  }, []);

  async function onSession({ sms_key: key, ...next }) {
    keepSmsKey(next.resident_id, key); // for the SOS by SMS: kept on the phone, apart from the session
    store.save(next);
    setAuth(next);
    await adoptToken(next.token).catch(() => null);
    kick();
  }

  async function onSend({ category, silent: quiet, id, pressedAt }) {
    setPressError(null);
    const body = await newPress({ category, silent: quiet, id, pressedAt });
    let row;
    try {
      row = await storePress(body, auth.token);
    } catch (error) {
      // The phone cannot store it (storage broken or full): send it straight away, and say to call 112.
      setPressError(error);
      sendUnstored(body, auth.token);
      return;
    }
    requestBackgroundSync();
    kick();
    if (!row.body.location) locatePress(row).then(kick);
  }

  function setSilentMode(value) {
    localStorage.setItem(SILENT_KEY, value ? "1" : "0");
    setSilent(value);
  }

  if (!auth) return html`<${RegisterScreen} onSession=${onSession} />`;
  if (rows === null || (loading && !profile)) {
    return html`<div class="screen"><${TopBar} /><main class="content"><p>${t("common.loading")}</p></main></div>`;
  }
  if (current) {
    return html`<${StatusScreen} key=${current.id} row=${current} token=${auth.token} online=${online}
      residentId=${auth.resident_id}
      onDone=${() => forgetPress(current.id)} onRetry=${() => retryPress(current.id).then(kick)}
      onSettings=${null} />`;
  }
  if (screen === "settings") {
    return html`<${SettingsScreen} profile=${profile} token=${auth.token} onProfile=${keep}
      onPins=${() => keep({ ...profile, has_pins: true })} onBack=${() => setScreen("home")} onLogout=${logout} />`;
  }
  if (profile && !profile.name) {
    return html`<${Onboarding} step="profile" profile=${profile} token=${auth.token} onProfile=${keep} />`;
  }
  if (profile && !profile.has_pins) {
    return html`<${Onboarding} step="pins" profile=${profile} token=${auth.token}
      onPins=${() => keep({ ...profile, has_pins: true })} />`;
  }
  return html`<div>
    <${SosScreen} onSend=${onSend} onSettings=${() => setScreen("settings")} silent=${silent} onSilent=${setSilentMode}
      online=${online} name=${profile?.name} />
    ${(pressError || failure) &&
    html`<div class="banner failed" role="alert">
      <${ErrorLine} error=${t("resident.storage_failed")} />
      <${Call112} />
    </div>`}
  </div>`;
}
