// The console screen: the live stream feeding the store, and the queue, map, unit board and alert panel around it.
import { html, useEffect, useMemo, useRef, useState } from "../js/ui.js";
import { api } from "../js/api.js";
import { t } from "../js/i18n.js";
import { LiveStream } from "../js/stream.js";
import { AttentionBanner } from "./banner.js";
import { makeCommands } from "./commands.js";
import { useAlertDetail } from "./detail.js";
import { AlertPanel } from "./panel.js";
import { Queue } from "./queue.js";
import { ShortcutHelp, useShortcuts } from "./shortcuts.js";
import { Siren } from "./siren.js";
import { SituationMap } from "./situation.js";
import { ConsoleStore, QUEUE_LIMIT } from "./store.js";
import { TopBar } from "./topbar.js";
import { UnitBoard } from "./units.js";

// A short reminder while any alert waits for an operator, in case the first siren went unheard.
const REMINDER_MS = 20000;
// The stream's alert summaries carry no names; the staff list does. Fetch it at most this often.
const CALLERS_EVERY_MS = 5000;

function useSubscription(source) {
  const [, setCount] = useState(0);
  useEffect(() => source.subscribe(() => setCount((n) => n + 1)), [source]);
}

function useLiveStream(store, token, onRefused) {
  useEffect(() => {
    const stream = new LiveStream("console", () => token, {
      onMessage: (message) => store.apply(message),
      onState: (state) => {
        if (state === "refused") onRefused();
        else if (state !== "closed") store.setStreamState(state);
      },
    }).start();
    return () => stream.stop();
  }, [store, token]);
}

function useReferenceData(store, token) {
  useEffect(() => {
    api("/jurisdictions", { token }).then((list) => store.setJurisdictions(list), () => {});
    api("/units/board", { token }).then((units) => store.setBoard(units), () => {});
  }, [store, token]);
}

function useCallers(store, token) {
  useEffect(() => {
    let timer = null;
    let last = 0;
    const load = () => {
      timer = null;
      last = Date.now();
      api("/alerts", { token, query: { active: true, limit: 500 } }).then(
        (alerts) => store.setCallers(alerts),
        () => {},
      );
    };
    const schedule = () => {
      const missing = [...store.alerts.keys()].some((id) => !store.callers.has(id));
      if (!timer && missing) timer = setTimeout(load, Math.max(500, last + CALLERS_EVERY_MS - Date.now()));
    };
    const offs = [store.on("snapshot", schedule), store.on("event", schedule)];
    return () => {
      clearTimeout(timer);
      for (const off of offs) off();
    };
  }, [store, token]);
}

function useSiren(store, siren) {
  useEffect(() => {
    const offEvent = store.on("event", (event, alert) => {
      if (event.kind === "duress" || event.kind === "escalated") siren.sound("urgent");
      else if (event.kind === "created") siren.sound(alert.duress || alert.escalated ? "urgent" : "new");
      else if (event.kind === "delivery_failed") siren.sound("reminder");
    });
    const reminder = setInterval(() => {
      if ([...store.alerts.values()].some((alert) => alert.state === "new")) siren.sound("reminder");
    }, REMINDER_MS);
    // Any click or key press is the gesture browsers require before sound. On "click", not "pointerdown": the top
    // bar changes when sound comes on, and nothing may change between the press and the release of that click.
    const unlock = () => siren.ready || siren.enable();
    document.addEventListener("click", unlock);
    document.addEventListener("keydown", unlock);
    return () => {
      offEvent();
      clearInterval(reminder);
      document.removeEventListener("click", unlock);
      document.removeEventListener("keydown", unlock);
    };
  }, [store, siren]);
}

