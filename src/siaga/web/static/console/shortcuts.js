// Keyboard shortcuts for the common actions, so an operator on a headset never needs the mouse for routine work.
// Keys are ignored while typing in a form (except Escape, which closes it).
import { html, useEffect } from "../js/ui.js";
import { t } from "../js/i18n.js";

const KEYS = [
  ["J", () => t("console.keys.next")],
  ["K", () => t("console.keys.previous")],
  ["[", () => t("console.keys.oldest")],
  ["]", () => t("console.keys.newest")],
  ["A", () => t("console.keys.acknowledge")],
  ["C", () => t("console.keys.call_back")],
  ["D", () => t("console.keys.dispatch")],
  ["N", () => t("console.keys.note")],
  ["R", () => t("console.keys.resolve")],
  ["E", () => t("console.keys.escalate")],
  ["M", () => t("console.keys.mute")],
  ["?", () => t("console.keys.help")],
  ["Esc", () => t("console.keys.escape")],
];

/** Route key presses to `handlers.current[key]` (a ref, so the handlers always see the current state). */
export function useShortcuts(handlers) {
  useEffect(() => {
    function onKey(event) {
      if (event.ctrlKey || event.metaKey || event.altKey || event.defaultPrevented) return;
      const typing = event.target.closest?.("input, textarea, select, [contenteditable='true']");
      if (typing && event.key !== "Escape") return;
      const key = event.key.length === 1 ? event.key.toLowerCase() : event.key;
      const handler = handlers.current[key];
      if (!handler) return;
      event.preventDefault();
      handler();
    }
    document.addEventListener("keydown", onKey);
    return () => document.removeEventListener("keydown", onKey);
  }, []);
}

export function ShortcutHelp({ onClose }) {
  return html`
    <div class="overlay" onClick=${onClose}>
      <div
        class="card help"
        role="dialog"
        aria-modal="true"
        aria-labelledby="help-title"
        onClick=${(event) => event.stopPropagation()}
      >
        <h2 id="help-title">${t("console.keys.title")}</h2>
        <dl class="keys">
          ${KEYS.map(([key, label]) => html`<dt><kbd>${key}</kbd></dt><dd>${label()}</dd>`)}
        </dl>
        <button type="button" class="primary" onClick=${onClose} autofocus>${t("common.close")}</button>
      </div>
    </div>
  `;
}
