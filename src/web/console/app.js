// The netstackd console: a client of the public API only. It asks GET
// /v1/session whether it needs a login, then lists devices (GET /v1/devices)
// and keeps the list live from GET /v1/events (link changes, and a stats
// snapshot every second for rates, queues and drops). Views: topology, a
// device with its forms, live frames with each frame's sk_buff anatomy, and
// queues & memory.

import { h, render } from './vendor/preact.mjs';
import { useCallback, useEffect, useRef, useState } from './vendor/hooks.mjs';
import htm from './vendor/htm.mjs';
import { api, openSocket, problemText } from './api.js';
import { DeviceList, DevicePanel } from './devices.js';
import { FramesView } from './frames.js';
import { QueuesView } from './queues.js';
import { TopologyView } from './topology.js';

const html = htm.bind(h);

/** Points of history kept for the charts: five minutes at one a second. */
const HISTORY = 300;

function Login({ onDone }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const submit = async (e) => {
    e.preventDefault();
    setBusy(true);
    const r = await api('POST', '/v1/session', { token });
    setBusy(false);
    if (r.ok) onDone();
    else setError(problemText(r.problem));
  };
  return html`<main class="login">
    <h1>netstackd console</h1>
    <form onSubmit=${submit} aria-label="Log in">
      <p>This service runs with a token. Enter it to open a session (kept in an HttpOnly cookie).</p>
      <label for="login-token">Token</label>
      <input id="login-token" name="token" type="password" autocomplete="current-password" required
        value=${token} onInput=${(e) => setToken(e.currentTarget.value)}
        aria-describedby=${error ? 'login-error' : undefined} aria-invalid=${error ? 'true' : 'false'} />
      <button type="submit" disabled=${busy}>Log in</button>
      ${error && html`<p id="login-error" class="error" role="alert">${error}</p>`}
    </form>
  </main>`;
}

const VIEWS = [
  ['devices', 'Devices'],
  ['topology', 'Topology'],
  ['frames', 'Live frames'],
  ['queues', 'Queues & memory'],
];

/** Devices by ifindex, kept from the list and the link events. */
function useLive(onUnauthorized) {
  const [devices, setDevices] = useState(() => new Map());
  const [stats, setStats] = useState(null);
  const [rates, setRates] = useState({});
  const [history, setHistory] = useState({ ts: [], drops: {} });
  const [connected, setConnected] = useState(false);
  const prev = useRef(null);

  // Link events that arrive while the list loads wait, and are applied after it in order:
  // a list taken before an event must not undo it. Applying one twice is harmless.
  const pendingEvents = useRef(null);
  const applyLink = (map, msg) => {
    if (msg.action === 'del') map.delete(msg.object.ifindex);
    else map.set(msg.object.ifindex, msg.object);
  };
  const reload = useCallback(async () => {
    pendingEvents.current = [];
    const r = await api('GET', '/v1/devices');
    const pending = pendingEvents.current;
    pendingEvents.current = null;
    if (r.status === 401) return onUnauthorized();
    if (!r.ok) return undefined;
    const map = new Map(r.body.map((d) => [d.ifindex, d]));
    for (const msg of pending) applyLink(map, msg);
    setDevices(map);
    return undefined;
  }, [onUnauthorized]);

  useEffect(() => {
    let ws;
    let stopped = false;
    let retry;
    const connect = () => {
      ws = openSocket('/v1/events?types=link&stats_ms=1000');
      ws.onopen = () => {
        setConnected(true);
        // Listed after the stream opened: a change in between is applied twice, never lost.
        reload();
      };
      ws.onmessage = (ev) => {
        const msg = JSON.parse(ev.data);
        if (msg.type === 'link') {
          if (pendingEvents.current !== null) pendingEvents.current.push(msg);
          else
            setDevices((old) => {
              const next = new Map(old);
              applyLink(next, msg);
              return next;
            });
        } else if (msg.type === 'stats') {
          const p = prev.current;
          if (p !== null) {
            const dt = (msg.ts - p.ts) / 1000;
            const r = {};
            for (const d of msg.devices) {
              const o = p.devices.find((x) => x.ifindex === d.ifindex);
              if (o && dt > 0) r[d.ifname] = { rx: (d.stats64.rx.bytes - o.stats64.rx.bytes) / dt, tx: (d.stats64.tx.bytes - o.stats64.tx.bytes) / dt };
            }
            setRates(r);
            setHistory((h0) => {
              const ts = [...h0.ts, msg.ts / 1000].slice(-HISTORY);
              const drops = {};
              const reasons = new Set([...Object.keys(h0.drops), ...Object.keys(msg.stack.drops).filter((k) => msg.stack.drops[k] !== p.stack.drops[k])]);
              for (const k of reasons) {
                const perS = dt > 0 ? ((msg.stack.drops[k] ?? 0) - (p.stack.drops[k] ?? 0)) / dt : 0;
                const old = h0.drops[k] ?? new Array(h0.ts.length).fill(0);
                drops[k] = [...old, perS].slice(-HISTORY);
              }
              return { ts, drops };
            });
          }
          prev.current = msg;
          setStats(msg);
        }
      };
      ws.onclose = () => {
        setConnected(false);
        if (!stopped) retry = setTimeout(connect, 1000);
      };
    };
    connect();
    return () => {
      stopped = true;
      clearTimeout(retry);
      ws.close();
    };
  }, [reload]);

  return { devices, stats, rates, history, connected, reload };
}

