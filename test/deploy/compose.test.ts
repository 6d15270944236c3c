// The deployment files: docker-compose.yml, Dockerfile, deploy/ (Prometheus,
// Grafana, netstackd configs). No Docker daemon is needed: the files are
// parsed and cross-checked, and promtool checks what it can when installed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const repoPath = (...p: string[]): string => path.join(root, ...p);

// DESIGN.md §3: the only metric names the service exports (besides
// prom-client's process metrics, which the dashboard does not use).
const METRICS = [
  'netstack_network_receive_bytes_total',
  'netstack_network_receive_packets_total',
  'netstack_network_receive_drop_total',
  'netstack_network_receive_errs_total',
  'netstack_network_transmit_bytes_total',
  'netstack_network_transmit_packets_total',
  'netstack_network_transmit_drop_total',
  'netstack_network_transmit_errs_total',
  'netstack_network_up',
  'netstack_network_mtu_bytes',
  'netstack_network_transmit_queue_length',
  'netstack_qdisc_qlen',
  'netstack_qdisc_backlog_bytes',
  'netstack_qdisc_drops_total',
  'netstack_softnet_backlog_packets',
  'netstack_softnet_dropped_total',
  'netstack_socket_rmem_bytes',
  'netstack_socket_wmem_bytes',
  'netstack_socket_drops_total',
  'netstack_skb_in_use',
  'netstack_skb_bytes',
  'netstack_skb_allocs_total',
  'netstack_skb_frees_total',
  'netstack_skb_clones_total',
  'netstack_skb_copies_total',
  'netstack_drops_total',
] as const;
const METRIC_SET: ReadonlySet<string> = new Set(METRICS);

// ---------------------------------------------------------------- helpers

type Dict = Record<string, unknown>;

