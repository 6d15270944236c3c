// A frame's anatomy: its sk_buff drawn to scale, as the article's figures
// draw one after alloc_skb, skb_reserve, skb_put and skb_push. head..data is
// headroom, data..tail the frame (headers, then payload), tail..end tailroom;
// `len` against `truesize` (what a socket is charged: the data block plus the
// sk_buff and skb_shared_info, SKB_TRUESIZE); shared or cloned; who pays.
// From the trace, the same picture at every layer the frame passed: where
// data and tail were at each.

import { h } from './vendor/preact.mjs';
import htm from './vendor/htm.mjs';

const html = htm.bind(h);

/** One bar: segments [{name, bytes, cls}] drawn to scale of `total` bytes. */
function Bar({ segments, total, label }) {
  return html`<div class="skb-bar" role="img" aria-label=${label}>
    ${segments.filter((s) => s.bytes > 0).map((s) => html`<div class=${'seg ' + s.cls} style=${{ flexGrow: s.bytes, flexBasis: 0 }} title=${`${s.name}: ${s.bytes} bytes`}>
      <span>${s.name} ${s.bytes}</span>
    </div>`)}
  </div>
  <div class="skb-scale" aria-hidden="true"><span>head 0</span><span>end ${total}</span></div>`;
}

function frameSegments(skb, headers) {
  const segs = [{ name: 'headroom', bytes: skb.data - skb.head, cls: 'room' }];
  let left = skb.len;
  for (const hd of headers) {
    const b = Math.min(hd.len, left);
    segs.push({ name: hd.name, bytes: b, cls: 'hdr' });
    left -= b;
  }
  segs.push({ name: 'payload', bytes: left, cls: 'payload' });
  segs.push({ name: 'tailroom', bytes: skb.end - skb.tail, cls: 'room' });
  return segs;
}

function layerSegments(p) {
  return [
    { name: 'headroom', bytes: p.data - p.head, cls: 'room' },
    { name: 'len', bytes: p.len, cls: 'payload' },
    { name: 'tailroom', bytes: p.end - p.tail, cls: 'room' },
  ];
}

const off = (v, head) => (v < 0 ? 'unset' : v - head);

export function Anatomy({ frame }) {
  const skb = frame.skb;
  if (!skb) return html`<section class="panel"><h2>Anatomy</h2><p>This frame came without its sk_buff (the stream was opened without detail).</p></section>`;
  const size = skb.end - skb.head;
  const overhead = skb.truesize - size;
  const charged = skb.charged ? `socket ${skb.charged.socket}: ${skb.charged.bytes} bytes of its rmem (${skb.charged.rmem} of rcvbuf ${skb.charged.rcvbuf} in use)` : 'nobody';
  return html`<section class="panel anatomy" aria-labelledby="anatomy-title">
    <h2 id="anatomy-title">Frame ${frame.no}: its sk_buff</h2>
    <p class="summary">${frame.summary}</p>
    <${Bar} segments=${frameSegments(skb, frame.headers)} total=${size} label=${`sk_buff of frame ${frame.no}: headroom ${skb.headroom}, len ${skb.len}, tailroom ${skb.tailroom} bytes`} />
    <dl class="facts">
      <dt>headroom</dt><dd data-testid="anatomy-headroom">${skb.headroom}</dd>
      <dt>len</dt><dd data-testid="anatomy-len">${skb.len}</dd>
      <dt>tailroom</dt><dd data-testid="anatomy-tailroom">${skb.tailroom}</dd>
      <dt>truesize</dt><dd><span data-testid="anatomy-truesize">${skb.truesize}</span> <span class="hint">= data block ${size} + ${overhead} for sk_buff and skb_shared_info (rounded)</span></dd>
      <dt>offsets</dt><dd>head 0, data ${off(skb.data, skb.head)}, tail ${off(skb.tail, skb.head)}, end ${size}; mac ${off(skb.mac_header, skb.head)}, network ${off(skb.network_header, skb.head)}, transport ${off(skb.transport_header, skb.head)}</dd>
      <dt>shared</dt><dd>${skb.cloned ? 'cloned' : 'not cloned'}; data block ${skb.shared ? 'shared with another sk_buff' : 'private'}; users ${skb.users}</dd>
      <dt>charged to</dt><dd data-testid="anatomy-charged">${charged}</dd>
    </dl>
    ${frame.trace && html`<div class="trace">
      <h3>At each layer</h3>
      <table class="list">
        <thead><tr><th scope="col">Layer</th><th scope="col">Device</th><th scope="col">data</th><th scope="col">tail</th><th scope="col">len</th><th scope="col">charged</th><th scope="col">Buffer</th></tr></thead>
        <tbody>${frame.trace.map((p) => html`<tr data-layer=${p.layer}>
          <th scope="row"><code>${p.layer}</code></th><td>${p.dev ?? ''}</td><td>${p.data - p.head}</td><td>${p.tail - p.head}</td><td>${p.len}</td>
          <td>${p.charged ? `${p.charged} (${p.charged === 'rmem' ? `${p.sk.rmem}/${p.sk.rcvbuf}` : `${p.sk.wmem}/${p.sk.sndbuf}`})` : '—'}</td>
          <td class="mini"><${Bar} segments=${layerSegments(p)} total=${p.end - p.head} label=${`${p.layer}: headroom ${p.data - p.head}, len ${p.len}, tailroom ${p.end - p.tail}`} /></td>
        </tr>`)}</tbody>
      </table>
    </div>`}
  </section>`;
}