export function ConsoleScreen({ config, account, onLogout }) {
  const store = useMemo(() => new ConsoleStore(), []);
  const siren = useMemo(() => new Siren(), []);
  useSubscription(store);
  useSubscription(siren);
  const token = account.token;
  const [selectedId, setSelectedId] = useState(null);
  const [form, setForm] = useState(null);
  const [help, setHelp] = useState(false);
  const [busy, setBusy] = useState(false);
  const [notice, setNotice] = useState(null);
  const [centre, setCentre] = useState(null);

  useLiveStream(store, token, () => onLogout(t("common.stream.refused")));
  useReferenceData(store, token);
  useCallers(store, token);
  useSiren(store, siren);
  const detail = useAlertDetail(selectedId, store, token);

  useEffect(() => {
    if (!notice) return undefined;
    const timer = setTimeout(() => setNotice(null), notice.kind === "error" ? 12000 : 5000);
    return () => clearTimeout(timer);
  }, [notice]);

  const commands = useMemo(() => makeCommands(token, setNotice), [token]);

  function select(id) {
    setSelectedId(id);
    setForm(null);
  }

  async function perform(action, closeForm = false) {
    if (!selectedId || busy) return;
    setBusy(true);
    try {
      const alert = await action(selectedId);
      if (alert) {
        detail.setAlert(alert);
        if (closeForm) setForm(null);
      }
    } finally {
      setBusy(false);
    }
  }

  const actions = {
    acknowledge: () => perform((id) => commands.acknowledge(id)),
    dispatch: (unit) => perform((id) => commands.dispatch(id, unit)),
    note: (text) => perform((id) => commands.note(id, text), true),
    resolve: (outcome, report) => perform((id) => commands.resolve(id, outcome, report), true),
    escalate: (reason) => perform((id) => commands.escalate(id, reason), true),
    openForm: (name) => setForm(name),
  };

  function move(step) {
    const rows = store.queue().slice(0, QUEUE_LIMIT);
    if (rows.length === 0) return;
    const index = rows.findIndex((alert) => alert.id === selectedId);
    const next = index < 0 ? 0 : Math.min(rows.length - 1, Math.max(0, index + step));
    select(rows[next].id);
  }

  const shortcuts = useRef({});
  const withAlert = (fn) => () => detail.alert && !busy && fn(detail.alert);
  shortcuts.current = {
    j: () => move(1),
    k: () => move(-1),
    a: withAlert((alert) => alert.state === "new" && actions.acknowledge()),
    c: withAlert(() => document.querySelector('[data-action="call-back"]')?.click()),
    d: withAlert(() => detail.recommendations[0] && actions.dispatch(detail.recommendations[0])),
    n: withAlert(() => setForm("note")),
    r: withAlert((alert) => alert.state !== "new" && setForm("resolve")),
    e: withAlert(() => setForm("escalate")),
    m: () => (siren.ready ? siren.toggleMute() : siren.enable()),
    "?": () => setHelp((shown) => !shown),
    Escape: () => (help ? setHelp(false) : form ? setForm(null) : select(null)),
  };
  useShortcuts(shortcuts);

  async function logout() {
    await api("/auth/logout", { method: "POST", token }).catch(() => {});
    onLogout();
  }

  return html`
    <div class="console">
      <${TopBar}
        store=${store}
        siren=${siren}
        account=${account}
        onHelp=${() => setHelp(true)}
        onLogout=${logout}
      />
      <${AttentionBanner} store=${store} onOpen=${select} />
      <div class="console-main">
        <${Queue} store=${store} selectedId=${selectedId} onSelect=${select} />
        <div class="console-centre">
          <${SituationMap}
            store=${store}
            config=${config}
            token=${token}
            selectedId=${selectedId}
            trail=${detail.trail}
            centre=${centre}
            onSelect=${select}
          />
          <${UnitBoard} store=${store} onCentre=${setCentre} />
        </div>
        <${AlertPanel}
          detail=${detail}
          store=${store}
          busy=${busy}
          form=${form}
          actions=${actions}
          onClose=${() => select(null)}
        />
      </div>
      <div class=${`notice ${notice ? `notice-${notice.kind}` : ""}`} role="status" aria-live="polite">
        ${notice?.text}
      </div>
      ${help && html`<${ShortcutHelp} onClose=${() => setHelp(false)} />`}
    </div>
  `;
}