function isDict(v: unknown): v is Dict {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
function dict(v: unknown, what: string): Dict {
  if (!isDict(v)) assert.fail(`${what}: expected a mapping, got ${JSON.stringify(v)}`);
  return v;
}
function list(v: unknown, what: string): unknown[] {
  if (!Array.isArray(v)) assert.fail(`${what}: expected a list, got ${JSON.stringify(v)}`);
  return v;
}
function str(v: unknown, what: string): string {
  if (typeof v !== 'string') assert.fail(`${what}: expected a string, got ${JSON.stringify(v)}`);
  return v;
}

function readText(rel: string): string {
  return readFileSync(repoPath(rel), 'utf8');
}
function readYaml(rel: string): Dict {
  return dict(parseYaml(readText(rel)), rel);
}
function readJson(rel: string): Dict {
  return dict(JSON.parse(readText(rel)), rel);
}

function which(cmd: string): string | undefined {
  for (const dir of (process.env['PATH'] ?? '').split(path.delimiter)) {
    if (dir === '') continue;
    const p = path.join(dir, cmd);
    try {
      if (statSync(p).isFile()) return p;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

// ---------------------------------------------------------------- compose model

const COMPOSE = 'docker-compose.yml';

function compose(): Dict {
  return readYaml(COMPOSE);
}
function services(): Dict {
  return dict(compose()['services'], 'services');
}
function service(name: string): Dict {
  return dict(services()[name], `services.${name}`);
}

interface Port {
  hostIp: string | undefined;
  published: number | undefined;
  target: number;
  protocol: string;
}

function parsePort(p: unknown, what: string): Port {
  if (typeof p === 'string') {
    const [spec = '', protocol = 'tcp'] = p.split('/');
    const parts = spec.split(':');
    const target = Number(parts.at(-1));
    const published = parts.length >= 2 ? Number(parts.at(-2)) : undefined;
    const hostIp = parts.length === 3 ? parts[0] : undefined;
    assert.ok(Number.isInteger(target), `${what}: bad port ${p}`);
    return { hostIp, published, target, protocol };
  }
  const d = dict(p, what);
  return {
    hostIp: typeof d['host_ip'] === 'string' ? d['host_ip'] : undefined,
    published: d['published'] === undefined ? undefined : Number(d['published']),
    target: Number(d['target']),
    protocol: typeof d['protocol'] === 'string' ? d['protocol'] : 'tcp',
  };
}

function ports(name: string): Port[] {
  const ps = service(name)['ports'];
  if (ps === undefined) return [];
  return list(ps, `${name}.ports`).map((p, i) => parsePort(p, `${name}.ports[${i}]`));
}

interface Mount {
  kind: 'bind' | 'volume';
  source: string;
  target: string;
  readOnly: boolean;
}

function parseMount(v: unknown, what: string): Mount {
  if (typeof v === 'string') {
    const [source = '', target = '', mode = ''] = v.split(':');
    assert.ok(source !== '' && target !== '', `${what}: want source:target, got ${v}`);
    const kind = /^[./~]/.test(source) ? 'bind' : 'volume';
    return { kind, source, target, readOnly: mode.split(',').includes('ro') };
  }
  const d = dict(v, what);
  const type = str(d['type'], `${what}.type`);
  assert.ok(type === 'bind' || type === 'volume', `${what}: mount type ${type}`);
  return {
    kind: type,
    source: str(d['source'], `${what}.source`),
    target: str(d['target'], `${what}.target`),
    readOnly: d['read_only'] === true,
  };
}

function mounts(name: string): Mount[] {
  const vs = service(name)['volumes'];
  if (vs === undefined) return [];
  return list(vs, `${name}.volumes`).map((v, i) => parseMount(v, `${name}.volumes[${i}]`));
}

function profiles(name: string): string[] {
  const p = service(name)['profiles'];
  return p === undefined ? [] : list(p, `${name}.profiles`).map((x) => str(x, `${name}.profiles[]`));
}

function command(name: string): string[] {
  const c = service(name)['command'];
  if (c === undefined) return [];
  if (typeof c === 'string') return c.split(/\s+/).filter((s) => s !== '');
  return list(c, `${name}.command`).map((x) => str(x, `${name}.command[]`));
}

function optionValue(args: string[], option: string): string | undefined {
  const i = args.indexOf(option);
  return i >= 0 ? args[i + 1] : undefined;
}

function environment(name: string): Record<string, string> {
  const e = service(name)['environment'];
  const out: Record<string, string> = {};
  if (e === undefined) return out;
  if (Array.isArray(e)) {
    for (const kv of e) {
      const s = str(kv, `${name}.environment[]`);
      const eq = s.indexOf('=');
      out[eq < 0 ? s : s.slice(0, eq)] = eq < 0 ? '' : s.slice(eq + 1);
    }
  } else {
    for (const [k, v] of Object.entries(dict(e, `${name}.environment`))) out[k] = String(v);
  }
  return out;
}

function buildOf(name: string): { context: string; dockerfile: string } | undefined {
  const b = service(name)['build'];
  if (b === undefined) return undefined;
  if (typeof b === 'string') return { context: b, dockerfile: 'Dockerfile' };
  const d = dict(b, `${name}.build`);
  return {
    context: typeof d['context'] === 'string' ? d['context'] : '.',
    dockerfile: typeof d['dockerfile'] === 'string' ? d['dockerfile'] : 'Dockerfile',
  };
}

function mountOf(name: string, target: string): Mount {
  const m = mounts(name).find((x) => x.target === target);
  if (m === undefined) assert.fail(`${name} mounts nothing on ${target}`);
  return m;
}

// ---------------------------------------------------------------- compose tests

test('docker-compose.yml: services, profiles, no top-level version', () => {
  const c = compose();
  assert.equal(c['version'], undefined, 'top-level `version:` is obsolete in the Compose spec');
  const names = Object.keys(services()).sort();
  assert.deepEqual(names, ['grafana', 'netstackd', 'netstackd-b', 'prometheus']);
  for (const name of ['netstackd', 'prometheus', 'grafana']) {
    assert.deepEqual(profiles(name), [], `${name} runs without a profile`);
  }
  assert.deepEqual(profiles('netstackd-b'), ['vxlan']);

  for (const [name, svc] of Object.entries(services())) {
    const s = dict(svc, name);
    assert.ok(s['build'] !== undefined || s['image'] !== undefined, `${name} has build or image`);
    for (const dep of Object.keys(isDict(s['depends_on']) ? s['depends_on'] : {})) {
      assert.ok(dep in services(), `${name} depends on unknown service ${dep}`);
    }
    if (Array.isArray(s['depends_on'])) {
      for (const dep of s['depends_on']) assert.ok(String(dep) in services(), `${name} depends on unknown ${dep}`);
    }
  }
});

test('docker-compose.yml: netstackd services build the Dockerfile and run as a service should', () => {
  for (const name of ['netstackd', 'netstackd-b']) {
    const s = service(name);
    assert.deepEqual(buildOf(name), { context: '.', dockerfile: 'Dockerfile' }, `${name} builds .`);
    assert.equal(s['init'], true, `${name}: init: true (tini forwards SIGTERM)`);
    assert.equal(s['stop_grace_period'], '15s', `${name}: stop_grace_period`);
    const hc = dict(s['healthcheck'], `${name}.healthcheck`);
    const testCmd = list(hc['test'], `${name}.healthcheck.test`).map(String).join(' ');
    assert.match(testCmd, /^CMD node /, `${name}: healthcheck runs node (no curl in node:20-slim)`);
    assert.match(testCmd, /http:\/\/127\.0\.0\.1:8470\/healthz/, `${name}: healthcheck fetches /healthz`);

    const args = command(name);
    assert.equal(optionValue(args, '--listen'), '0.0.0.0:8470', `${name}: listens on all addresses`);
    assert.equal(optionValue(args, '--state'), '/var/lib/netstackd/state.json', `${name}: state file`);
    assert.equal(optionValue(args, '--config'), '/etc/netstackd/config.json', `${name}: config file`);
  }
});

test('docker-compose.yml: published ports', () => {
  const want: Record<string, Array<[number, number, string]>> = {
    netstackd: [
      [8470, 8470, 'tcp'],
      [4789, 4789, 'udp'],
    ],
    'netstackd-b': [[8471, 8470, 'tcp']],
    prometheus: [[9090, 9090, 'tcp']],
    grafana: [[3000, 3000, 'tcp']],
  };
  const seen = new Map<string, string>();
  for (const [name, expected] of Object.entries(want)) {
    for (const p of list(service(name)['ports'], `${name}.ports`)) {
      // Unquoted a:b can be read as a base-60 number by YAML 1.1 parsers.
      assert.equal(typeof p, 'string', `${name}: quote port mappings (${JSON.stringify(p)})`);
    }
    const got = ports(name).map((p): [number, number, string] => [p.published ?? NaN, p.target, p.protocol]);
    assert.deepEqual(got, expected, `${name} ports`);
    for (const p of ports(name)) {
      const key = `${p.hostIp ?? '*'}:${p.published}/${p.protocol}`;
      assert.ok(!seen.has(key), `${name} and ${seen.get(key)} both publish ${key}`);
      seen.set(key, name);
    }
  }
});

test('docker-compose.yml: images are pinned', () => {
  assert.equal(service('prometheus')['image'], 'prom/prometheus:v2.53.0');
  assert.equal(service('grafana')['image'], 'grafana/grafana:11.1.0');
  for (const [name, svc] of Object.entries(services())) {
    const image = dict(svc, name)['image'];
    if (image === undefined) continue;
    const tag = str(image, `${name}.image`).split(':')[1];
    assert.ok(tag !== undefined && tag !== 'latest', `${name}: pin a tag, not ${image}`);
  }
});

test('docker-compose.yml: volumes', () => {
  const declared = Object.keys(dict(compose()['volumes'] ?? {}, 'volumes'));
  assert.deepEqual(mountOf('netstackd', '/var/lib/netstackd'), {
    kind: 'volume',
    source: 'netstackd-state',
    target: '/var/lib/netstackd',
    readOnly: false,
  });
  const bState = mountOf('netstackd-b', '/var/lib/netstackd');
  assert.equal(bState.kind, 'volume');
  assert.notEqual(bState.source, 'netstackd-state', 'the two instances keep separate state');

  for (const name of Object.keys(services())) {
    for (const m of mounts(name)) {
      if (m.kind === 'volume') {
        assert.ok(declared.includes(m.source), `${name}: volume ${m.source} is declared under top-level volumes`);
      } else {
        assert.ok(m.readOnly, `${name}: bind mount ${m.source} is read-only`);
      }
    }
  }
  assert.equal(mountOf('prometheus', '/etc/prometheus/prometheus.yml').source, './deploy/prometheus.yml');
  assert.equal(mountOf('grafana', '/etc/grafana/provisioning').source, './deploy/grafana/provisioning');
  assert.equal(mountOf('grafana', '/var/lib/grafana/dashboards').source, './deploy/grafana/dashboards');
  assert.equal(mountOf('netstackd', '/etc/netstackd/config.json').source, './deploy/netstackd-a.json');
  assert.equal(mountOf('netstackd-b', '/etc/netstackd/config.json').source, './deploy/netstackd-b.json');
});

test('docker-compose.yml: every file and directory it references exists', () => {
  for (const name of Object.keys(services())) {
    const b = buildOf(name);
    if (b !== undefined) {
      const ctx = repoPath(b.context);
      assert.ok(existsSync(ctx) && statSync(ctx).isDirectory(), `${name}: build context ${b.context}`);
      const df = path.join(ctx, b.dockerfile);
      assert.ok(existsSync(df) && statSync(df).isFile(), `${name}: ${b.dockerfile} in ${b.context}`);
    }
    for (const m of mounts(name)) {
      if (m.kind !== 'bind') continue;
      const host = repoPath(m.source);
      assert.ok(existsSync(host), `${name}: mounted ${m.source} exists`);
      // A file mounted on a path that looks like a file, a directory on one
      // that does not: Docker creates a missing source as a directory.
      const looksLikeFile = /\.[a-z]+$/.test(m.target);
      assert.equal(statSync(host).isFile(), looksLikeFile, `${name}: ${m.source} -> ${m.target} file/dir kind`);
    }
  }
  assert.ok(existsSync(repoPath('deploy/grafana/dashboards/netstackd.json')));
  assert.ok(existsSync(repoPath('deploy/grafana/provisioning/datasources/prometheus.yml')));
  assert.ok(existsSync(repoPath('deploy/grafana/provisioning/dashboards/netstackd.yml')));
});

// ---------------------------------------------------------------- Dockerfile

interface Instruction {
  op: string;
  args: string;
}

function dockerfile(): Instruction[] {
  const joined = readText('Dockerfile').replace(/\\\r?\n/g, ' ');
  const out: Instruction[] = [];
  for (const line of joined.split(/\r?\n/)) {
    const t = line.trim();
    if (t === '' || t.startsWith('#')) continue;
    const m = /^(\S+)\s*(.*)$/.exec(t);
    if (m === null) continue;
    out.push({ op: (m[1] ?? '').toUpperCase(), args: (m[2] ?? '').trim() });
  }
  return out;
}

function jsonArgs(ins: Instruction): string[] {
  const v: unknown = JSON.parse(ins.args);
  return list(v, ins.op).map((x) => str(x, ins.op));
}

test('Dockerfile: node:20-slim, non-root user, ports, entrypoint, healthcheck', () => {
  const ins = dockerfile();
  const froms = ins.filter((i) => i.op === 'FROM');
  assert.ok(froms.length >= 2, 'multi-stage build');
  for (const f of froms) assert.match(f.args, /^node:20-slim(\s|$)/, `FROM ${f.args}`);

  // The instructions after the last FROM make the image that runs.
  const lastFrom = ins.lastIndexOf(froms.at(-1) as Instruction);
  const final = ins.slice(lastFrom);
  const users = final.filter((i) => i.op === 'USER');
  const user = users.at(-1)?.args;
  assert.ok(user !== undefined, 'the final stage sets USER');
  assert.ok(!/^(root|0)(:|$)/.test(user), `runs as a non-root user, not ${user}`);
  assert.equal(user, 'node');

  const exposed = final.filter((i) => i.op === 'EXPOSE').flatMap((i) => i.args.split(/\s+/));
  assert.ok(exposed.includes('8470') || exposed.includes('8470/tcp'), 'EXPOSE 8470');
  assert.ok(exposed.includes('4789/udp'), 'EXPOSE 4789/udp');

  const entry = final.find((i) => i.op === 'ENTRYPOINT');
  assert.ok(entry !== undefined, 'ENTRYPOINT');
  // The image runs the compiled service (dist/, built by `prepare` in the
  // deps stage), through the same bin that `npx netstackd` runs.
  assert.deepEqual(jsonArgs(entry), ['node', 'bin/netstackd.js']);
  assert.ok(final.some((i) => i.op === 'COPY' && /--from=deps\s+\/app\/dist/.test(i.args)), 'the final stage copies dist/ from the deps stage');
  const cmd = final.find((i) => i.op === 'CMD');
  assert.ok(cmd !== undefined, 'CMD');
  assert.deepEqual(jsonArgs(cmd), ['--listen', '0.0.0.0:8470', '--state', '/var/lib/netstackd/state.json']);

  const hc = final.find((i) => i.op === 'HEALTHCHECK');
  assert.ok(hc !== undefined, 'HEALTHCHECK');
  assert.match(hc.args, /fetch\('http:\/\/127\.0\.0\.1:8470\/healthz'\)/);
  assert.ok(final.some((i) => i.op === 'VOLUME' && i.args.includes('/var/lib/netstackd')), 'VOLUME /var/lib/netstackd');
  assert.ok(
    final.some((i) => i.op === 'RUN' && /chown\s+node:node\s+\/var\/lib\/netstackd/.test(i.args)),
    '/var/lib/netstackd is owned by node',
  );

  // The deps stage compiles with `npm ci` (prepare -> build): it needs the
  // tsconfigs and src/ before it runs.
  const pkg = readJson('package.json');
  const scripts = dict(pkg['scripts'], 'scripts');
  assert.equal(scripts['prepare'], 'npm run build');
  const deps = ins.slice(0, lastFrom);
  const runCi = deps.findIndex((i) => i.op === 'RUN' && /npm ci/.test(i.args));
  assert.ok(runCi > 0, 'the deps stage runs npm ci');
  const copied = deps.slice(0, runCi).filter((i) => i.op === 'COPY').map((i) => i.args).join(' ');
  for (const need of ['tsconfig.json', 'tsconfig.build.json', 'src/']) assert.ok(copied.includes(need), `${need} is copied before npm ci`);
});

test('Dockerfile: every COPY source exists and is not excluded by .dockerignore', () => {
  const ignore = readText('.dockerignore')
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  for (const p of ['node_modules', '.git', 'bench/bin', '*.log']) {
    assert.ok(ignore.includes(p), `.dockerignore lists ${p}`);
  }
  const norm = (p: string): string => p.replace(/^\.\//, '').replace(/\/+$/, '');
  for (const ins of dockerfile()) {
    if (ins.op !== 'COPY' && ins.op !== 'ADD') continue;
    const words = ins.args.split(/\s+/);
    if (words.some((w) => w.startsWith('--from='))) continue;
    const sources = words.filter((w) => !w.startsWith('--')).slice(0, -1);
    assert.ok(sources.length > 0, `${ins.op} ${ins.args}`);
    for (const src of sources) {
      assert.ok(existsSync(repoPath(src)), `${ins.op} ${src}: missing from the build context`);
      assert.ok(!ignore.map(norm).includes(norm(src)), `${ins.op} ${src}: excluded by .dockerignore`);
    }
  }
});

// ---------------------------------------------------------------- Prometheus

test('deploy/prometheus.yml: 5s scrapes of every netstackd service', () => {
  const cfg = readYaml('deploy/prometheus.yml');
  assert.equal(dict(cfg['global'], 'global')['scrape_interval'], '5s');
  const jobs = list(cfg['scrape_configs'], 'scrape_configs').map((j, i) => dict(j, `scrape_configs[${i}]`));
  const job = jobs.find((j) => j['job_name'] === 'netstackd');
  assert.ok(job !== undefined, 'job netstackd');
  assert.ok(job['metrics_path'] === undefined || job['metrics_path'] === '/metrics');
  const targets = list(job['static_configs'], 'static_configs').flatMap((sc, i) =>
    list(dict(sc, `static_configs[${i}]`)['targets'], 'targets').map((t) => str(t, 'target')),
  );
  assert.deepEqual(targets.sort(), ['netstackd-b:8470', 'netstackd:8470']);
  // Each target is a compose service, at the port it listens on inside the network.
  for (const t of targets) {
    const [host = '', port = ''] = t.split(':');
    assert.ok(host in services(), `${t}: ${host} is a compose service`);
    assert.equal(optionValue(command(host), '--listen')?.split(':')[1], port, `${t}: ${host} listens on ${port}`);
  }
});

test('promtool check config deploy/prometheus.yml', (t) => {
  const promtool = which('promtool');
  if (promtool === undefined) {
    t.skip('promtool is not on PATH (Debian package prometheus; .ci/run installs it)');
    return;
  }
  const r = spawnSync(promtool, ['check', 'config', repoPath('deploy/prometheus.yml')], { encoding: 'utf8' });
  assert.equal(r.status, 0, `promtool check config failed:\n${r.stdout}${r.stderr}`);
});

// ---------------------------------------------------------------- Grafana

function dashboard(): Dict {
  return readJson('deploy/grafana/dashboards/netstackd.json');
}

function allPanels(d: Dict): Dict[] {
  const out: Dict[] = [];
  const walk = (ps: unknown, what: string): void => {
    for (const [i, p] of list(ps, what).entries()) {
      const panel = dict(p, `${what}[${i}]`);
      out.push(panel);
      if (panel['panels'] !== undefined) walk(panel['panels'], `${what}[${i}].panels`);
    }
  };
  walk(d['panels'], 'panels');
  return out;
}

interface Expression {
  where: string;
  expr: string;
}

function expressions(d: Dict): Expression[] {
  const out: Expression[] = [];
  for (const p of allPanels(d)) {
    if (p['targets'] === undefined) continue;
    for (const [i, t] of list(p['targets'], 'targets').entries()) {
      const target = dict(t, `panel ${String(p['title'])} target ${i}`);
      out.push({ where: `panel "${String(p['title'])}" ${String(target['refId'])}`, expr: str(target['expr'], 'expr') });
    }
  }
  const templ = dict(d['templating'] ?? { list: [] }, 'templating');
  for (const v of list(templ['list'], 'templating.list')) {
    const variable = dict(v, 'variable');
    if (variable['type'] !== 'query') continue;
    const q = variable['query'];
    const expr = typeof q === 'string' ? q : str(dict(q, 'variable.query')['query'], 'variable.query.query');
    out.push({ where: `variable $${String(variable['name'])}`, expr });
  }
  return out;
}

// Words of PromQL (and Grafana's label_values) that are not metric names.
const PROMQL_WORDS: ReadonlySet<string> = new Set([
  'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'and', 'or', 'unless', 'offset',
  'sum', 'min', 'max', 'avg', 'group', 'stddev', 'stdvar', 'count', 'count_values', 'bottomk', 'topk', 'quantile',
  'rate', 'irate', 'increase', 'delta', 'idelta', 'deriv', 'predict_linear', 'resets', 'changes',
  'avg_over_time', 'min_over_time', 'max_over_time', 'sum_over_time', 'count_over_time', 'last_over_time',
  'quantile_over_time', 'stddev_over_time', 'present_over_time', 'histogram_quantile',
  'abs', 'absent', 'ceil', 'floor', 'round', 'clamp', 'clamp_min', 'clamp_max', 'scalar', 'vector', 'time',
  'sort', 'sort_desc', 'label_replace', 'label_join',
  'label_values', 'label_names', 'metrics', 'query_result',
]);

/** The metric names an expression selects. */
function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, ' ') // string literals
    .replace(/\$\{[^}]*\}|\$\w+/g, ' ') // Grafana variables
    .replace(/\{[^}]*\}/g, ' ') // label matchers
    .replace(/\[[^\]]*\]/g, ' ') // ranges and subqueries
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ') // label lists
    .replace(/\blabel_values\s*\(([^,()]*),[^()]*\)/g, ' $1 '); // label_values(metric, label)
  const tokens = stripped.match(/[0-9][0-9a-zA-Z_.]*|[a-zA-Z_:][a-zA-Z0-9_:]*/g) ?? [];
  return tokens.filter((w) => !/^[0-9]/.test(w) && !PROMQL_WORDS.has(w));
}