function Console({ tokenRequired, onLogout, onUnauthorized }) {
  const [view, setView] = useState('devices');
  const [selected, setSelected] = useState(null);
  const live = useLive(onUnauthorized);
  const list = [...live.devices.values()].sort((a, b) => a.ifindex - b.ifindex);
  const found = list.find((d) => d.ifname === selected) ?? null;
  // Counters move between link events: take them from the latest stats snapshot.
  const snap = found && live.stats?.devices.find((d) => d.ifindex === found.ifindex);
  const current = found && snap ? { ...found, stats64: snap.stats64, queue: snap.queue } : found;
  const logout = async () => {
    await api('DELETE', '/v1/session');
    onLogout();
  };
  const pick = (name, nextView) => {
    setSelected(name);
    if (nextView) setView(nextView);
  };
  return html`<div class="shell">
    <header>
      <h1>netstackd console</h1>
      <nav aria-label="Views">
        ${VIEWS.map(([id, label]) => html`<button type="button" class=${view === id ? 'tab active' : 'tab'}
          aria-current=${view === id ? 'page' : undefined} onClick=${() => setView(id)}>${label}</button>`)}
      </nav>
      <span class=${live.connected ? 'conn ok' : 'conn'} role="status">${live.connected ? 'live' : 'connecting…'}</span>
      ${tokenRequired && html`<button type="button" class="logout" onClick=${logout}>Log out</button>`}
    </header>
    <main>
      ${view === 'devices' && html`<div class="split">
        <${DeviceList} devices=${list} rates=${live.rates} selected=${selected} onSelect=${(n) => pick(n)} />
        ${current ? html`<${DevicePanel} dev=${current} onShowFrames=${() => pick(current.ifname, 'frames')} />`
          : html`<section class="panel hint"><h2>Device</h2><p>Choose a device in the list to see its flags and counters and change it.</p></section>`}
      </div>`}
      ${view === 'topology' && html`<${TopologyView} devices=${list} rates=${live.rates} onSelect=${(n) => pick(n, 'devices')} />`}
      ${view === 'frames' && html`<${FramesView} devices=${list} selected=${selected} onSelect=${(n) => setSelected(n)} />`}
      ${view === 'queues' && html`<${QueuesView} stats=${live.stats} history=${live.history} />`}
    </main>
  </div>`;
}

function App() {
  const [session, setSession] = useState(null);
  const check = useCallback(async () => {
    const r = await api('GET', '/v1/session');
    setSession(r.ok ? r.body : { token_required: true, authenticated: false, error: problemText(r.problem) });
  }, []);
  useEffect(() => {
    check();
  }, [check]);
  if (session === null) return html`<p class="loading" role="status">Connecting…</p>`;
  if (!session.authenticated) return html`<${Login} onDone=${check} />`;
  return html`<${Console} tokenRequired=${session.token_required} onLogout=${check} onUnauthorized=${check} />`;
}

render(html`<${App} />`, document.getElementById('app'));
