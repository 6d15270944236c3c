// The device list and one device: flags, counters, addresses, and forms for
// up/down, MTU, MAC address, promiscuous mode and netem. A form sends exactly
// what was typed; when the service refuses it, its problem+json message is
// shown next to the field (and the device is unchanged: the API checks before
// it applies).

import { h } from './vendor/preact.mjs';
import { useEffect, useState } from './vendor/hooks.mjs';
import htm from './vendor/htm.mjs';
import { api, devPath, hasRoute, problemText } from './api.js';
import { fmtBytes, fmtRate } from './util.js';

const html = htm.bind(h);

export function stateClass(dev) {
  if (dev.operstate === 'UP' || (dev.operstate === 'UNKNOWN' && dev.flags.includes('UP'))) return 'state-up';
  if (dev.flags.includes('UP')) return 'state-lower';
  return 'state-down';
}

export function DeviceList({ devices, rates, selected, onSelect }) {
  return html`<section class="panel devices" aria-labelledby="devices-title">
    <h2 id="devices-title">Devices <span class="count">(${devices.length})</span></h2>
    <table class="list">
      <caption class="sr-only">Devices, with state and live rates; select one to see it</caption>
      <thead><tr><th scope="col">Name</th><th scope="col">Kind</th><th scope="col">State</th><th scope="col">MTU</th><th scope="col">RX</th><th scope="col">TX</th></tr></thead>
      <tbody>
        ${devices.map((d) => html`<tr key=${d.ifindex} class=${d.ifname === selected ? 'selected' : ''} data-device=${d.ifname}>
          <th scope="row"><button type="button" class="link" aria-pressed=${d.ifname === selected ? 'true' : 'false'} onClick=${() => onSelect(d.ifname)}>${d.ifname}</button></th>
          <td>${d.kind}</td>
          <td><span class=${'badge ' + stateClass(d)}>${d.operstate}</span></td>
          <td>${d.mtu}</td>
          <td>${fmtRate(rates[d.ifname]?.rx)}</td>
          <td>${fmtRate(rates[d.ifname]?.tx)}</td>
        </tr>`)}
      </tbody>
    </table>
  </section>`;
}

/** One field's form: a label, the input, Apply, and the service's answer next to it. */
function FieldForm({ id, label, type = 'text', initial, toBody, dev, hint }) {
  const [value, setValue] = useState(String(initial ?? ''));
  const [error, setError] = useState('');
  const [done, setDone] = useState('');
  useEffect(() => setValue(String(initial ?? '')), [initial, dev.ifname]);
  const submit = async (e) => {
    e.preventDefault();
    setDone('');
    const r = await api('PATCH', devPath(dev.ifname), toBody(value));
    if (r.ok) {
      setError('');
      setDone('applied');
    } else setError(problemText(r.problem));
  };
  const errId = `${id}-error`;
  return html`<form class="field" onSubmit=${submit}>
    <label for=${id}>${label}</label>
    <input id=${id} type=${type} value=${value} onInput=${(e) => setValue(e.currentTarget.value)}
      aria-invalid=${error ? 'true' : 'false'} aria-describedby=${error ? errId : hint ? `${id}-hint` : undefined} />
    <button type="submit">Apply</button>
    ${hint && !error && html`<span id=${`${id}-hint`} class="hint">${hint}</span>`}
    ${error && html`<span id=${errId} class="error" role="alert">${error}</span>`}
    ${done && !error && html`<span class="ok" role="status">${done}</span>`}
  </form>`;
}

/** A number as JSON when it is one, else the text as typed (the API says what is wrong). */
const numberOrText = (v) => (v.trim() !== '' && !Number.isNaN(Number(v)) ? Number(v) : v);

