// The outbox for the page's modules. The code lives in outbox-core.js, which the service worker loads too (as a
// classic script), so the page and the worker deliver presses in exactly the same way.
import "./outbox-core.js";

const core = globalThis.SiagaOutbox;

export const {
  addPress,
  allPresses,
  readPress,
  updatePress,
  forgetPress,
  adoptToken,
  adoptAlert,
  retryPress,
  addPoint,
  pointsWaiting,
  deliverAll,
  onOutboxChange,
} = core;