test('metricNames() reads PromQL as intended', () => {
  assert.deepEqual(metricNames('sum by (reason) (rate(netstack_drops_total[1m]))'), ['netstack_drops_total']);
  assert.deepEqual(metricNames('rate(a_total{device=~"$device", x="y z"}[$__rate_interval]) / 2e3'), ['a_total']);
  assert.deepEqual(metricNames('label_values(netstack_network_up, device)'), ['netstack_network_up']);
  assert.deepEqual(metricNames('label_values(netstack_network_up{instance="a"}, device)'), ['netstack_network_up']);
  assert.deepEqual(metricNames('a / on (device) group_left b offset 5m'), ['a', 'b']);
});

test('Grafana dashboard: parses, identity, device variable', () => {
  const d = dashboard();
  assert.equal(d['uid'], 'netstackd');
  assert.equal(d['title'], 'netstackd');
  assert.equal(d['schemaVersion'], 39);
  const vars = list(dict(d['templating'], 'templating')['list'], 'templating.list').map((v) => dict(v, 'variable'));
  const device = vars.find((v) => v['name'] === 'device');
  assert.ok(device !== undefined, 'variable device');
  assert.equal(device['type'], 'query');
  const q = device['query'];
  const query = typeof q === 'string' ? q : dict(q, 'device.query')['query'];
  assert.equal(query, 'label_values(netstack_network_up{instance="$instance"}, device)');

  const ids = new Set<number>();
  for (const p of allPanels(d)) {
    const id = Number(p['id']);
    assert.ok(!ids.has(id), `panel id ${id} is unique`);
    ids.add(id);
    const g = dict(p['gridPos'], `panel ${id} gridPos`);
    assert.ok(Number(g['x']) + Number(g['w']) <= 24, `panel ${id} fits in 24 columns`);
    if (p['type'] === 'row') continue;
    assert.ok(list(p['targets'], `panel ${id} targets`).length > 0, `panel ${String(p['title'])} has queries`);
    assert.deepEqual(p['datasource'], { type: 'prometheus', uid: 'prometheus' }, `panel ${String(p['title'])} datasource`);
  }
});

