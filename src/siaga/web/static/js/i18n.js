// Every string the apps show comes from a catalogue: Bahasa Indonesia by default, English on request.
// Catalogues: /static/i18n/common.<lang>.json and /static/i18n/<app>.<lang>.json.

const LANG_KEY = "siaga.lang";
let catalogue = {};
let current = "id";
let loadedApp = null;

export const LANGUAGES = ["id", "en"];

export function lang() {
  return current;
}

async function fetchCatalogue(name, language) {
  const response = await fetch(`/static/i18n/${name}.${language}.json`, { cache: "no-cache" });
  if (!response.ok) throw new Error(`missing catalogue ${name}.${language}`);
  return response.json();
}

/** Load the catalogues for an app in the saved (or default) language. */
export async function loadI18n(app, language) {
  loadedApp = app;
  const wanted = language || localStorage.getItem(LANG_KEY) || "id";
  current = LANGUAGES.includes(wanted) ? wanted : "id";
  const [common, own] = await Promise.all([fetchCatalogue("common", current), fetchCatalogue(app, current)]);
  catalogue = { ...common, ...own };
  document.documentElement.lang = current;
  return current;
}

/** Switch language, remember the choice, and tell the app to re-render. */
export async function setLang(language) {
  localStorage.setItem(LANG_KEY, language);
  await loadI18n(loadedApp, language);
  window.dispatchEvent(new CustomEvent("siaga:lang", { detail: language }));
}

/** The app whose catalogue is loaded ("console", "officer", ...). */
export function appName() {
  return loadedApp;
}

/** The catalogue's text for `key` with its {placeholders} unfilled, or undefined when there is none. */
export function template(key) {
  return catalogue[key];
}

/** The translation of `key`, with {placeholders} filled from `vars`. */
export function t(key, vars = {}) {
  let text = catalogue[key];
  if (text === undefined) {
    console.warn(`missing translation: ${key}`);
    return `[${key}]`;
  }
  for (const [name, value] of Object.entries(vars)) text = text.replaceAll(`{${name}}`, String(value));
  return text;
}

/** Format a duration in seconds as m:ss (or h:mm:ss). */
export function clock(seconds) {
  const total = Math.max(0, Math.floor(seconds));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${s}` : `${m}:${s}`;
}
