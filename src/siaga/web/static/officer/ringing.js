// The full-screen card of a ringing offer or assignment: what, where, how far, and the answer buttons.
import { html, useEffect, useState } from "../js/ui.js";
import { clock, t } from "../js/i18n.js";
import { soundReady } from "./ringer.js";
import { distance, minutes, place } from "./format.js";

function useNow() {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 500);
    return () => clearInterval(timer);
  }, []);
  return now;
}

function Countdown({ until, now }) {
  const left = (Date.parse(until) - now) / 1000;
  return html`<p class="countdown" aria-live="off">${t("officer.ring.answer_within", { time: clock(left) })}</p>`;
}

function Facts({ alert, now }) {
  const age = (now - Date.parse(alert.created_at)) / 1000;
  return html`<dl class="ring-facts">
    <dt>${t("officer.assignment.caller")}</dt><dd>${alert.resident?.name || t("officer.assignment.no_name")}</dd>
    <dt>${t("officer.ring.pressed")}</dt><dd>${t("officer.ring.ago", { time: clock(age) })}</dd>
    ${alert.accuracy_m !== null &&
    html`<dt>${t("officer.ring.accuracy")}</dt><dd>± ${Math.round(alert.accuracy_m)} m</dd>`}
  </dl>`;
}

function Flags({ alert }) {
  return html`<p class="flags">
    ${alert.priority !== "normal" && html`<span class="badge flag">${t("officer.flag.priority")}</span>`}
    ${alert.silent && html`<span class="badge flag">${t("officer.flag.silent")}</span>`}
    ${alert.resident_suspended && html`<span class="badge flag">${t("officer.flag.suspended")}</span>`}
  </p>`;
}

/**
 * @param {{entry?: {offer: object, alert: object}, assignment?: object, more: number, busy: boolean, error: string,
 *   onAccept: () => void, onDecline?: () => void}} props
 */
export function RingingCard({ entry, assignment, more, busy, error, onAccept, onDecline }) {
  // Ticking the whole card also drops the "tap for sound" hint as soon as a tap has turned the sound on.
  const now = useNow();
  const alert = entry ? entry.alert : assignment;
  const offer = entry?.offer;
  return html`
    <div class="ringing" role="alertdialog" aria-modal="true" aria-labelledby="ring-title" data-testid="ringing">
      <div class="ring-body">
        <img src="/static/officer/icon.svg" alt="" width="88" height="88" />
        <p class="ring-kind">${offer ? t("officer.ring.offer") : t("officer.ring.assignment")}</p>
        <h2 id="ring-title">${t(`common.category.${alert.category}`)}</h2>
        <p class="ring-place">${place(alert)}</p>
        <${Flags} alert=${alert} />
        ${offer &&
        html`<p class="ring-distance">${distance(offer.distance_m)} · ${minutes(offer.eta_s)}</p>
          <${Countdown} until=${offer.expires_at} now=${now} />`}
        <${Facts} alert=${alert} now=${now} />
        ${alert.description && html`<p class="ring-description">${alert.description}</p>`}
        ${!soundReady() && html`<p class="sound-hint">${t("officer.ring.tap_for_sound")}</p>`}
        ${more > 0 && html`<p class="muted-light">${t("officer.ring.more", { count: more })}</p>`}
        ${error && html`<p class="ring-error" role="alert">${error}</p>`}
      </div>
      <div class="ring-actions">
        ${onDecline &&
        html`<button type="button" class="decline" disabled=${busy} onClick=${onDecline}>
          ${t("officer.ring.decline")}
        </button>`}
        <button type="button" class="accept" disabled=${busy} onClick=${onAccept}>
          ${offer ? t("officer.ring.accept") : t("officer.ring.acknowledge")}
        </button>
      </div>
    </div>
  `;
}
