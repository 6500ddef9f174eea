// The status of the resident's SOS, in plain words: sending (kept on the phone until there is signal), received
// by the server, acknowledged by an operator, then who is coming and when. Each step says who did what: when an
// officer takes a direct offer before any operator looked, the screen says an officer accepted, never "acknowledged
// by an operator". A duress PIN gives the same "cancelled" screen as the cancel PIN: this screen never shows
// anything the server did not say to the phone.
import { html, useEffect, useRef, useState } from "../js/ui.js";
import { api } from "../js/api.js";
import { t } from "../js/i18n.js";
import { errorText } from "../js/errors.js";
import { LiveStream } from "../js/stream.js";
import { updatePress } from "./outbox.js";
import { probe } from "./location.js";
import { composeSms, smsKey, smsLink, smsNumber } from "./sms.js";
import { Call112, ErrorLine, TopBar } from "./widgets.js";
import { Chat, mayReply, withLine } from "./chat.js";

const RESPONDING = ["dispatched", "accepted", "en_route", "on_scene"];
const CLOSED = ["resolved", "cancelled"];
// A press the outbox could not deliver this long after it was made: offered by SMS as well (signal, but no data).
const SMS_OFFER_AFTER_MS = 5000;

/** Which of the screen's phases a press is in. "accepted": an officer took it and no operator acknowledged it. */
export function phaseOf(row, view) {
  if (row.state === "pending") return "sending";
  if (row.state === "failed") return "failed";
  const state = view?.state || "new";
  if (state === "dispatched" && !view?.acknowledged) return "accepted";
  if (CLOSED.includes(state) || RESPONDING.includes(state)) return state;
  if (view?.acknowledged || state === "acknowledged") return "acknowledged";
  return "received";
}

/** The steps shown, each done only if it happened: no operator step when an officer took the alert directly. */
export function stepsOf(view) {
  const state = view?.state || "new";
  const acknowledged = Boolean(view?.acknowledged || state === "acknowledged");
  const responding = ["dispatched", "en_route", "on_scene"].includes(state);
  const direct = responding && !acknowledged;
  const steps = [
    { key: "received", done: true },
    ...(direct ? [] : [{ key: "acknowledged", done: acknowledged }]),
    { key: direct ? "accepted" : "dispatched", done: responding },
    { key: "en_route", done: state === "en_route" || state === "on_scene" },
    { key: "on_scene", done: state === "on_scene" },
  ];
  return steps;
}

function minutes(seconds) {
  return Math.max(1, Math.round(seconds / 60));
}

function Steps({ view }) {
  const steps = stepsOf(view);
  const current = steps.map((step) => step.done).lastIndexOf(true);
  return html`<ol class="steps">
    ${steps.map(
      (step, i) => html`<li key=${step.key} class=${step.done ? "done" : ""} data-step=${step.key}
          aria-current=${i === current ? "step" : null}>${t(`resident.step.${step.key}`)}</li>`,
    )}
  </ol>`;
}

function Responder({ view }) {
  const names = view.officer_names || [];
  const others = view.other_units || 0; // more units coming besides the lead (backup, an ambulance)
  if (!names.length && !view.unit_callsign && !others) return null;
  return html`<div class="card responder">
    ${names.length > 0 && html`<p class="officer">${t("resident.status.officer", { names: names.join(", ") })}</p>`}
    ${view.unit_callsign && html`<p>${t("resident.status.unit", { unit: view.unit_callsign })}</p>`}
    ${others > 0 && html`<p data-testid="other-units">${t("resident.status.other_units", { count: others })}</p>`}
    ${Number.isFinite(view.eta_s) &&
    view.state !== "on_scene" &&
    html`<p class="eta">${t("resident.status.eta", { minutes: minutes(view.eta_s) })}</p>`}
  </div>`;
}

