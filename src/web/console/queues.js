// Queues and memory, from the stats snapshots of /v1/events: per device the
// qdisc backlog against txqueuelen; the softnet backlog against
// netdev_max_backlog; per socket rmem against rcvbuf and wmem against sndbuf;
// drops by reason per second as a live chart; and, for sockets that report
// tcp_info, cwnd, snd_wnd and rcv_wnd over time.

import { h } from './vendor/preact.mjs';
import { useEffect, useRef, useState } from './vendor/hooks.mjs';
import htm from './vendor/htm.mjs';
import uPlot from './vendor/uplot.mjs';
import { fmtBytes } from './util.js';

const html = htm.bind(h);
const COLORS = ['#b91c1c', '#1d4ed8', '#047857', '#7c3aed', '#b45309', '#0e7490', '#be185d', '#4d7c0f'];

function Gauge({ id, label, value, max, fmt = (v) => String(v) }) {
  const pct = max > 0 ? Math.min(100, (value / max) * 100) : 0;
  return html`<div class="gauge">
    <label for=${id}>${label}</label>
    <meter id=${id} min="0" max=${max || 1} value=${value} high=${(max || 1) * 0.8} optimum="0">${value}</meter>
    <span class="hint">${fmt(value)} / ${fmt(max)} (${pct.toFixed(0)}%)</span>
  </div>`;
}

/** A uPlot chart of named series over time; rebuilt when the set of series changes. */
function Chart({ title, ts, series, yLabel }) {
  const el = useRef(null);
  const plot = useRef(null);
  const names = Object.keys(series);
  const key = names.join('|');
  useEffect(() => {
    if (!el.current) return undefined;
    const opts = {
      title,
      width: Math.max(320, el.current.clientWidth || 600),
      height: 220,
      scales: { x: { time: true } },
      axes: [{}, { label: yLabel }],
      series: [{}, ...names.map((n, i) => ({ label: n, stroke: COLORS[i % COLORS.length], width: 2 }))],
    };
    plot.current = new uPlot(opts, [ts, ...names.map((n) => series[n])], el.current);
    return () => {
      plot.current?.destroy();
      plot.current = null;
    };
  }, [key]);
  useEffect(() => {
    plot.current?.setData([ts, ...names.map((n) => series[n])]);
  }, [ts, series]);
  return html`<figure class="chart"><div ref=${el} role="img" aria-label=${`${title}: ${names.join(', ') || 'no series yet'}`}></div></figure>`;
}

/** cwnd, snd_wnd, rcv_wnd of one TCP socket over the snapshots seen. */
function useTcpHistory(stats) {
  const [hist, setHist] = useState({});
  useEffect(() => {
    if (!stats) return;
    setHist((old) => {
      const next = {};
      for (const s of stats.sockets) {
        if (!s.tcp_info) continue;
        const o = old[s.id] ?? { ts: [], cwnd: [], snd_wnd: [], rcv_wnd: [] };
        const cut = (a, v) => [...a, v].slice(-300);
        next[s.id] = { ts: cut(o.ts, stats.ts / 1000), cwnd: cut(o.cwnd, s.tcp_info.snd_cwnd), snd_wnd: cut(o.snd_wnd, s.tcp_info.snd_wnd), rcv_wnd: cut(o.rcv_wnd, s.tcp_info.rcv_wnd) };
      }
      return next;
    });
  }, [stats]);
  return hist;
}

/** What ss would print for it: a packet socket's device, protocol and owner; an inet socket's netid, state and addresses. */
function socketLabel(s) {
  if (s.family === 'inet') return `${s.type === 'stream' ? 'tcp' : 'udp'} ${s.state} ${s.local} ${s.peer}${s.service ? ` (${s.service})` : ''}`;
  return `${s.device ?? ''} ${s.protocol ?? s.type ?? ''} ${s.owner ?? ''}`;
}

export function QueuesView({ stats, history }) {
  const tcp = useTcpHistory(stats);
  if (!stats) return html`<section class="panel"><h2>Queues & memory</h2><p role="status">Waiting for the first stats snapshot…</p></section>`;
  const b = stats.stack.backlog;
  const drops = Object.entries(stats.stack.drops).filter(([, v]) => v > 0).sort((x, y) => y[1] - x[1]);
  return html`<div class="queues">
    <section class="panel" aria-labelledby="q-dev-title">
      <h2 id="q-dev-title">Transmit queues</h2>
      ${stats.devices.map((d) => html`<${Gauge} id=${`q-${d.ifname}`} label=${`${d.ifname}: qdisc backlog (packets) vs txqueuelen`} value=${d.queue?.qlen ?? 0} max=${d.txqlen} />`)}
      <h2>Softnet backlog</h2>
      <${Gauge} id="q-backlog" label="backlog (packets) vs net.core.netdev_max_backlog" value=${b.length} max=${b.max} />
      <p class="hint">processed ${b.processed}, dropped ${b.dropped}, time squeeze ${b.time_squeeze}; sk_buffs in use ${stats.stack.skb.in_use} (${fmtBytes(stats.stack.skb.bytes)})</p>
    </section>
    <section class="panel" aria-labelledby="q-sock-title">
      <h2 id="q-sock-title">Socket memory</h2>
      ${stats.sockets.length === 0 && html`<p class="hint">No sockets are open.</p>`}
      ${stats.sockets.map((s) => html`<div class="socket">
        <h3>socket ${s.id} <span class="hint">${socketLabel(s)}</span></h3>
        <${Gauge} id=${`rmem-${s.id}`} label="rmem vs rcvbuf" value=${s.rmem} max=${s.rcvbuf} fmt=${fmtBytes} />
        <${Gauge} id=${`wmem-${s.id}`} label="wmem vs sndbuf" value=${s.wmem} max=${s.sndbuf} fmt=${fmtBytes} />
        <p class="hint">queued ${s.queue ?? s.recv_q ?? 0}, drops ${s.drops}</p>
      </div>`)}
    </section>
    <section class="panel wide" aria-labelledby="q-drops-title">
      <h2 id="q-drops-title">Drops by reason</h2>
      <${Chart} title="drops per second" ts=${history.ts} series=${history.drops} yLabel="drops/s" />
      <table class="list"><caption>Totals since start</caption>
        <thead><tr><th scope="col">Reason</th><th scope="col">Drops</th></tr></thead>
        <tbody>${drops.map(([r, v]) => html`<tr><th scope="row">${r}</th><td>${v}</td></tr>`)}</tbody>
      </table>
    </section>
    ${Object.entries(tcp).map(([id, t]) => html`<section class="panel wide" aria-label=${`TCP socket ${id} windows`}>
      <h2>TCP socket ${id}</h2>
      <${Chart} title="cwnd, snd_wnd, rcv_wnd" ts=${t.ts} series=${{ cwnd: t.cwnd, snd_wnd: t.snd_wnd, rcv_wnd: t.rcv_wnd }} yLabel="segments / bytes" />
    </section>`)}
  </div>`;
}
