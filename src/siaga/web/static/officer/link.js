// The alert a push notification opens: /officer#alert=<id> (the service worker opens that address, or tells an app
// that is already open which notification was tapped). The app rings that offer or assignment first and scrolls to
// the assignment; if it is no longer this unit's (taken by another unit, expired, closed), it says so.
import { useEffect, useRef, useState } from "../js/ui.js";

const PREFIX = "#alert=";

/** The alert id in an address's hash (`#alert=<id>`), or null. */
export function alertInHash(hash) {
  return hash.startsWith(PREFIX) ? decodeURIComponent(hash.slice(PREFIX.length)) || null : null;
}

/**
 * The linked alert: `id` while it is one of the phone's offers or assignments, `gone` when it was not once the
 * feed had read them again after the link arrived.
 * @param {{offers: object[], assignments: object[], reads: number, refresh: () => void}} feed
 */
export function useAlertLink({ offers, assignments, reads, refresh }) {
  const [link, setLink] = useState(() => ({ id: alertInHash(location.hash), after: 0, settled: false }));
  const [gone, setGone] = useState(false);
  const latestReads = useRef(reads);
  latestReads.current = reads;

  useEffect(() => {
    const follow = (hash) => {
      const id = alertInHash(hash);
      if (!id) return;
      // Judged on a read that starts now: the offer may be newer than the phone's last read.
      setLink({ id, after: latestReads.current, settled: false });
      setGone(false);
      refresh();
    };
    const onHash = () => follow(location.hash);
    const fromWorker = (event) => {
      if (event.data?.type === "siaga.open" && event.data.url) follow(new URL(event.data.url, location.href).hash);
    };
    window.addEventListener("hashchange", onHash);
    navigator.serviceWorker?.addEventListener("message", fromWorker);
    navigator.serviceWorker?.startMessages?.();
    return () => {
      window.removeEventListener("hashchange", onHash);
      navigator.serviceWorker?.removeEventListener("message", fromWorker);
    };
  }, []);

  useEffect(() => {
    if (!link.id || link.settled || reads <= link.after) return;
    const here = offers.some((entry) => entry.alert.id === link.id) || assignments.some((a) => a.id === link.id);
    setGone(!here);
    setLink({ ...link, settled: true });
    // Followed: opening the app again later does not bring the same notification back.
    if (alertInHash(location.hash)) history.replaceState(null, "", location.pathname + location.search);
  }, [link, reads]);

  return { id: gone ? null : link.id, gone, dismiss: () => setGone(false) };
}
