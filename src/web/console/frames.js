// Live frames, like Wireshark's packet list: the device's WebSocket stream
// (JSON, with ?detail=1 so each frame carries the service's one-line decode
// and its sk_buff; ?trace=1 adds the buffer at every layer it passed).
//
// Under a flood the page samples: it keeps at most KEEP_PER_TICK frames per
// tick and counts the rest as skipped without parsing them, and the list
// holds the last MAX_FRAMES only. When the page cannot keep up even so, the
// service's socket drops frames (bounded by its rcvbuf) and says how many in
// {type:"drops"}: those count as skipped too. Memory stays bounded whatever
// the rate.

import { h } from './vendor/preact.mjs';
import { useEffect, useRef, useState } from './vendor/hooks.mjs';
import htm from './vendor/htm.mjs';
import { devPath, openSocket } from './api.js';
import { buildPcapng, fmtTime, parseFrame } from './util.js';
import { Anatomy } from './anatomy.js';

const html = htm.bind(h);

export const MAX_FRAMES = 1000;
const TICK_MS = 250;
const KEEP_PER_TICK = 100;
const FILTERS = ['all', 'ARP', 'IPv4', 'ICMP', 'UDP', 'TCP', 'other'];

function matches(filter, f) {
  if (filter === 'all') return true;
  if (filter === 'IPv4') return f.ethertype === 0x0800;
  if (filter === 'other') return !['ARP', 'ICMP', 'UDP', 'TCP'].includes(f.proto) && f.ethertype !== 0x0800;
  return f.proto === filter;
}

export function FramesView({ devices, selected, onSelect }) {
  const name = selected && devices.some((d) => d.ifname === selected) ? selected : (devices.find((d) => d.ifname !== 'lo') ?? devices[0])?.ifname;
  const [frames, setFrames] = useState([]);
  const [skipped, setSkipped] = useState(0);
  const [paused, setPaused] = useState(false);
  const [filter, setFilter] = useState('all');
  const [trace, setTrace] = useState(true);
  const [chosen, setChosen] = useState(null);
  const [status, setStatus] = useState('');
  const pausedRef = useRef(false);
  pausedRef.current = paused;

  useEffect(() => {
    if (!name) return undefined;
    setFrames([]);
    setSkipped(0);
    setChosen(null);
    let seq = 0;
    let pending = [];
    let skippedNow = 0;
    let keptThisTick = 0;
    const ws = openSocket(`${devPath(name)}/stream?format=json&detail=1${trace ? '&trace=1' : ''}`);
    setStatus('connecting');
    ws.onopen = () => setStatus('watching');
    ws.onclose = (ev) => setStatus(ev.code === 4004 ? 'device deleted' : 'closed');
    ws.onmessage = (ev) => {
      const text = ev.data;
      if (text.startsWith('{"type":"drops"')) {
        skippedNow += JSON.parse(text).count;
        return;
      }
      if (!text.startsWith('{"type":"frame"')) return;
      seq++;
      if (pausedRef.current || keptThisTick >= KEEP_PER_TICK) {
        skippedNow++;
        return;
      }
      keptThisTick++;
      const msg = JSON.parse(text);
      const p = parseFrame(msg.data);
      const ethertype = msg.data.length >= 28 ? parseInt(msg.data.substr(24, 4), 16) : 0;
      pending.push({ no: seq, ...msg, ...p, ethertype });
    };
    const tick = setInterval(() => {
      keptThisTick = 0;
      if (pending.length > 0) {
        const add = pending;
        pending = [];
        setFrames((old) => {
          const next = old.concat(add);
          return next.length > MAX_FRAMES ? next.slice(next.length - MAX_FRAMES) : next;
        });
      }
      if (skippedNow > 0) {
        const n = skippedNow;
        skippedNow = 0;
        setSkipped((s) => s + n);
      }
    }, TICK_MS);
    return () => {
      clearInterval(tick);
      ws.close();
    };
  }, [name, trace]);

  const shown = frames.filter((f) => matches(filter, f));
  const download = () => {
    const blob = buildPcapng(shown, name);
    const a = document.createElement('a');
    a.href = URL.createObjectURL(blob);
    a.download = `${name}.pcapng`;
    a.click();
    setTimeout(() => URL.revokeObjectURL(a.href), 1000);
  };
  const chosenFrame = chosen === null ? null : frames.find((f) => f.no === chosen) ?? null;

  return html`<div class="frames-view">
    <section class="panel" aria-labelledby="frames-title">
      <h2 id="frames-title">Live frames</h2>
      <div class="toolbar" role="group" aria-label="Frame list controls">
        <label for="frames-dev">Device</label>
        <select id="frames-dev" value=${name ?? ''} onChange=${(e) => onSelect(e.currentTarget.value)}>
          ${devices.map((d) => html`<option value=${d.ifname}>${d.ifname}</option>`)}
        </select>
        <label for="frames-filter">Protocol</label>
        <select id="frames-filter" value=${filter} onChange=${(e) => setFilter(e.currentTarget.value)}>
          ${FILTERS.map((f) => html`<option value=${f}>${f}</option>`)}
        </select>
        <label class="check"><input type="checkbox" checked=${trace} onChange=${(e) => setTrace(e.currentTarget.checked)} /> trace layers</label>
        <button type="button" aria-pressed=${paused ? 'true' : 'false'} onClick=${() => setPaused(!paused)}>${paused ? 'Resume' : 'Pause'}</button>
        <button type="button" onClick=${download} disabled=${shown.length === 0}>Download pcapng</button>
        <span role="status" class="hint" data-testid="frames-status">${status}; ${frames.length} kept, <span data-testid="skipped">skipped ${skipped}</span></span>
      </div>
      <div class="table-wrap" tabindex="0" role="region" aria-label="Frame list">
      <table class="list frames">
        <thead><tr><th scope="col">No.</th><th scope="col">Time</th><th scope="col">Source</th><th scope="col">Destination</th><th scope="col">Protocol</th><th scope="col">Length</th><th scope="col">Info</th></tr></thead>
        <tbody>
          ${shown.slice(-200).map((f) => html`<tr key=${f.no} class=${f.no === chosen ? 'selected' : ''} data-frame=${f.no}>
            <td><button type="button" class="link" aria-label=${`frame ${f.no}: show its anatomy`} onClick=${() => setChosen(f.no)}>${f.no}</button></td>
            <td>${fmtTime(f.ts)}</td><td>${f.src}</td><td>${f.dst}</td><td>${f.proto}</td><td>${f.len}</td>
            <td class="info">${f.summary}</td>
          </tr>`)}
        </tbody>
      </table>
      </div>
    </section>
    ${chosenFrame && html`<${Anatomy} frame=${chosenFrame} />`}
  </div>`;
}
