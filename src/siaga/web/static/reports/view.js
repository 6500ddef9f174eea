// The server's errors in the reader's language.
import { html } from "../js/ui.js";
import { errorText } from "../js/errors.js";

export function Problem({ error }) {
  if (!error) return null;
  return html`<div class="error card" role="alert" data-testid="error"><p>${errorText(error)}</p></div>`;
}
