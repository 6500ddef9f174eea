// The chat on the status screen: the command centre's messages and the resident's replies, oldest first. A reply
// goes through the outbox (../js/outbox.js), as the officer's actions do: kept on the phone before the network is
// touched, sent again when the signal comes back, and written once on the server however often it is sent (its key
// is the Idempotency-Key). A reply the server refused stays on screen with the reason, to send again or discard.
import { html, useEffect, useRef, useState } from "../js/ui.js";
import { t } from "../js/i18n.js";
import { errorText } from "../js/errors.js";
import { Outbox, failureOf } from "../js/outbox.js";

const DATABASE = "siaga-resident-replies";

/** The chat of a view, with one more message (a stream's `said`) merged in by id, oldest first. */
export function withLine(chat, line) {
  const lines = [...(chat || [])];
  if (line && !lines.some((known) => known.id === line.id)) lines.push(line);
  return lines.sort((a, b) => a.id - b.id);
}

/** Whether the phone offers a reply: as the server says (`replies_close_at`: none while the alert is open, a while
 * after it was resolved, never on a cancelled one, which one cancelled with the duress PIN looks exactly like). */
export function mayReply(phase, view, now = Date.now()) {
  if (["sending", "failed", "cancelled"].includes(phase) || !view) return false;
  if (!view.replies_close_at) return !["resolved", "cancelled"].includes(view.state);
  return now < Date.parse(view.replies_close_at);
}

/** The replies of this resident waiting in the outbox or refused, for one alert; `onDelivered` hears the server's
 * answer (the alert as the resident sees it, the reply in its chat). */
function useReplies(residentId, token, alertId, onDelivered) {
  const [rows, setRows] = useState([]);
  const current = useRef(null);
  const heard = useRef(onDelivered);
  heard.current = onDelivered;
  useEffect(() => {
    const outbox = new Outbox(DATABASE, {
      owner: String(residentId),
      token: () => token,
      onChange: setRows,
      onDelivered: (row, data) => data && row.alertId === alertId && heard.current(data),
      onFailed: () => null, // shown from the rows
      onExpired: () => null, // kept: sent once the phone has a session again
    });
    current.current = { outbox, ready: outbox.start() };
    return () => outbox.stop();
  }, [residentId, token]);
  const use = async (work) => {
    const { outbox, ready } = current.current;
    await ready;
    return work(outbox);
  };
  return {
    rows: rows.filter((row) => row.alertId === alertId),
    send: (text) =>
      use((outbox) => outbox.submit({ kind: "reply", path: `/alerts/${alertId}/replies`, body: { text }, alertId })),
    retry: (id) => use((outbox) => outbox.retry(id)),
    discard: (id) => use((outbox) => outbox.discard(id)),
  };
}

function Line({ line }) {
  const mine = line.sender === "resident";
  return html`<li class=${`chat-line chat-${line.sender}`} data-sender=${line.sender}>
    <span class="chat-who">${t(mine ? "resident.chat.you" : "resident.status.centre_message")}</span>
    <p>${line.text}</p>
  </li>`;
}

function Waiting({ row, onRetry, onDiscard }) {
  if (row.state === "failed") {
    return html`<li class="chat-line chat-resident chat-failed" data-reply-failed role="alert">
      <span class="chat-who">${t("resident.chat.you")}</span>
      <p>${row.body.text}</p>
      <p class="error">${t("resident.chat.failed", { reason: errorText(failureOf(row)) })}</p>
      <button type="button" onClick=${() => onRetry(row.id)}>${t("resident.chat.retry")}</button>
      <button type="button" onClick=${() => onDiscard(row.id)}>${t("resident.chat.discard")}</button>
    </li>`;
  }
  return html`<li class="chat-line chat-resident chat-waiting" data-reply-waiting>
    <span class="chat-who">${t("resident.chat.you")}</span>
    <p>${row.body.text}</p>
    <p class="hint">${t(row.attempts ? "resident.chat.waiting" : "resident.chat.sending")}</p>
  </li>`;
}

/** The chat of one alert: its messages, the replies still waiting, and (where `open`) the box to write one. */
export function Chat({ alertId, view, token, residentId, open, onView }) {
  const [text, setText] = useState("");
  const replies = useReplies(residentId, token, alertId, onView);
  const lines = view?.chat || [];
  const max = view?.reply_max_chars; // the server's limit
  // A reply delivered but not yet in the view (its answer still on the way) is not shown twice.
  const waiting = replies.rows.filter((row) => row.state !== "delivered");
  if (!lines.length && !waiting.length && !open) return null;
  async function submit(event) {
    event.preventDefault();
    const said = text.trim();
    if (!said) return;
    setText("");
    await replies.send(said);
  }
  return html`<section class="chat" aria-live="polite" data-chat data-centre-message>
    <h3>${t("resident.chat.title")}</h3>
    ${lines.length > 0 || waiting.length > 0
      ? html`<ol class="chat-lines">
          ${lines.map((line) => html`<${Line} key=${line.id} line=${line} />`)}
          ${waiting.map(
            (row) => html`<${Waiting} key=${row.id} row=${row} onRetry=${replies.retry} onDiscard=${replies.discard} />`,
          )}
        </ol>`
      : html`<p class="hint">${t("resident.chat.empty")}</p>`}
    ${open &&
    html`<form class="chat-form" onSubmit=${submit}>
      <label for="chat-reply">${t("resident.chat.label")}</label>
      <textarea id="chat-reply" rows="2" maxlength=${max} value=${text} data-reply
        onInput=${(e) => setText(e.target.value)}></textarea>
      ${max && html`<p class="hint">${t("resident.chat.count", { count: text.length, max })}</p>`}
      <button type="submit" class="primary" disabled=${!text.trim()} data-action="send-reply">
        ${t("resident.chat.send")}
      </button>
    </form>`}
  </section>`;
}
