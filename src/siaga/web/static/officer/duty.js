// Going on and off duty. On start the phone asks the server (GET /officers/me/duty): the server's word is the truth,
// so a shift ended elsewhere shows as off duty. The phone also remembers the mode last chosen, for the next start.
import { html, useCallback, useEffect, useRef, useState } from "../js/ui.js";
import { api } from "../js/api.js";
import { t } from "../js/i18n.js";
import { errorText } from "../js/errors.js";

export const MODES = ["post", "patrol", "home"];

export function dutyStore(staffId) {
  const key = `siaga.officer.duty.${staffId}`;
  return {
    get() {
      try {
        return { on: false, mode: "patrol", ...JSON.parse(localStorage.getItem(key) || "{}") };
      } catch {
        return { on: false, mode: "patrol" };
      }
    },
    save(value) {
      localStorage.setItem(key, JSON.stringify(value));
    },
  };
}

/** The duty state of the logged-in officer, kept in step with the server. */
export function useDuty(me, onExpired) {
  const store = dutyStore(me.staffId);
  const [duty, setDuty] = useState(store.get);
  const [unit, setUnit] = useState(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState("");
  // The server refused "off duty" because the unit is on an SOS: the officer must choose to hand it back, or stay.
  const [onAlert, setOnAlert] = useState(false);
  // Duty changes the officer made: the answer to the start's read, if it comes after one, is older news than it.
  const changes = useRef(0);

  const apply = useCallback(
    async (on, mode, { handBack = false } = {}) => {
      changes.current += 1;
      setBusy(true);
      setError("");
      try {
        const status = on
          ? await api("/officers/me/duty", { method: "PUT", token: me.token, body: { mode } })
          : await api("/officers/me/duty", {
              method: "DELETE",
              token: me.token,
              query: handBack ? { hand_back: true } : undefined,
            });
        const next = { on: status.state !== "off_duty", mode };
        store.save(next);
        setDuty(next);
        setUnit(status);
        setOnAlert(false);
      } catch (err) {
        if (err.status === 401) return onExpired();
        if (err.code === "officer.on_alert") setOnAlert(true);
        else setError(errorText(err));
      } finally {
        setBusy(false);
      }
    },
    [me.token],
  );

  useEffect(() => {
    let current = true;
    const asked = changes.current;
    api("/officers/me/duty", { token: me.token })
      .then((mine) => {
        // A tap on "Mulai tugas" while this read was on its way (a slow network at start) is newer than its answer:
        // showing "Tidak bertugas" then would stop the phone sharing its position while the server has it on duty.
        if (!current || changes.current !== asked) return;
        const next = { on: mine.on_duty, mode: mine.mode || store.get().mode };
        store.save(next);
        setDuty(next);
        setUnit(mine.unit);
      })
      .catch((err) => {
        if (err.status === 401) onExpired();
        // Offline at start: keep what the phone remembers; the next change or reconnect tells the truth.
      });
    return () => {
      current = false;
    };
  }, [me.token]);

  /** The server said we are off duty (e.g. a supervisor ended the shift): believe it. */
  const offDutyOnServer = useCallback(() => {
    const next = { ...store.get(), on: false };
    store.save(next);
    setDuty(next);
    setUnit((current) => (current ? { ...current, state: "off_duty" } : current));
  }, [me.staffId]);

  /** Off duty, the mode is only remembered for when the officer goes on duty. */
  const chooseMode = useCallback(
    (mode) => {
      const next = { ...store.get(), mode };
      store.save(next);
      setDuty(next);
    },
    [me.staffId],
  );

  const keepDuty = useCallback(() => setOnAlert(false), []);

  return { duty, unit, busy, error, onAlert, apply, chooseMode, offDutyOnServer, keepDuty };
}

export function DutyCard({ state, sharing, unitState }) {
  const { duty, unit, busy, error, onAlert, apply } = state;
  return html`
    <section class="card duty ${duty.on ? "on" : "off"}" aria-labelledby="duty-heading">
      <div class="duty-head">
        <h2 id="duty-heading">${t("officer.duty.heading")}</h2>
        <span class="badge unit-${unitState}" data-testid="unit-state">${t(`common.unit.${unitState}`)}</span>
      </div>
      ${unit && html`<p class="muted">${t("officer.duty.unit", { callsign: unit.callsign })}</p>`}
      <fieldset class="modes" disabled=${busy}>
        <legend>${t("officer.duty.mode")}</legend>
        ${MODES.map(
          (mode) => html`<button type="button" class="mode ${duty.mode === mode ? "selected" : ""}"
            aria-pressed=${duty.mode === mode} data-mode=${mode}
            onClick=${() => (duty.on ? apply(true, mode) : state.chooseMode(mode))}>
            ${t(`officer.mode.${mode}`)}</button>`,
        )}
      </fieldset>
      <button type="button" class="duty-toggle ${duty.on ? "danger" : "primary"}" disabled=${busy}
        onClick=${() => apply(!duty.on, duty.mode)}>
        ${duty.on ? t("officer.duty.go_off") : t("officer.duty.go_on")}
      </button>
      ${error && html`<p class="error" role="alert">${error}</p>`}
      ${onAlert &&
      duty.on &&
      html`<div class="hand-back" role="alert" data-testid="hand-back">
        <p>${t("officer.duty.on_alert")}</p>
        <button type="button" class="danger" disabled=${busy}
          onClick=${() => apply(false, duty.mode, { handBack: true })}>${t("officer.duty.hand_back")}</button>
        <button type="button" disabled=${busy} onClick=${state.keepDuty}>${t("officer.duty.keep")}</button>
      </div>`}
      ${duty.on && html`<${SharingLine} sharing=${sharing} />`}
    </section>
  `;
}

function SharingLine({ sharing }) {
  const [, tick] = useState(0);
  useEffect(() => {
    const timer = setInterval(() => tick((n) => n + 1), 1000);
    return () => clearInterval(timer);
  }, []);
  if (!sharing) return null;
  const ago = sharing.sentAt ? Math.round((Date.now() - sharing.sentAt) / 1000) : null;
  return html`<p class="sharing sharing-${sharing.state}" data-testid="sharing" aria-live="polite">
    ${t(`officer.sharing.${sharing.state}`)}
    ${ago !== null && html` · ${t("officer.sharing.sent_ago", { seconds: ago })}`}
    ${sharing.accuracy !== null && html` · ±${Math.round(sharing.accuracy)} m`}
    ${sharing.queued > 0 && html` · ${t("officer.sharing.queued", { count: sharing.queued })}`}
  </p>`;
}