function CancelForm({ row, token, onCancelled, onClose }) {
  const [pin, setPin] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  async function submit(event) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const view = await api(`/alerts/${row.id}/cancel`, { method: "POST", body: { pin }, token: token || row.token });
      onCancelled(view);
    } catch (failure) {
      setError(failure);
      setPin("");
      setBusy(false);
    }
  }
  return html`<form class="card stack cancel-form" onSubmit=${submit}>
    <label for="cancel-pin-input">${t("resident.cancel.pin")}</label>
    <input id="cancel-pin-input" type="password" inputmode="numeric" autocomplete="off" maxlength="8" value=${pin}
      autofocus onInput=${(e) => setPin(e.target.value.replace(/\D/g, ""))} />
    <${ErrorLine} error=${error} />
    <button type="submit" class="primary big" disabled=${busy || pin.length < 4}>
      ${t("resident.cancel.confirm")}
    </button>
    <button type="button" onClick=${onClose}>${t("resident.cancel.keep")}</button>
  </form>`;
}

/** Follow the alert on the resident stream while it is open; fetch it afresh on every (re)connection. */
function useLiveView(row, token) {
  const [view, setView] = useState(row.view);
  const [link, setLink] = useState("connecting");
  const delivered = row.state === "delivered";
  const closed = CLOSED.includes(view?.state);
  const latest = useRef(view);

  function merge(next) {
    const { said, ...rest } = next; // a stream's message says which chat message it is, if any
    const chat = withLine(rest.chat ?? latest.current?.chat, said);
    latest.current = { ...latest.current, ...rest, chat };
    setView(latest.current);
  }
  function accept(next) {
    const before = latest.current?.state;
    merge(next);
    const state = latest.current.state;
    // Just resolved on the stream: read the alert once more, for until when it still takes a reply.
    if (state === "resolved" && before !== "resolved" && !("replies_close_at" in next)) {
      api(`/alerts/${row.id}`, { token: token || row.token })
        .then(merge)
        .catch(() => null);
    }
    // Resolved is final: stop sharing the position. "Cancelled" may hide a duress PIN, so the server decides: the
    // last position is offered once more, and the server's refusal (a real cancel) ends the sharing.
    updatePress(row.id, { view: latest.current, ...(state === "resolved" ? { tracking: false } : {}) });
    if (state === "cancelled" && before !== "cancelled") probe(row.id);
  }

  // The outbox learns the first answer (delivery), possibly in the service worker.
  useEffect(() => {
    if (row.view) merge(row.view);
  }, [row.view?.state, row.view?.acknowledged]);

  useEffect(() => {
    if (!delivered || closed) return undefined;
    const refresh = () =>
      api(`/alerts/${row.id}`, { token: token || row.token })
        .then(accept)
        .catch(() => null);
    const stream = new LiveStream("resident", () => token || row.token, {
      onMessage(message) {
        if (message.type === "alert_status" && message.alert_id === row.id) accept(message);
      },
      onState(state) {
        setLink(state);
        if (state === "open") refresh();
      },
    }).start();
    return () => stream.stop();
  }, [row.id, delivered, closed]);

  return { view, link, accept };
}

function Headline({ phase, row, online }) {
  if (phase === "sending") {
    return html`<div class="headline sending">
      <h2>${t("resident.status.sending")}</h2>
      <p>${online ? t("resident.status.sending_online") : t("resident.status.sending_offline")}</p>
      ${row.attempts > 0 && html`<p class="hint">${t("resident.status.attempts", { n: row.attempts })}</p>`}
      <p class="hint">${t("resident.status.kept")}</p>
    </div>`;
  }
  if (phase === "failed") {
    return html`<div class="headline failed">
      <h2>${t("resident.status.failed")}</h2>
      <p>${t("resident.status.failed_text", { message: errorText(row.lastError) })}</p>
    </div>`;
  }
  return html`<div class=${`headline ${phase}`}>
    <h2>${t(`resident.phase.${phase}`)}</h2>
    <p>${t(`resident.phase_text.${phase}`)}</p>
  </div>`;
}

