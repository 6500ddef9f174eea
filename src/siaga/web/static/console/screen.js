// The console screen: the queue, map, unit board and alert panel around the live picture (live.js), with the
// selected alert's handling (handling.js) and the keyboard (keymap.js).
import { html, useEffect, useState } from "../js/ui.js";
import { api } from "../js/api.js";
import { t } from "../js/i18n.js";
import { AccountDialog } from "./account.js";
import { useBackgroundAnnouncements } from "./announce.js";
import { SurgeBanner } from "./areas.js";
import { AttentionBanner } from "./banner.js";
import { BulkBar } from "./bulk.js";
import { useAlertDetail } from "./detail.js";
import { useAlertHandling } from "./handling.js";
import { openWaitingEnd, useConsoleKeys } from "./keymap.js";
import { useLiveConsole } from "./live.js";
import { AlertPanel } from "./panel.js";
import { useAlertLinks } from "./push.js";
import { Queue, useQueueView } from "./queue.js";
import { ShortcutHelp } from "./shortcuts.js";
import { SituationMap } from "./situation.js";
import { TopBar } from "./topbar.js";
import { UnitBoard } from "./units.js";
import { DeviceTroubles } from "./troubles.js";

export function ConsoleScreen({ config, account, onLogout }) {
  const token = account.token;
  const { store, siren } = useLiveConsole(token, () => onLogout(t("common.stream.refused")));
  const [selectedId, setSelectedId] = useState(null);
  const [help, setHelp] = useState(false);
  const [accountOpen, setAccountOpen] = useState(false);
  const [centre, setCentre] = useState(null);
  const detail = useAlertDetail(selectedId, store, token);
  const handling = useAlertHandling(token, selectedId, detail);
  const { actions, busy, form, notice } = handling;
  const view = useQueueView();

  function select(id) {
    setSelectedId(id);
    handling.setForm(null);
  }

  // An alert re-routed to other agencies is no longer this console's: its panel closes.
  useEffect(
    () => store.on("withdrawn", (id) => setSelectedId((current) => (current === id ? null : current))),
    [store],
  );
  useBackgroundAnnouncements(store, select);
  useAlertLinks(select);
  useConsoleKeys({ store, siren, detail, handling, selectedId, select, help, setHelp, view });

  function logout() {
    // Leave the screen first, which stops its stream: the server ends the stream with the session, and a stream that
    // saw it end before it was stopped would try again with the revoked token.
    onLogout();
    api("/auth/logout", { method: "POST", token }).catch(() => {});
  }

  return html`
    <div class="console">
      <${TopBar}
        store=${store}
        siren=${siren}
        account=${account}
        config=${config}
        onHelp=${() => setHelp(true)}
        onAccount=${() => setAccountOpen(true)}
        onLogout=${logout}
      />
      <${AttentionBanner} store=${store} onOpen=${select} />
      <${SurgeBanner} store=${store} config=${config} view=${view} token=${token} />
      <${BulkBar} store=${store} view=${view} token=${token} account=${account} />
      <div class="console-main">
        <${Queue}
          store=${store}
          view=${view}
          selectedId=${selectedId}
          onSelect=${select}
          onOldest=${() => openWaitingEnd(store, select, "oldest")}
          onNewest=${() => openWaitingEnd(store, select, "newest")}
        />
        <div class="console-centre">
          <${SituationMap}
            store=${store}
            config=${config}
            token=${token}
            selectedId=${selectedId}
            trail=${detail.trail}
            centre=${centre}
            onSelect=${select}
            onCluster=${(ids) => view.setPicked(new Set(ids))}
          />
          <${UnitBoard} store=${store} onCentre=${setCentre} />
          <${DeviceTroubles} token=${token} store=${store} />
        </div>
        <${AlertPanel}
          detail=${detail}
          store=${store}
          busy=${busy}
          form=${form}
          actions=${actions}
          onClose=${() => select(null)}
          token=${token}
          onSelect=${select}
        />
      </div>
      <div class=${`notice ${notice ? `notice-${notice.kind}` : ""}`} role="status" aria-live="polite">
        ${notice?.text}
      </div>
      ${help && html`<${ShortcutHelp} onClose=${() => setHelp(false)} />`}
      ${accountOpen && html`<${AccountDialog} account=${account} onClose=${() => setAccountOpen(false)} />`}
    </div>
  `;
}
