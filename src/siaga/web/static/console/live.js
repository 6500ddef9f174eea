// The console's live picture: one store fed by the stream (whose alert summaries carry the callers' names) and the
// reference data, and the siren that sounds when the picture asks for an operator. The component that uses it
// re-renders on every change.
import { useEffect, useMemo, useState } from "../js/ui.js";
import { api } from "../js/api.js";
import { LiveStream } from "../js/stream.js";
import { taken } from "./attention.js";
import { Siren } from "./siren.js";
import { ConsoleStore } from "./store.js";

// A short reminder while any alert in the queue (drills only if shown) waits for a person, in case the first siren
// went unheard.
const REMINDER_MS = 20000;

function useSubscription(source) {
  const [, setCount] = useState(0);
  useEffect(() => source.subscribe(() => setCount((n) => n + 1)), [source]);
}

function useLiveStream(store, token, onRefused) {
  useEffect(() => {
    const stream = new LiveStream("console", () => token, {
      onMessage: (message) => store.apply(message),
      onState: (state) => {
        if (state === "refused") onRefused();
        else if (state !== "closed") store.setStreamState(state);
      },
    }).start();
    return () => stream.stop();
  }, [store, token]);
}

function useReferenceData(store, token) {
  useEffect(() => {
    api("/jurisdictions", { token }).then((list) => store.setJurisdictions(list), () => {});
    api("/units/board", { token }).then((units) => store.setBoard(units), () => {});
  }, [store, token]);
}

function useSiren(store, siren) {
  useEffect(() => {
    const offEvent = store.on("event", (event, alert) => {
      if (alert.is_exercise && store.hideDrills) return;
      if (event.kind === "duress" || event.kind === "escalated") siren.sound("urgent");
      else if (event.kind === "created") siren.sound(alert.duress || alert.escalated ? "urgent" : "new");
      // Re-routed by a category change, or handed to another agency: news for the agencies that get it now.
      else if (event.kind === "category_changed" || event.kind === "transferred") siren.sound("new");
      else if (event.kind === "delivery_failed") siren.sound("reminder");
    });
    const reminder = setInterval(() => {
      if (store.queue().some((alert) => !taken(alert))) siren.sound("reminder");
    }, REMINDER_MS);
    // Any click or key press is the gesture browsers require before sound. On "click", not "pointerdown": the top
    // bar changes when sound comes on, and nothing may change between the press and the release of that click.
    const unlock = () => siren.ready || siren.enable();
    document.addEventListener("click", unlock);
    document.addEventListener("keydown", unlock);
    return () => {
      offEvent();
      clearInterval(reminder);
      document.removeEventListener("click", unlock);
      document.removeEventListener("keydown", unlock);
    };
  }, [store, siren]);
}

/** The store and siren of this console session; `onRefused` runs when the server refuses the stream's token. */
export function useLiveConsole(token, onRefused) {
  const store = useMemo(() => new ConsoleStore(), []);
  const siren = useMemo(() => new Siren(), []);
  useSubscription(store);
  useSubscription(siren);
  useLiveStream(store, token, onRefused);
  useReferenceData(store, token);
  useSiren(store, siren);
  return { store, siren };
}
