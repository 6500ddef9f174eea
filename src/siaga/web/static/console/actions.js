// The action bar of the selected alert and its small forms (note, resolve with an outcome, escalate). Each button
// shows its keyboard shortcut.
import { html, useRef, useState } from "../js/ui.js";
import { t } from "../js/i18n.js";
import { reportProblem } from "../js/report.js";
import { ACTIVE_STATES } from "./store.js";
import { mayAct } from "./handles.js";

const OUTCOMES = ["genuine", "false_alarm", "prank", "test", "duplicate"];

function Key({ name }) {
  return html` <kbd>${name}</kbd>`;
}

export { mayAct };

/**
 * Whether an operator may acknowledge the alert: a new one, and an open one that an officer took (a direct offer)
 * before any operator saw it, so that "not yet seen by an operator" can be cleared.
 */
export function mayAcknowledge(alert) {
  return mayAct(alert) && (alert.state === "new" || (ACTIVE_STATES.has(alert.state) && !alert.acknowledged_at));
}

/** The line that says why an informed agency's console offers no actions but a note. */
export function InformedOnly({ alert }) {
  if (mayAct(alert)) return null;
  return html`<p class="informed-only" data-testid="informed-only" role="note">
    ${t("console.action.informed_only", { agency: alert.agency_name || alert.agency_code })}
  </p>`;
}

export function ActionBar({ alert, busy, onAcknowledge, onForm }) {
  const open = ACTIVE_STATES.has(alert.state) && mayAct(alert);
  return html`
    <${InformedOnly} alert=${alert} />
    <div class="action-bar" role="toolbar" aria-label=${t("console.action.title")}>
      <button
        type="button"
        class="primary big"
        data-action="acknowledge"
        disabled=${busy || !mayAcknowledge(alert)}
        onClick=${onAcknowledge}
      >
        ${t("console.action.acknowledge")}<${Key} name="A" />
      </button>
      <a class="button big" href=${`tel:${alert.resident.phone}`} data-action="call-back">
        ${t("console.action.call_back")}<${Key} name="C" />
      </a>
      <button type="button" data-action="note" disabled=${busy} onClick=${() => onForm("note")}>
        ${t("console.action.note")}<${Key} name="N" />
      </button>
      <button
        type="button"
        data-action="message"
        disabled=${busy || !ACTIVE_STATES.has(alert.state) || alert.duress}
        title=${alert.duress ? t("console.message.duress") : ""}
        onClick=${() => onForm("message")}
      >
        ${t("console.action.message")}
      </button>
      <button
        type="button"
        data-action="resolve"
        disabled=${busy || !open || alert.state === "new"}
        title=${alert.state === "new" ? t("console.action.resolve_needs_ack") : ""}
        onClick=${() => onForm("resolve")}
      >
        ${t("console.action.resolve")}<${Key} name="R" />
      </button>
      <button
        type="button"
        class="warn"
        data-action="escalate"
        disabled=${busy || !open}
        onClick=${() => onForm("escalate")}
      >
        ${t("console.action.escalate")}<${Key} name="E" />
      </button>
      <button type="button" data-action="category" disabled=${busy || !open} onClick=${() => onForm("category")}>
        ${t("console.action.category")}
      </button>
      <button type="button" data-action="priority" disabled=${busy || !open} onClick=${() => onForm("priority")}>
        ${t("console.action.priority")}
      </button>
    </div>
  `;
}

// Focus the form's first field as soon as it is in the page (a ref callback, not an effect, which would run a frame
// later): an operator who presses "n" and types at once must not lose the first letters.
function useFocusFirst() {
  const focused = useRef(false);
  return (element) => {
    if (element && !focused.current) {
      focused.current = true;
      element.focus();
    }
  };
}

export function FormFrame({ name, title, busy, canSubmit, submitLabel, onSubmit, onClose, children }) {
  return html`
    <form
      class=${`action-form form-${name}`}
      data-form=${name}
      onSubmit=${(event) => {
        event.preventDefault();
        if (canSubmit && !busy) onSubmit();
      }}
      onKeyDown=${(event) => {
        if (event.key !== "Escape") return;
        // Handled here: the console's own Escape (close the panel) must not run for the same key press.
        event.preventDefault();
        onClose();
      }}
    >
      <h3>${title}</h3>
      ${children}
      <div class="form-buttons">
        <button type="submit" class="primary" disabled=${busy || !canSubmit}>${submitLabel}</button>
        <button type="button" onClick=${onClose}>${t("common.cancel")}</button>
      </div>
    </form>
  `;
}

export function NoteForm({ busy, onSubmit, onClose }) {
  const [text, setText] = useState("");
  const field = useFocusFirst();
  return html`
    <${FormFrame}
      name="note"
      title=${t("console.note.title")}
      busy=${busy}
      canSubmit=${text.trim().length > 0}
      submitLabel=${t("console.note.save")}
      onSubmit=${() => onSubmit(text.trim())}
      onClose=${onClose}
    >
      <label for="note-text">${t("console.note.label")}</label>
      <textarea
        id="note-text"
        name="text"
        rows="3"
        ref=${field}
        value=${text}
        onInput=${(e) => setText(e.target.value)}
      />
    <//>
  `;
}

