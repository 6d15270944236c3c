// Topology: devices as nodes, veth pairs, VLAN channels (to their parent) and
// VXLAN remotes as links, the state by colour (and in words), the live
// transmit rate on each link.

import { h } from './vendor/preact.mjs';
import htm from './vendor/htm.mjs';
import { fmtRate } from './util.js';
import { stateClass } from './devices.js';

const html = htm.bind(h);
const W = 720;
const H = 480;

export function TopologyView({ devices, rates, onSelect }) {
  const nodes = devices.map((d) => ({ id: d.ifname, dev: d }));
  const edges = [];
  const seen = new Set();
  for (const d of devices) {
    if (d.kind === 'veth' && d.link) {
      const key = [d.ifname, d.link].sort().join('|');
      if (!seen.has(key)) {
        seen.add(key);
        edges.push({ a: d.ifname, b: d.link, kind: 'veth', rate: (rates[d.ifname]?.tx ?? 0) + (rates[d.link]?.tx ?? 0) });
      }
    } else if (d.kind === 'vlan' && d.link) {
      edges.push({ a: d.ifname, b: d.link, kind: 'vlan', rate: rates[d.ifname]?.tx ?? 0 });
    }
    if (d.kind === 'vxlan') {
      const data = d.linkinfo?.info_data ?? {};
      const remotes = Array.isArray(data.remote) ? data.remote : data.remote ? [data.remote] : [];
      for (const r of remotes) {
        const id = `remote ${r}`;
        if (!nodes.some((n) => n.id === id)) nodes.push({ id, remote: true });
        edges.push({ a: d.ifname, b: id, kind: 'vxlan', rate: rates[d.ifname]?.tx ?? 0 });
      }
    }
  }
  const r = Math.min(W, H) / 2 - 60;
  const pos = new Map(nodes.map((n, i) => {
    const angle = (2 * Math.PI * i) / Math.max(1, nodes.length) - Math.PI / 2;
    return [n.id, { x: W / 2 + r * Math.cos(angle), y: H / 2 + r * Math.sin(angle) }];
  }));
  return html`<section class="panel topology" aria-labelledby="topo-title">
    <h2 id="topo-title">Topology</h2>
    <p class="legend"><span class="badge state-up">up</span> <span class="badge state-lower">up, no carrier</span> <span class="badge state-down">down</span>
      — solid: veth pair, dashed: VLAN on its parent, dotted: VXLAN to a remote</p>
    <svg viewBox=${`0 0 ${W} ${H}`} role="img" aria-label=${`${devices.length} devices and ${edges.length} links`}>
      ${edges.map((e) => {
        const a = pos.get(e.a);
        const b = pos.get(e.b);
        if (!a || !b) return null;
        return html`<g class=${'edge ' + e.kind}>
          <line x1=${a.x} y1=${a.y} x2=${b.x} y2=${b.y} />
          <text x=${(a.x + b.x) / 2} y=${(a.y + b.y) / 2 - 6} text-anchor="middle">${fmtRate(e.rate)}</text>
        </g>`;
      })}
      ${nodes.map((n) => {
        const p = pos.get(n.id);
        const cls = n.remote ? 'remote' : stateClass(n.dev);
        return html`<g class=${'node ' + cls} transform=${`translate(${p.x},${p.y})`}>
          <circle r="26" />
          <text y="4" text-anchor="middle">${n.remote ? 'remote' : n.id}</text>
          <text y="42" text-anchor="middle" class="sub">${n.remote ? n.id.slice(7) : `${n.dev.kind}, ${n.dev.operstate}`}</text>
        </g>`;
      })}
    </svg>
    <ul class="sr-only">${devices.map((d) => html`<li>${d.ifname}: ${d.kind}, ${d.operstate}${d.link ? `, linked to ${d.link}` : ''}</li>`)}</ul>
    <p>${devices.map((d) => html`<button type="button" class="link" onClick=${() => onSelect(d.ifname)}>${d.ifname}</button> `)}</p>
  </section>`;
}
