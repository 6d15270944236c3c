// Slow and half-open clients against the real service (with a token): from
// three client addresses, 250 connections each that trickle bodies (with and
// without the token), trickle headers, or connect and say nothing. Meanwhile
// another address asks GET /healthz and PATCHes a device every 100 ms. Every
// probe must be answered (the bound is generous: the figure that matters,
// the latency, is measured and printed, not asserted on), the caps and
// timeouts must shed the attackers, and the service must end up with its
// connections back.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rawConnect, type RawConnection } from '../helpers/raw-http.ts';
import { until } from '../helpers/wait.ts';
import { startService } from './service.ts';

const TOKEN = 'reliability-token';
const ATTACKERS = ['127.0.0.11', '127.0.0.12', '127.0.0.13'];
const PER_ADDRESS = 250;
const PROBE_ADDRESS = '127.0.0.20';
const PROBES = 80;

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

test('slow and half-open clients do not lock the service out', { timeout: 10 * 60_000 }, async (t) => {
  const svc = await startService(['--request-timeout-ms', '4000', '--log-level', 'info'], { NETSTACK_TOKEN: TOKEN });
  t.after(() => svc.kill());
  const auth = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };
  assert.equal((await fetch(`${svc.base}/v1/devices`, { method: 'POST', headers: auth, body: JSON.stringify({ kind: 'dummy', name: 'probe0' }) })).status, 201);

  // ---- the attack ----
  const conns: RawConnection[] = [];
  const timers: NodeJS.Timeout[] = [];
  const kinds = ['slow-body', 'slow-body-unauthenticated', 'slow-headers', 'silent'] as const;
  await Promise.all(
    ATTACKERS.map(async (address) => {
      for (let i = 0; i < PER_ADDRESS; i++) {
        const kind = kinds[i % kinds.length]!;
        let c: RawConnection;
        try {
          c = await rawConnect(svc.port, { localAddress: address });
        } catch {
          continue;
        }
        conns.push(c);
        if (kind === 'slow-body' || kind === 'slow-body-unauthenticated') {
          const authLine = kind === 'slow-body' ? `Authorization: Bearer ${TOKEN}\r\n` : '';
          c.socket.write(`POST /v1/devices HTTP/1.1\r\nHost: x\r\n${authLine}Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n{`);
          timers.push(setInterval(() => c.socket.writable && c.socket.write(' '), 1000));
        } else if (kind === 'slow-headers') {
          c.socket.write('GET /v1/devices HTTP/1.1\r\n');
          timers.push(setInterval(() => c.socket.writable && c.socket.write('X-Slow: 1\r\n'), 1000));
        }
      }
    }),
  );
  t.after(() => {
    for (const timer of timers) clearInterval(timer);
    for (const c of conns) c.socket.destroy();
  });

  // ---- the probes, from another address ----
  const latencies: number[] = [];
  const failures: string[] = [];
  for (let i = 0; i < PROBES; i++) {
    const t0 = performance.now();
    const health = await probe(svc.port, 'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    latencies.push(performance.now() - t0);
    if (!health.startsWith('HTTP/1.1 200')) failures.push(`healthz: ${health.slice(0, 120)}`);
    if (i % 10 === 0) {
      const body = JSON.stringify({ mtu: 1000 + i });
      const patch = await probe(
        svc.port,
        `PATCH /v1/devices/probe0 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
      );
      if (!patch.startsWith('HTTP/1.1 200')) failures.push(`patch: ${patch.slice(0, 120)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }

  // The attackers were shed: refused over the caps (503), unauthenticated bodies answered 401 and closed, the rest cut by the timeouts.
  const refused = conns.filter((c) => c.received().startsWith('HTTP/1.1 503')).length;
  const unauthorized = conns.filter((c) => c.received().startsWith('HTTP/1.1 401')).length;
  await until(() => conns.every((c) => c.closed()), 'every attacking connection closed by the service', { timeoutMs: 60_000, intervalMs: 50 });
  const timedOut = conns.filter((c) => c.received().startsWith('HTTP/1.1 408')).length;
  const silentClosed = conns.filter((c) => c.received() === '').length;
  const p50 = percentile(latencies, 50);
  const p99 = percentile(latencies, 99);
  const max = Math.max(...latencies);
  process.stdout.write(
    `# hostile: ${conns.length} attacking connections from ${ATTACKERS.length} addresses: ${refused} refused 503 over the caps, ` +
      `${unauthorized} answered 401 and closed, ${timedOut} cut with 408, ${silentClosed} closed silently; ` +
      `/healthz from another address: ${latencies.length} probes, p50 ${p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms, max ${max.toFixed(1)} ms, ` +
      `${latencies.filter((l) => l >= 1000).length} over 1 s\n`,
  );
  assert.deepEqual(failures, []);
  assert.ok(refused > 0, 'the per-address cap refused some');
  assert.ok(unauthorized > 0);
  assert.ok(timedOut > 0);
  // And afterwards the service is itself again.
  assert.equal((await fetch(`${svc.base}/healthz`)).status, 200);
});

/** One request on a fresh connection from the probe address; the whole answer, bounded by a generous guard. */
async function probe(port: number, request: string): Promise<string> {
  const c = await rawConnect(port, { localAddress: PROBE_ADDRESS });
  c.socket.end(request);
  return c.waitClosed(10_000);
}
