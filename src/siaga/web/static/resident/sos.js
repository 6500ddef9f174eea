// The SOS screen. Accidental presses are the enemy of trust in a panic button, so a press needs a 3-second hold
// (or three quick taps) and then a 5-second countdown that one tap cancels. Nothing is sent before the countdown
// ends, but the countdown itself is kept (localStorage): a reload, or the browser dropping the tab, resumes it where
// it was, and one that ran out meanwhile is sent at once. Only Cancel stops a press once held.
import { html, useEffect, useRef, useState } from "../js/ui.js";
import { t } from "../js/i18n.js";
import { warmUp } from "./location.js";
import { newId } from "./press.js";
import { Call112, TopBar } from "./widgets.js";

const HOLD_MS = 3000;
const COUNTDOWN_S = 5;
const TAP_MS = 350; // a press shorter than this is a tap
const TRIPLE_TAP_WINDOW_MS = 1500;
export const CATEGORIES = [
  "kriminalitas",
  "kecelakaan",
  "kebakaran",
  "kesehatan",
  "kdrt",
  "bencana_alam",
  "kerusuhan",
  "lainnya",
];

const COUNTDOWN_KEY = "siaga.resident.countdown";

/** The countdown a reload interrupted: {id, startedAt, category, silent}, or null. */
function interruptedCountdown() {
  try {
    const saved = JSON.parse(localStorage.getItem(COUNTDOWN_KEY) || "null");
    return saved && typeof saved.startedAt === "number" && typeof saved.id === "string" ? saved : null;
  } catch {
    return null;
  }
}

const RING_R = 46;
const RING_C = 2 * Math.PI * RING_R;

function buzz(silent, pattern) {
  if (!silent && navigator.vibrate) navigator.vibrate(pattern);
}

function Ring({ progress, children }) {
  return html`<svg class="ring" viewBox="0 0 100 100" aria-hidden="true">
    <circle class="ring-track" cx="50" cy="50" r=${RING_R} />
    <circle class="ring-fill" cx="50" cy="50" r=${RING_R} stroke-dasharray=${RING_C}
      stroke-dashoffset=${RING_C * (1 - progress)} transform="rotate(-90 50 50)" />
    ${children}
  </svg>`;
}

function HoldButton({ onHeld, silent }) {
  const [progress, setProgress] = useState(0);
  const startedAt = useRef(null);
  const frame = useRef(0);
  const timer = useRef(0);
  const taps = useRef([]);

  function stop() {
    cancelAnimationFrame(frame.current);
    clearTimeout(timer.current);
    startedAt.current = null;
    setProgress(0);
  }
  useEffect(() => stop, []);

  function draw() {
    if (startedAt.current === null) return;
    setProgress(Math.min(1, (performance.now() - startedAt.current) / HOLD_MS));
    frame.current = requestAnimationFrame(draw);
  }

  function start(event) {
    if (startedAt.current !== null) return;
    event.preventDefault();
    if (event.pointerId !== undefined) event.currentTarget.setPointerCapture?.(event.pointerId);
    startedAt.current = performance.now();
    warmUp(); // the GPS gets the seconds of the hold and the countdown to find a fix
    buzz(silent, 30);
    frame.current = requestAnimationFrame(draw);
    // A timer, not the animation, decides: animation frames pause when the screen is covered.
    timer.current = setTimeout(() => {
      stop();
      taps.current = [];
      onHeld();
    }, HOLD_MS);
  }

  function release() {
    if (startedAt.current === null) return;
    const held = performance.now() - startedAt.current;
    stop();
    if (held > TAP_MS) return;
    const now = performance.now();
    taps.current = [...taps.current.filter((at) => now - at < TRIPLE_TAP_WINDOW_MS), now];
    if (taps.current.length >= 3) {
      taps.current = [];
      onHeld();
    }
  }

  function key(event) {
    if ((event.key === " " || event.key === "Enter") && !event.repeat) start(event);
  }
  function keyUp(event) {
    if (event.key === " " || event.key === "Enter") release();
  }

  return html`<button type="button" class=${`sos-button ${progress > 0 ? "holding" : ""}`}
      aria-label=${t("resident.sos.button_label")} aria-describedby="sos-hint"
      onPointerDown=${start} onPointerUp=${release} onPointerCancel=${stop} onKeyDown=${key} onKeyUp=${keyUp}
      onContextMenu=${(e) => e.preventDefault()}>
    <${Ring} progress=${progress} />
    <span class="sos-label">${t("resident.sos.label")}</span>
    <span class="sos-sub">${progress > 0 ? t("resident.sos.keep_holding") : t("resident.sos.hold")}</span>
  </button>`;
}

