// Pieces every admin page uses: loading data, showing the server's errors, and formatting times.
import { html, useCallback, useEffect, useRef, useState } from "../js/ui.js";
import { lang, t } from "../js/i18n.js";
import { errorText, problemText } from "../js/errors.js";

/** Load something from the API when the inputs change; `reload` runs it again. */
export function useLoad(load, inputs = []) {
  const [state, setState] = useState({ data: null, error: null, loading: true });
  const run = useCallback(async () => {
    setState((s) => ({ ...s, loading: true }));
    try {
      setState({ data: await load(), error: null, loading: false });
    } catch (error) {
      setState({ data: null, error, loading: false });
    }
  }, inputs);
  useEffect(() => {
    run();
  }, [run]);
  return { ...state, reload: run };
}

/** Put an editor that just opened in view, with the cursor in its first field. Editors open above a long table or
 * inside one of its rows, often far from where the admin is looking; give the returned ref to the editor's root. */
export function useReveal() {
  const ref = useRef(null);
  useEffect(() => {
    const node = ref.current;
    if (!node) return;
    node.scrollIntoView({ block: "nearest" });
    node.querySelector("input:not([type=hidden]), select, textarea")?.focus({ preventScroll: true });
  }, []);
  return ref;
}

/** The error in the admin's language; the list of problems, when the server sends one, says where. */
export function Problem({ error }) {
  if (!error) return null;
  const problems = Array.isArray(error.details?.problems) ? error.details.problems : [];
  return html`<div class="error" role="alert" data-testid="error">
    <p>${errorText(error)}</p>
    ${problems.length > 0 &&
    html`<ul>${problems.map((p) => html`<li>${problemText(p)}</li>`)}</ul>`}
  </div>`;
}

export function Loading({ state }) {
  if (state.loading && !state.data) return html`<p class="muted">${t("common.loading")}</p>`;
  return html`<${Problem} error=${state.error} />`;
}

export function when(iso) {
  if (!iso) return "";
  return new Date(iso).toLocaleString(lang() === "id" ? "id-ID" : "en-GB", { dateStyle: "short", timeStyle: "medium" });
}

/** A labelled form field; `id` ties the label to the control for screen readers and tests. */
export function Field({ id, label, children, hint }) {
  return html`<div class="field">
    <label for=${id}>${label}</label>
    ${children}
    ${hint && html`<p class="hint">${hint}</p>`}
  </div>`;
}

/** Values of a form's named controls (checkboxes as booleans, empty strings dropped). */
export function formValues(form) {
  const values = {};
  for (const element of form.elements) {
    if (!element.name) continue;
    if (element.type === "checkbox") values[element.name] = element.checked;
    else if (element.value !== "") values[element.name] = element.value;
  }
  return values;
}