test('Grafana dashboard: every expression uses only DESIGN.md §3 metric names, and all of them', () => {
  const used = new Set<string>();
  const exprs = expressions(dashboard());
  assert.ok(exprs.length > 0);
  for (const { where, expr } of exprs) {
    const names = metricNames(expr);
    assert.ok(names.length > 0, `${where}: no metric in ${expr}`);
    for (const n of names) {
      assert.ok(METRIC_SET.has(n), `${where}: ${n} is not a netstackd metric (${expr})`);
      used.add(n);
    }
  }
  assert.deepEqual(
    METRICS.filter((m) => !used.has(m)),
    [],
    'every metric has a panel',
  );
  for (const needed of [
    'rate(netstack_network_receive_packets_total{instance="$instance", device=~"$device"}[1m])',
    'sum by (reason) (rate(netstack_drops_total{instance="$instance"}[1m]))',
    'rate(netstack_softnet_dropped_total{instance="$instance"}[1m])',
  ]) {
    assert.ok(exprs.some((e) => e.expr === needed), `a panel queries ${needed}`);
  }
});

test('Grafana dashboard: every expression is valid PromQL (promtool check rules)', (t) => {
  const promtool = which('promtool');
  if (promtool === undefined) {
    t.skip('promtool is not on PATH (Debian package prometheus; .ci/run installs it)');
    return;
  }
  const exprs = expressions(dashboard()).filter((e) => !e.expr.startsWith('label_values('));
  const rules = exprs.map((e, i) => ({
    record: `dashboard:expr_${i}`,
    expr: e.expr.replaceAll('$device', '.*'),
  }));
  const dir = mkdtempSync(path.join(os.tmpdir(), 'netstackd-dash-'));
  try {
    const file = path.join(dir, 'rules.json');
    // JSON is YAML, and promtool reads rule files as YAML.
    writeFileSync(file, JSON.stringify({ groups: [{ name: 'dashboard', rules }] }));
    const r = spawnSync(promtool, ['check', 'rules', file], { encoding: 'utf8' });
    assert.equal(r.status, 0, `promtool check rules failed:\n${r.stdout}${r.stderr}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('Grafana provisioning: datasource and dashboard provider match compose', () => {
  const ds = readYaml('deploy/grafana/provisioning/datasources/prometheus.yml');
  assert.equal(ds['apiVersion'], 1);
  const sources = list(ds['datasources'], 'datasources').map((x) => dict(x, 'datasource'));
  const prom = sources.find((s) => s['type'] === 'prometheus');
  assert.ok(prom !== undefined, 'a prometheus datasource');
  assert.equal(prom['uid'], 'prometheus');
  assert.equal(prom['url'], 'http://prometheus:9090');
  assert.ok(ports('prometheus').some((p) => p.target === 9090), 'prometheus listens on 9090');

  const dp = readYaml('deploy/grafana/provisioning/dashboards/netstackd.yml');
  assert.equal(dp['apiVersion'], 1);
  const providers = list(dp['providers'], 'providers').map((x) => dict(x, 'provider'));
  const file = providers.find((p) => p['type'] === 'file');
  assert.ok(file !== undefined, 'a file provider');
  const dir = dict(file['options'], 'provider.options')['path'];
  assert.equal(dir, '/var/lib/grafana/dashboards');
  assert.equal(mountOf('grafana', str(dir, 'path')).source, './deploy/grafana/dashboards');

  const env = environment('grafana');
  assert.equal(env['GF_AUTH_ANONYMOUS_ENABLED'], 'true', 'anonymous access');
  assert.equal(env['GF_AUTH_ANONYMOUS_ORG_ROLE'], 'Viewer', 'anonymous users only view');
});

// ---------------------------------------------------------------- netstackd configs

interface VxlanDevice {
  name: string;
  vni: number;
  local: string;
  remote: string[];
}

function vxlanDevices(rel: string): VxlanDevice[] {
  const cfg = readJson(rel);
  for (const k of Object.keys(cfg)) assert.ok(['devices', 'sysctl'].includes(k), `${rel}: unknown key ${k}`);
  if (cfg['sysctl'] !== undefined) {
    for (const [k, v] of Object.entries(dict(cfg['sysctl'], `${rel} sysctl`))) {
      assert.match(k, /^net\.[a-z0-9_.]+$/, `${rel}: sysctl name ${k}`);
      assert.equal(typeof v, 'number', `${rel}: sysctl ${k} is a number`);
    }
  }
  const out: VxlanDevice[] = [];
  for (const [i, d] of list(cfg['devices'], `${rel} devices`).entries()) {
    const dev = dict(d, `${rel} devices[${i}]`);
    if (dev['kind'] !== 'vxlan') continue;
    const remote = list(dev['remote'], `${rel} ${String(dev['name'])}.remote`).map((r) => str(r, 'remote'));
    for (const r of [...remote, str(dev['local'], 'local')]) assert.match(r, /^[A-Za-z0-9.-]+:\d+$/, `${rel}: host:port ${r}`);
    assert.equal(dev['up'], true, `${rel}: ${String(dev['name'])} is brought up`);
    out.push({ name: str(dev['name'], 'name'), vni: Number(dev['vni']), local: str(dev['local'], 'local'), remote });
  }
  return out;
}

test('deploy/netstackd-*.json: the two instances are joined by vxlan devices pointing at each other', () => {
  const a = vxlanDevices('deploy/netstackd-a.json');
  const b = vxlanDevices('deploy/netstackd-b.json');
  assert.equal(a.length, 1, 'netstackd-a.json has one vxlan device');
  assert.equal(b.length, 1, 'netstackd-b.json has one vxlan device');
  const [va, vb] = [a[0] as VxlanDevice, b[0] as VxlanDevice];
  assert.equal(va.vni, vb.vni, 'same VNI on both ends');
  assert.ok(Number.isInteger(va.vni) && va.vni > 0 && va.vni < 2 ** 24, 'VNI is 24 bits');

  // Service name -> its config file, from the compose mounts.
  const ends: Array<[string, VxlanDevice]> = [
    ['netstackd', va],
    ['netstackd-b', vb],
  ];
  for (const [svc, dev] of ends) {
    const [peerSvc, peerDev] = ends.find(([s]) => s !== svc) as [string, VxlanDevice];
    const peerPort = peerDev.local.split(':')[1];
    assert.deepEqual(dev.remote, [`${peerSvc}:${peerPort}`], `${svc}'s ${dev.name} sends to ${peerSvc}`);
  }
  // netstackd publishes its VXLAN port to the host as well.
  assert.ok(
    ports('netstackd').some((p) => p.protocol === 'udp' && String(p.target) === va.local.split(':')[1]),
    'netstackd publishes its vxlan UDP port',
  );
});

test('dashboard: an $instance selector, used by every panel query and by $device, one instance at a time', () => {
  const d = dashboard();
  const vars = list(dict(d['templating'], 'templating')['list'], 'templating.list').map((v) => dict(v, 'variable'));
  const instance = vars.find((v) => v['name'] === 'instance');
  assert.ok(instance !== undefined, 'a variable named instance');
  assert.equal(instance['type'], 'query');
  assert.equal(instance['multi'], false, 'one instance at a time, so stat panels never add instances together');
  assert.equal(instance['includeAll'], false);
  assert.ok(vars.indexOf(instance) < vars.findIndex((v) => v['name'] === 'device'), '$instance comes before $device, which depends on it');
  for (const e of expressions(d)) {
    if (e.where === 'variable $instance') continue;
    // Every selector of a netstack_ series is narrowed to the chosen instance.
    for (const m of e.expr.matchAll(/\bnetstack_[a-z_]+(\{[^}]*\})?/g)) {
      assert.match(m[1] ?? '', /instance="\$instance"/, `${e.where}: ${m[0]}`);
    }
  }
});