function Countdown({ silent, category, startedAt, onDone, onAbort }) {
  const [left, setLeft] = useState(() => Math.max(0, COUNTDOWN_S - Math.floor((Date.now() - startedAt) / 1000)));
  const cancelButton = useRef(null);
  useEffect(() => {
    cancelButton.current?.focus();
    buzz(silent, [200, 100, 200]);
    const started = startedAt;
    const timer = setInterval(() => {
      const remaining = COUNTDOWN_S - Math.floor((Date.now() - started) / 1000);
      setLeft(Math.max(0, remaining));
      if (remaining <= 0) {
        clearInterval(timer);
        onDone();
      } else buzz(silent, 80);
    }, 200);
    return () => clearInterval(timer);
  }, []);
  return html`<div class="countdown" role="alertdialog" aria-modal="true" aria-labelledby="countdown-title">
    <h2 id="countdown-title">${t("resident.countdown.title")}</h2>
    <div class="countdown-ring">
      <${Ring} progress=${left / COUNTDOWN_S} />
      <span class="countdown-number" aria-live="assertive">${left}</span>
    </div>
    <p class="countdown-text">${t("resident.countdown.text", { seconds: left })}</p>
    ${category && html`<p class="muted">${t(`common.category.${category}`)}</p>`}
    <button type="button" class="countdown-cancel" ref=${cancelButton} onClick=${onAbort}>
      ${t("resident.countdown.cancel")}
    </button>
    <button type="button" class="danger countdown-now" onClick=${onDone}>${t("resident.countdown.send_now")}</button>
  </div>`;
}

function CategoryChooser({ category, onChange }) {
  return html`<fieldset class="categories">
    <legend>${t("resident.sos.category")}</legend>
    <div class="chips">
      ${CATEGORIES.map(
        (name) => html`<button type="button" key=${name} class="chip" aria-pressed=${category === name}
          onClick=${() => onChange(category === name ? null : name)}>${t(`common.category.${name}`)}</button>`,
      )}
    </div>
  </fieldset>`;
}

/** The home screen: the button, the optional category and silent mode. `onSend` gets the chosen options. */
export function SosScreen({ onSend, onSettings, silent, onSilent, online, name }) {
  const [counting, setCounting] = useState(interruptedCountdown);
  const [category, setCategory] = useState(() => counting?.category ?? null);
  const sent = useRef(false);

  function send() {
    if (sent.current || !counting) return; // the countdown's end and "send now" must not make two presses
    sent.current = true;
    const { id, startedAt } = counting;
    setCounting(null);
    // The press keeps the id made at the hold, so a reload between storing it and forgetting the countdown sends
    // the same press again, which the outbox and the server take as one.
    const pressedAt = new Date(Math.min(Date.now(), startedAt + COUNTDOWN_S * 1000)).toISOString();
    Promise.resolve(onSend({ category: counting.category, silent: counting.silent, id, pressedAt })).finally(() =>
      localStorage.removeItem(COUNTDOWN_KEY),
    );
  }
  function start() {
    sent.current = false;
    const next = { id: newId(), startedAt: Date.now(), category, silent };
    localStorage.setItem(COUNTDOWN_KEY, JSON.stringify(next));
    setCounting(next);
  }
  function abort() {
    localStorage.removeItem(COUNTDOWN_KEY);
    setCounting(null);
  }

  return html`<div class=${`screen sos-screen ${silent ? "silent" : ""}`}>
    <${TopBar} onSettings=${onSettings} />
    <main class="content">
      ${!online && html`<p class="banner offline" role="status">${t("resident.offline_banner")}</p>`}
      ${name && html`<p class="greeting">${t("resident.sos.greeting", { name })}</p>`}
      <div class="sos-area">
        <${HoldButton} onHeld=${start} silent=${silent} />
        <p id="sos-hint" class="sos-hint">${t("resident.sos.hint")}</p>
      </div>
      <${CategoryChooser} category=${category} onChange=${setCategory} />
      <label class="switch">
        <input type="checkbox" checked=${silent} onChange=${(e) => onSilent(e.target.checked)} />
        <span>
          <strong>${t("resident.sos.silent")}</strong><br />
          <span class="hint">${t("resident.sos.silent_hint")}</span>
        </span>
      </label>
      <${Call112} />
    </main>
    ${counting &&
    html`<${Countdown} silent=${counting.silent} category=${counting.category} startedAt=${counting.startedAt}
      onDone=${send} onAbort=${abort} />`}
  </div>`;
}
