// The top bar: connection state, the sound control, help, language and the operator's session (their name opens
// their own account: account.js).
import { html } from "../js/ui.js";
import { t } from "../js/i18n.js";
import { LanguageSwitch } from "./language.js";
import { PushControl } from "./push.js";

function SoundControl({ siren }) {
  if (!siren.ready) {
    // Until the browser allows audio, say so loudly: a console that cannot ring is a console that misses alerts.
    return html`
      <button
        type="button"
        class="sound-enable"
        data-action="enable-sound"
        onClick=${() => {
          if (siren.muted) siren.toggleMute();
          siren.enable();
        }}
      >
        ${t("console.sound.enable")}
      </button>
    `;
  }
  return html`
    <button
      type="button"
      class=${siren.muted ? "sound-muted" : "sound-on"}
      data-action="mute"
      aria-pressed=${siren.muted}
      onClick=${() => siren.toggleMute()}
    >
      ${siren.muted ? t("console.sound.muted") : t("console.sound.on")} <kbd>M</kbd>
    </button>
  `;
}

export function TopBar({ store, siren, account, config, onHelp, onAccount, onLogout }) {
  const state = store.streamState;
  return html`
    <header class="topbar console-topbar">
      <img src="/static/img/siaga.svg" alt="" width="32" height="32" />
      <h1>${t("console.title")}</h1>
      <span class=${`stream-state stream-${state}`} role="status" data-stream=${state}>
        ${t(`common.stream.${state}`)}
      </span>
      <${SoundControl} siren=${siren} />
      ${config && html`<${PushControl} config=${config} token=${account.token} />`}
      <button type="button" data-action="help" onClick=${onHelp} aria-label=${t("console.keys.title")}>
        ? <span class="hide-narrow">${t("console.keys.short")}</span>
      </button>
      <${LanguageSwitch} />
      <button type="button" class="who" data-action="account" aria-haspopup="dialog" onClick=${onAccount}>
        ${account.username}
        <span class="muted-light">${t(`console.role.${account.role}`)} · ${t("console.account.open")}</span>
      </button>
      <button type="button" data-action="logout" onClick=${onLogout}>${t("common.logout")}</button>
    </header>
  `;
}