/** The same press by SMS, once data has failed it for a few seconds: the phone's composer opens on the command
 * centre's number with the signed message (see sms.js). The press stays in the outbox: whichever arrives first makes
 * the alert, the other is the same alert. Not offered where the deployment has no SMS number. */
function SmsOffer({ row, residentId }) {
  const number = smsNumber();
  const [due, setDue] = useState(() => Date.now() - row.createdAt >= SMS_OFFER_AFTER_MS);
  const [text, setText] = useState(null);
  useEffect(() => {
    if (due) return undefined;
    const timer = setTimeout(() => setDue(true), row.createdAt + SMS_OFFER_AFTER_MS - Date.now());
    return () => clearTimeout(timer);
  }, [due]);
  const where = row.body?.location;
  useEffect(() => {
    let live = true;
    composeSms(row.body, smsKey(residentId))
      .then((message) => live && setText(message))
      .catch(() => null);
    return () => {
      live = false;
    };
  }, [row.id, where?.lat, where?.lon]);
  if (!number || !due || !text) return null;
  return html`<section class="sms-offer" data-sms-offer>
    <p>${t("resident.sms.offer")}</p>
    <a class="sms-send" href=${smsLink(number, text)}>${t("resident.sms.send")}</a>
    <p class="hint">${t("resident.sms.hint")}</p>
  </section>`;
}

/** The status screen for one press (an outbox row). */
export function StatusScreen({ row, token, online, residentId, onDone, onRetry, onSettings }) {
  const { view, link, accept } = useLiveView(row, token);
  const [cancelling, setCancelling] = useState(false);
  const phase = phaseOf(row, view);
  const closed = CLOSED.includes(phase);
  const silent = Boolean(row.body?.silent);

  function cancelled(answer) {
    setCancelling(false);
    accept({ ...answer, eta_s: null });
  }

  // On the server and not closed: the steps, the link state and the cancel button apply.
  const open = !closed && phase !== "sending" && phase !== "failed";
  const category = row.body?.category && row.body.category !== "lainnya" ? row.body.category : null;
  return html`<div class=${`screen status-screen phase-${phase} ${silent ? "silent" : ""}`}>
    <${TopBar} onSettings=${onSettings} />
    <main class="content">
      <${Headline} phase=${phase} row=${row} online=${online} />
      ${phase === "sending" && html`<${SmsOffer} row=${row} residentId=${residentId} />`}
      ${(open || phase === "resolved") &&
      html`<${Chat} alertId=${row.id} view=${view} token=${token || row.token} residentId=${residentId}
        open=${mayReply(phase, view)} onView=${accept} />`}
      ${RESPONDING.includes(phase) && html`<${Responder} view=${view} />`}
      ${open && html`<${Steps} view=${view} />`}
      ${category &&
      !closed &&
      html`<p class="muted">
        ${t("resident.status.category", { category: t(`common.category.${category}`) })}
      </p>`}
      ${open && link !== "open" && html`<p class="hint" role="status">${t(`common.stream.${link}`)}</p>`}
      ${phase === "failed" &&
      html`<button type="button" class="primary big" onClick=${onRetry}>${t("resident.status.retry")}</button>`}
      ${(open || phase === "sending") &&
      !cancelling &&
      html`<button type="button" class="big cancel-sos" disabled=${!open} onClick=${() => setCancelling(true)}>
        ${t("resident.cancel.open")}
      </button>`}
      ${phase === "sending" && html`<p class="hint">${t("resident.cancel.after_delivery")}</p>`}
      ${cancelling &&
      html`<${CancelForm} row=${row} token=${token} onCancelled=${cancelled}
        onClose=${() => setCancelling(false)} />`}
      ${(closed || phase === "failed") &&
      html`<button type="button" class="primary big" onClick=${onDone}>${t("resident.status.done")}</button>`}
      <${Call112} />
    </main>
  </div>`;
}
