// Device troubles: the agency's panic buttons that are offline, low on battery or tampered with. A list apart from
// the alerts and below them (nobody is in danger because a button is silent, but the site is unprotected). A trouble
// opened or cleared arrives live on the console's stream; the whole list is read when the stream (re)connects and,
// in case a notice was lost on the way, every five minutes. A click shows the trouble's timeline.
import { html, useEffect, useState } from "../js/ui.js";
import { api } from "../js/api.js";
import { clock, t } from "../js/i18n.js";
import { secondsBetween, useTick } from "./time.js";

const EVERY_MS = 300_000;

// The list after one notice from the stream: an opened trouble added (newest first), a cleared one removed.
export function withNotice(troubles, notice) {
  const others = troubles.filter((tr) => tr.id !== notice.id);
  if (notice.cleared_at) return others;
  return [notice, ...others].sort((a, b) => (a.opened_at < b.opened_at ? 1 : a.opened_at > b.opened_at ? -1 : 0));
}

function useTroubles(token, store) {
  const [troubles, setTroubles] = useState([]);
  useEffect(() => {
    let stopped = false;
    const load = () =>
      api("/devices/troubles", { token })
        .then((found) => !stopped && setTroubles(found))
        .catch(() => {}); // the next round tries again; the alerts' stream is what must not stop
    load();
    const timer = setInterval(load, EVERY_MS);
    const offSnapshot = store.on("snapshot", load); // the stream (re)connected: what it missed is read again
    const offTrouble = store.on("trouble", (notice) => !stopped && setTroubles((now) => withNotice(now, notice)));
    return () => {
      stopped = true;
      clearInterval(timer);
      offSnapshot();
      offTrouble();
    };
  }, [token, store]);
  return troubles;
}

function Timeline({ token, trouble }) {
  const [events, setEvents] = useState(null);
  useEffect(() => {
    api(`/devices/troubles/${trouble.id}/timeline`, { token }).then(setEvents, () => setEvents([]));
  }, [trouble.id]);
  if (!events) return html`<p class="muted">${t("common.loading")}</p>`;
  return html`<ol class="trouble-timeline">
    ${events.map((e) => html`<li key=${e.id}>${new Date(e.at).toLocaleTimeString()} · ${t(`console.troubles.${e.kind}`)}</li>`)}
  </ol>`;
}

export function DeviceTroubles({ token, store }) {
  const troubles = useTroubles(token, store);
  const [open, setOpen] = useState(null);
  useTick(30_000);
  if (troubles.length === 0) return null;
  return html`
    <section class="device-troubles" aria-labelledby="troubles-title" data-testid="device-troubles">
      <header class="section-head">
        <h2 id="troubles-title">${t("console.troubles.title")}</h2>
        <span class="muted">${troubles.length}</span>
      </header>
      <ul>
        ${troubles.map(
          (tr) => html`<li key=${tr.id} data-trouble-kind=${tr.kind}>
            <button type="button" class="link" onClick=${() => setOpen(open === tr.id ? null : tr.id)}>
              <strong>${t(`console.troubles.kind.${tr.kind}`)}</strong> · ${tr.site_name}
              ${tr.device_label ? ` · ${tr.device_label}` : ""}
              <span class="muted"> · ${t("console.units.ago", { time: clock(secondsBetween(tr.opened_at)) })}</span>
            </button>
            ${open === tr.id && html`<${Timeline} token=${token} trouble=${tr} />`}
          </li>`,
        )}
      </ul>
    </section>
  `;
}
