// A console in a background tab must still say that a real SOS waits: the tab title counts the real alerts nobody
// has taken, and a browser notification announces each new press or duress PIN (attention.js decides both). Run from
// the stream's own callbacks, not the batched render: a hidden tab's timers are throttled, its sockets are not.
import { useEffect, useRef } from "../js/ui.js";
import { t } from "../js/i18n.js";
import { backgroundTitle, notifies } from "./attention.js";

function hidden() {
  return document.visibilityState === "hidden";
}

function showTitle(store) {
  const title = backgroundTitle(store.alerts.values(), hidden());
  document.title = title ? t("console.tab.waiting", { count: title.waiting }) : t("console.title");
}

function notify(store, event, alert, onOpen) {
  if (!("Notification" in window) || Notification.permission !== "granted") return;
  const heading = event.kind === "duress" ? t("console.notify.duress") : t("console.notify.new_sos");
  const place = store.jurisdictions.get(alert.jurisdiction_id) || alert.jurisdiction_name;
  const body = [t(`common.category.${alert.category}`), place, alert.resident_name].filter(Boolean).join(" · ");
  try {
    const notice = new Notification(heading, { body, tag: `${alert.id}:${event.kind}`, requireInteraction: true });
    notice.onclick = () => {
      window.focus();
      onOpen(alert.id);
      notice.close();
    };
  } catch {
    // A browser that allows notifications only from a service worker: the title still says it.
  }
}

/** Keep the tab title and notifications in step with the store; `onOpen(id)` opens an alert from a notification. */
export function useBackgroundAnnouncements(store, onOpen) {
  const opener = useRef(onOpen);
  opener.current = onOpen;
  useEffect(() => {
    const update = () => showTitle(store);
    const offEvent = store.on("event", (event, alert) => {
      update();
      if (notifies(event, alert, hidden())) notify(store, event, alert, (id) => opener.current(id));
    });
    const offSnapshot = store.on("snapshot", update);
    const offLanguage = () => window.removeEventListener("siaga:lang", update);
    window.addEventListener("siaga:lang", update);
    document.addEventListener("visibilitychange", update);
    // Browsers ask for permission only from a user gesture: the first click or key press, as for the siren.
    const ask = () => {
      if ("Notification" in window && Notification.permission === "default") Notification.requestPermission();
    };
    document.addEventListener("click", ask, { once: true });
    document.addEventListener("keydown", ask, { once: true });
    update();
    return () => {
      offEvent();
      offSnapshot();
      offLanguage();
      document.removeEventListener("visibilitychange", update);
      document.removeEventListener("click", ask);
      document.removeEventListener("keydown", ask);
      document.title = t("console.title");
    };
  }, [store]);
}