function Counters({ dev }) {
  const s = dev.stats64;
  if (!s) return null;
  const rows = [
    ['bytes', s.rx.bytes, s.tx.bytes],
    ['packets', s.rx.packets, s.tx.packets],
    ['errors', s.rx.errors, s.tx.errors],
    ['dropped', s.rx.dropped, s.tx.dropped],
  ];
  return html`<table class="counters">
    <caption>Counters</caption>
    <thead><tr><th scope="col"></th><th scope="col">RX</th><th scope="col">TX</th></tr></thead>
    <tbody>${rows.map(([n, rx, tx]) => html`<tr><th scope="row">${n}</th><td>${n === 'bytes' ? fmtBytes(rx) : rx}</td><td>${n === 'bytes' ? fmtBytes(tx) : tx}</td></tr>`)}</tbody>
  </table>`;
}

function Addresses({ dev }) {
  const [addrs, setAddrs] = useState(null);
  const [error, setError] = useState('');
  const [value, setValue] = useState('');
  const load = async () => {
    if (!(await hasRoute('get', '/v1/addresses'))) {
      setAddrs(undefined);
      return;
    }
    const r = await api('GET', '/v1/addresses');
    if (r.status === 404) setAddrs(undefined);
    else if (r.ok) setAddrs((r.body.find((d) => d.ifname === dev.ifname)?.addr_info ?? []));
  };
  useEffect(() => {
    load();
  }, [dev.ifname]);
  if (addrs === undefined) return html`<p class="hint">IPv4 addresses: this service has no address API.</p>`;
  const add = async (e) => {
    e.preventDefault();
    const r = await api('POST', `${devPath(dev.ifname)}/addresses`, { address: value });
    if (r.ok) {
      setError('');
      setValue('');
      load();
    } else setError(problemText(r.problem));
  };
  return html`<div class="addresses">
    <h3>IPv4 addresses</h3>
    <ul>${(addrs ?? []).map((a) => html`<li>${a.local}/${a.prefixlen} <span class="hint">scope ${a.scope}</span></li>`)}</ul>
    ${addrs !== null && addrs.length === 0 && html`<p class="hint">none</p>`}
    <form class="field" onSubmit=${add}>
      <label for="addr-add">Add address</label>
      <input id="addr-add" placeholder="198.51.100.1/24" value=${value} onInput=${(e) => setValue(e.currentTarget.value)}
        aria-invalid=${error ? 'true' : 'false'} aria-describedby=${error ? 'addr-add-error' : undefined} />
      <button type="submit">Add</button>
      ${error && html`<span id="addr-add-error" class="error" role="alert">${error}</span>`}
    </form>
  </div>`;
}

const NETEM_FIELDS = [
  ['delay_ms', 'netem-delay', 'Delay (ms)'],
  ['loss', 'netem-loss', 'Loss (%)'],
  ['rate_bps', 'netem-rate', 'Rate (bit/s)'],
];