// A word to the resident, shown in the chat on their status screen (they can answer it there). Any agency that sees
// the alert may write; never after a duress PIN (the button is off: the phone must stay silent).
export function MessageForm({ busy, onSubmit, onClose }) {
  const [text, setText] = useState("");
  const field = useFocusFirst();
  return html`
    <${FormFrame}
      name="message"
      title=${t("console.message.title")}
      busy=${busy}
      canSubmit=${text.trim().length > 0}
      submitLabel=${t("console.message.send")}
      onSubmit=${() => onSubmit(text.trim())}
      onClose=${onClose}
    >
      <label for="message-text">${t("console.message.label")}</label>
      <textarea
        id="message-text"
        name="text"
        rows="2"
        maxlength="1000"
        ref=${field}
        value=${text}
        onInput=${(e) => setText(e.target.value)}
      />
    <//>
  `;
}

// A report the server would refuse is said in the form before it is sent; what was typed stays.
export function ResolveForm({ busy, onSubmit, onClose }) {
  const [outcome, setOutcome] = useState("");
  const [report, setReport] = useState("");
  const [tried, setTried] = useState(false); // said only once a resolve was tried, then as the report changes
  const problem = tried ? reportProblem(report) : "";
  const first = useFocusFirst();
  function submit() {
    setTried(true);
    if (!reportProblem(report)) onSubmit(outcome, report.trim());
  }
  return html`
    <${FormFrame}
      name="resolve"
      title=${t("console.resolve.title")}
      busy=${busy}
      canSubmit=${Boolean(outcome)}
      submitLabel=${t("console.resolve.save")}
      onSubmit=${submit}
      onClose=${onClose}
    >
      <fieldset class="outcomes">
        <legend>${t("console.resolve.outcome")}</legend>
        ${OUTCOMES.map(
          (name, index) => html`
            <label class=${`outcome outcome-${name}`}>
              <input
                type="radio"
                name="outcome"
                value=${name}
                ref=${index === 0 ? first : undefined}
                checked=${outcome === name}
                onChange=${() => setOutcome(name)}
              />
              ${t(`common.outcome.${name}`)}
            </label>
          `,
        )}
      </fieldset>
      ${outcome === "prank" && html`<p class="warning-text">${t("console.resolve.prank_strike")}</p>`}
      <label for="resolve-report">${t("console.resolve.report")}</label>
      <textarea
        id="resolve-report"
        name="report"
        rows="3"
        aria-invalid=${problem ? "true" : undefined}
        aria-describedby=${problem ? "resolve-problem" : undefined}
        value=${report}
        onInput=${(e) => setReport(e.target.value)}
      />
      ${problem && html`<p class="error" id="resolve-problem" role="alert">${problem}</p>`}
    <//>
  `;
}

const CATEGORIES = ["kriminalitas", "kecelakaan", "kebakaran", "kesehatan", "kdrt", "bencana_alam", "kerusuhan", "lainnya"];

// Another category: the server re-routes the alert (a kebakaran to Damkar and the police, a kesehatan to PSC 119).
export function CategoryForm({ alert, busy, onSubmit, onClose }) {
  const [category, setCategory] = useState(alert.category);
  const field = useFocusFirst();
  return html`
    <${FormFrame}
      name="category"
      title=${t("console.category.title")}
      busy=${busy}
      canSubmit=${category !== alert.category}
      submitLabel=${t("console.category.save")}
      onSubmit=${() => onSubmit(category)}
      onClose=${onClose}
    >
      <label for="category-choice">${t("console.category.choice")}</label>
      <select id="category-choice" name="category" ref=${field} value=${category}
        onChange=${(e) => setCategory(e.target.value)}>
        ${CATEGORIES.map((name) => html`<option value=${name}>${t(`common.category.${name}`)}</option>`)}
      </select>
      <p class="hint">${t("console.category.hint")}</p>
    <//>
  `;
}

export function EscalateForm({ busy, onSubmit, onClose }) {
  const [reason, setReason] = useState("");
  const field = useFocusFirst();
  return html`
    <${FormFrame}
      name="escalate"
      title=${t("console.escalate.title")}
      busy=${busy}
      canSubmit=${reason.trim().length >= 3}
      submitLabel=${t("console.escalate.save")}
      onSubmit=${() => onSubmit(reason.trim())}
      onClose=${onClose}
    >
      <label for="escalate-reason">${t("console.escalate.reason")}</label>
      <input
        id="escalate-reason"
        name="reason"
        ref=${field}
        value=${reason}
        onInput=${(e) => setReason(e.target.value)}
      />
    <//>
  `;
}
