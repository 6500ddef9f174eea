// Handing the alert over to a partner centre (a city's 112 centre, another Siaga), and whether each partner it was
// handed to has it: the newest `handover` event of the timeline per partner, which the stream brings live as the
// partner acknowledges. "Serahkan ke…" offers the partners the alert's agency may hand over to and says, before
// anything is sent, what goes with it (the caller's name and number, when the partner is given them); a handover
// Siaga gave up on can be tried again.
import { html, useEffect, useRef, useState } from "../js/ui.js";
import { api } from "../js/api.js";
import { lang, t } from "../js/i18n.js";
import { errorText } from "../js/errors.js";

const STATUSES = new Set(["requested", "acknowledged", "retrying", "failed"]);

function hourMinute(iso) {
  return new Date(iso).toLocaleTimeString(lang() === "en" ? "en-GB" : "id-ID", { hour: "2-digit", minute: "2-digit" });
}

/** The newest handover event per partner, in the order the partners were first handed the alert. */
export function handoverStates(timeline) {
  const newest = new Map();
  for (const event of timeline || []) {
    if (event.kind === "handover" && STATUSES.has(event.data?.status)) newest.set(event.data.partner, event);
  }
  return [...newest.values()];
}

/** The partners this alert may be handed over to, read again when it moves to another agency. */
function useChoices(alert, token) {
  const [choices, setChoices] = useState({ alertId: null, list: [] });
  useEffect(() => {
    const controller = new AbortController();
    api(`/alerts/${alert.id}/handover/choices`, { token, signal: controller.signal })
      .then((list) => setChoices({ alertId: alert.id, list }))
      .catch(() => {
        if (!controller.signal.aborted) setChoices({ alertId: alert.id, list: [] });
      });
    return () => controller.abort();
  }, [alert.id, alert.agency_code, token]);
  return choices.alertId === alert.id ? choices.list : [];
}

function HandOverForm({ choices, busy, onSubmit, onClose }) {
  const [picked, setPicked] = useState(choices.length === 1 ? choices[0].name : "");
  const focused = useRef(false);
  const first = (element) => {
    if (element && !focused.current) {
      focused.current = true;
      element.focus();
    }
  };
  const partner = choices.find((choice) => choice.name === picked);
  return html`
    <form
      id="handover-form"
      class="action-form form-handover"
      data-form="handover"
      aria-labelledby="handover-form-title"
      onSubmit=${(event) => {
        event.preventDefault();
        if (partner && !busy) onSubmit(partner);
      }}
      onKeyDown=${(event) => {
        if (event.key !== "Escape") return;
        // Handled here: the console's own Escape (close the panel) must not run for the same key press.
        event.preventDefault();
        onClose();
      }}
    >
      <h3 id="handover-form-title">${t("console.handover.form_title")}</h3>
      <fieldset class="outcomes">
        <legend>${t("console.handover.choose")}</legend>
        ${choices.map(
          (choice, index) => html`
            <label class="outcome" key=${choice.name}>
              <input
                type="radio"
                name="partner"
                value=${choice.name}
                ref=${(picked ? choice.name === picked : index === 0) ? first : undefined}
                checked=${picked === choice.name}
                onChange=${() => setPicked(choice.name)}
              />
              ${choice.label || choice.name}
            </label>
          `,
        )}
      </fieldset>
      ${partner &&
      html`<p class="warning-text" data-testid="handover-shares" aria-live="polite">
        ${t(partner.share_caller ? "console.handover.shares_caller" : "console.handover.withholds_caller", {
          partner: partner.label || partner.name,
        })}
      </p>`}
      <div class="form-buttons">
        <button type="submit" class="primary" disabled=${busy || !partner}>${t("console.handover.confirm")}</button>
        <button type="button" onClick=${onClose}>${t("common.cancel")}</button>
      </div>
    </form>
  `;
}

export function Handovers({ alert, timeline, token }) {
  const states = handoverStates(timeline);
  const choices = useChoices(alert, token);
  const [open, setOpen] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const [refocus, setRefocus] = useState(false);
  const opener = useRef(null);
  // Another alert in the panel: nothing of this one's form or error stays.
  useEffect(() => {
    setOpen(false);
    setError(null);
  }, [alert.id]);
  // A closed form gives the keyboard back to its button, once the button is enabled again.
  useEffect(() => {
    if (!refocus || busy) return;
    setRefocus(false);
    opener.current?.focus();
  }, [refocus, busy]);

  function close() {
    setOpen(false);
    setRefocus(true);
  }

  async function handOver(partner) {
    if (busy) return;
    setBusy(true);
    setError(null);
    try {
      await api(`/alerts/${alert.id}/handover`, { method: "POST", token, body: { partner } });
      if (open) close();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }

  if (!states.length && !choices.length) return null;
  return html`
    <section class="panel-block handovers" aria-labelledby="handovers-title">
      <h3 id="handovers-title">${t("console.handover.title")}</h3>
      ${states.length > 0 &&
      html`<ul>
        ${states.map((event) => {
          const partner = event.data.partner_label || event.data.partner;
          return html`
            <li key=${event.data.partner} data-testid="handover" data-status=${event.data.status}>
              <span data-testid="handover-status">
                ${t(`console.handover.${event.data.status}`, { partner, time: hourMinute(event.at) })}
              </span>
              ${event.data.status === "failed" &&
              html` <button
                type="button"
                data-action="handover-retry"
                disabled=${busy}
                aria-label=${t("console.handover.retry_label", { partner })}
                onClick=${() => handOver(event.data.partner)}
              >
                ${t("console.handover.retry")}
              </button>`}
            </li>
          `;
        })}
      </ul>`}
      ${choices.length > 0 &&
      html`<button
        type="button"
        data-action="handover"
        ref=${opener}
        disabled=${busy}
        aria-expanded=${open ? "true" : "false"}
        aria-controls="handover-form"
        onClick=${() => {
          setError(null);
          setOpen(!open);
        }}
      >
        ${t("console.handover.hand_over")}
      </button>`}
      ${open &&
      choices.length > 0 &&
      html`<${HandOverForm}
        choices=${choices}
        busy=${busy}
        onSubmit=${(partner) => handOver(partner.name)}
        onClose=${close}
      />`}
      ${error && html`<p class="error" role="alert" data-testid="handover-error">${errorText(error)}</p>`}
    </section>
  `;
}