/** netem's fields; a refused value gets the service's message next to it (from the problem's per-field errors). */
function NetemForm({ dev }) {
  const initial = () => Object.fromEntries(NETEM_FIELDS.map(([k]) => [k, String(dev.netem?.[k] ?? '')]));
  const [values, setValues] = useState(initial);
  const [errors, setErrors] = useState({});
  const [error, setError] = useState('');
  useEffect(() => {
    setValues(initial());
    setErrors({});
    setError('');
  }, [dev.ifname]);
  const send = async (netem) => {
    const r = await api('PATCH', devPath(dev.ifname), { netem });
    const perField = {};
    let general = '';
    if (!r.ok) {
      for (const e of r.problem.issues ?? r.problem.errors ?? []) {
        const key = NETEM_FIELDS.find(([k]) => e.path.endsWith(`netem/${k}`))?.[0];
        if (key) perField[key] = `${r.problem.errno}: ${e.message}`;
      }
      if (Object.keys(perField).length === 0) general = problemText(r.problem);
    }
    setErrors(perField);
    setError(general);
  };
  const submit = (e) => {
    e.preventDefault();
    const netem = {};
    for (const [k] of NETEM_FIELDS) if (values[k].trim() !== '') netem[k] = numberOrText(values[k]);
    send(netem);
  };
  return html`<form class="netem" onSubmit=${submit} aria-labelledby="netem-title">
    <h3 id="netem-title">netem ${dev.netem ? html`<span class="hint">(active)</span>` : html`<span class="hint">(none)</span>`}</h3>
    ${NETEM_FIELDS.map(([k, id, label]) => html`<label for=${id}>${label}</label>
      <input id=${id} value=${values[k]} onInput=${(e) => setValues({ ...values, [k]: e.currentTarget.value })}
        aria-invalid=${errors[k] ? 'true' : 'false'} aria-describedby=${errors[k] ? `${id}-error` : undefined} />
      <span id=${`${id}-error`} class="error" role=${errors[k] ? 'alert' : undefined}>${errors[k] ?? ''}</span>`)}
    <div class="buttons"><button type="submit">Apply netem</button>
    <button type="button" onClick=${() => send(null)} disabled=${!dev.netem}>Remove netem</button></div>
    ${error && html`<span id="netem-error" class="error" role="alert">${error}</span>`}
  </form>`;
}

export function DevicePanel({ dev, onShowFrames }) {
  const [upError, setUpError] = useState('');
  const isUp = dev.flags.includes('UP');
  const toggle = async () => {
    const r = await api('PATCH', devPath(dev.ifname), { up: !isUp });
    setUpError(r.ok ? '' : problemText(r.problem));
  };
  const promisc = async (e) => {
    const r = await api('PATCH', devPath(dev.ifname), { promisc: e.currentTarget.checked });
    setUpError(r.ok ? '' : problemText(r.problem));
  };
  return html`<section class="panel device" aria-labelledby="device-title">
    <h2 id="device-title">${dev.ifname} <span class="hint">${dev.kind}${dev.link ? ` @ ${dev.link}` : ''}, ifindex ${dev.ifindex}</span></h2>
    <p>
      <span class=${'badge ' + stateClass(dev)} data-testid="operstate">${dev.operstate}</span>
      <span class="flags" data-testid="flags">${'<' + dev.flags.join(',') + '>'}</span>
    </p>
    <dl class="facts">
      <dt>MAC</dt><dd>${dev.address}</dd>
      <dt>MTU</dt><dd data-testid="mtu">${dev.mtu}</dd>
      <dt>qdisc</dt><dd>${dev.qdisc} (txqueuelen ${dev.txqlen})</dd>
      <dt>promiscuity</dt><dd>${dev.promiscuity}</dd>
    </dl>
    <div class="actions">
      <button type="button" onClick=${toggle} aria-describedby=${upError ? 'up-error' : undefined}>${isUp ? 'Bring down' : 'Bring up'}</button>
      <label class="check"><input type="checkbox" checked=${dev.promiscuity > 0} onChange=${promisc} /> promiscuous</label>
      <button type="button" onClick=${onShowFrames}>Watch frames</button>
      ${upError && html`<span id="up-error" class="error" role="alert">${upError}</span>`}
    </div>
    <${FieldForm} id="mtu" label="MTU" initial=${dev.mtu} dev=${dev} toBody=${(v) => ({ mtu: numberOrText(v) })} hint=${`${dev.min_mtu ?? 68}..${dev.max_mtu ?? 65535}`} />
    <${FieldForm} id="mac" label="MAC address" initial=${dev.address} dev=${dev} toBody=${(v) => ({ address: v })} />
    <${FieldForm} id="txqlen" label="txqueuelen" initial=${dev.txqlen} dev=${dev} toBody=${(v) => ({ txqlen: numberOrText(v) })} />
    <${NetemForm} dev=${dev} />
    <${Counters} dev=${dev} />
    <${Addresses} dev=${dev} />
  </section>`;
}
