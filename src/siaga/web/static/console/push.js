// Escalation pushes for the console's supervisors and operators: an SOS nobody took in time reaches them as a
// browser notification even with the console closed. Shown only where the server has push on and the browser can.
import { html, useEffect } from "../js/ui.js";
import { usePush } from "../js/push.js";
import { t } from "../js/i18n.js";

export function PushControl({ config, token }) {
  const { state, error, enable } = usePush(config, token);

  if (state === "off" || state === "unsupported") return null;
  if (state === "ask") {
    return html`<button type="button" data-action="enable-push" title=${t("console.push.why")} onClick=${enable}>
        ${t("console.push.enable")}
      </button>
      ${error && html`<span class="error" role="alert">${error}</span>`}`;
  }
  return html`<span class=${`push-state push-${state}`} data-push=${state} title=${t("console.push.why")}>
    ${t(`console.push.${state}`)}
  </span>`;
}

const LINK = "#alert=";

/** A tapped notification opens /console#alert=<id> (or tells the open console which): that alert is selected. */
export function useAlertLinks(select) {
  useEffect(() => {
    const follow = (hash) => {
      if (!hash.startsWith(LINK)) return;
      const id = decodeURIComponent(hash.slice(LINK.length));
      if (id) select(id);
      history.replaceState(null, "", location.pathname + location.search);
    };
    const onHash = () => follow(location.hash);
    const fromWorker = (event) => {
      if (event.data?.type === "siaga.open" && event.data.url) follow(new URL(event.data.url, location.href).hash);
    };
    follow(location.hash);
    window.addEventListener("hashchange", onHash);
    navigator.serviceWorker?.addEventListener("message", fromWorker);
    return () => {
      window.removeEventListener("hashchange", onHash);
      navigator.serviceWorker?.removeEventListener("message", fromWorker);
    };
  }, []);
}
