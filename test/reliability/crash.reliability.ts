// kill -9 during bursts of changes: a change the service acknowledged (2xx)
// must be there after the restart. Eight clients create, change (mtu) and
// delete their own devices as fast as they are answered; at a random moment
// the service is killed with SIGKILL and started again on the same --state
// file. For each device the restored state must be what its last acknowledged
// change left, or what the one change in flight when the kill came left (it
// may or may not have been saved: it was never acknowledged).
//
//   RELIABILITY_RESTARTS=50 (default)

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startService, type Service } from './service.ts';
import { seededRandom } from '../../src/random.ts';

const RESTARTS = Number(process.env['RELIABILITY_RESTARTS'] ?? 50);
const CLIENTS = 8;

/** A device's configuration as this test sees it: its mtu, or null when it does not exist. */
type Value = number | null;

interface Tracked {
  owner: number;
  acked: Value;
  /** The change sent and not answered when the service died (undefined: none). */
  inflight?: Value;
}

async function call(svc: Service, method: string, url: string, body?: unknown): Promise<number> {
  const res = await fetch(svc.base + url, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  await res.arrayBuffer();
  return res.status;
}

test(`kill -9 during bursts of changes loses no acknowledged change (${RESTARTS} restarts)`, { timeout: 30 * 60_000 }, async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), `netstackd-crash-${process.pid}-`));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const stateFile = path.join(dir, 'state.json');
  const seed = Number(process.env['RELIABILITY_SEED'] ?? Date.now() % 1_000_000);
  const random = seededRandom(seed);
  const model = new Map<string, Tracked>();
  let acknowledged = 0;
  let lost = 0;
  let inflightSaved = 0;
  let inflightLost = 0;
  const failures: string[] = [];
  let counter = 0;

  for (let cycle = 0; cycle <= RESTARTS; cycle++) {
    const svc = await startService(['--state', stateFile, '--max-devices', '100000']);
    try {
      // ---- check what the previous cycle left ----
      const res = await fetch(`${svc.base}/v1/devices?stats=0`);
      const listed = (await res.json()) as { ifname: string; mtu: number }[];
      const present = new Map(listed.filter((d) => d.ifname !== 'lo').map((d) => [d.ifname, d.mtu]));
      for (const [name, tr] of model) {
        const actual: Value = present.get(name) ?? null;
        if (actual === tr.acked) {
          if (tr.inflight !== undefined && tr.inflight !== tr.acked) inflightLost++;
        } else if (tr.inflight !== undefined && actual === tr.inflight) {
          inflightSaved++;
        } else {
          lost++;
          if (failures.length < 10) failures.push(`cycle ${cycle}: ${name} acknowledged ${tr.acked}, in flight ${tr.inflight}, restored ${actual}`);
        }
        tr.acked = actual;
        delete tr.inflight;
        if (actual === null) model.delete(name);
      }
      for (const name of present.keys()) {
        if (!model.has(name)) {
          lost++;
          if (failures.length < 10) failures.push(`cycle ${cycle}: ${name} restored but never sent`);
        }
      }
      if (cycle === RESTARTS) break;

      // ---- a burst, cut by SIGKILL ----
      let killed = false;
      const client = async (c: number): Promise<void> => {
        while (!killed) {
          const mine = [...model.entries()].filter(([, tr]) => tr.owner === c && tr.acked !== null);
          const r = random();
          let name: string;
          let next: Value;
          let send: () => Promise<number>;
          if (mine.length === 0 || (r < 0.4 && mine.length < 40)) {
            name = `c${c}d${counter++}`;
            next = 1000 + Math.floor(random() * 8000);
            const mtu = next;
            send = () => call(svc, 'POST', '/v1/devices', { kind: 'dummy', name, mtu });
            model.set(name, { owner: c, acked: null });
          } else if (r < 0.8) {
            name = mine[Math.floor(random() * mine.length)]![0];
            next = 1000 + Math.floor(random() * 8000);
            const mtu = next;
            send = () => call(svc, 'PATCH', `/v1/devices/${name}`, { mtu });
          } else {
            name = mine[Math.floor(random() * mine.length)]![0];
            next = null;
            send = () => call(svc, 'DELETE', `/v1/devices/${name}`);
          }
          const tr = model.get(name)!;
          tr.inflight = next;
          let status: number;
          try {
            status = await send();
          } catch {
            return; // the service died with this change in flight
          }
          if (status >= 200 && status < 300) {
            acknowledged++;
            tr.acked = next;
            delete tr.inflight;
          } else {
            // Refused (or 500: made but not saved): it stays "in flight", either outcome allowed.
            if (status < 500) delete tr.inflight;
          }
        }
      };
      const clients = Array.from({ length: CLIENTS }, (_, c) => client(c));
      await new Promise((resolve) => setTimeout(resolve, 100 + Math.floor(random() * 500)));
      killed = true;
      svc.proc.kill('SIGKILL');
      await svc.exited;
      await Promise.all(clients);
      for (const [name, tr] of model) if (tr.acked === null && tr.inflight === undefined) model.delete(name);
    } finally {
      await svc.kill();
    }
  }
  process.stdout.write(
    `# crash: seed ${seed}, ${RESTARTS} kill -9 restarts, ${acknowledged} acknowledged changes, ${lost} lost; ` +
      `changes in flight at the kill: ${inflightSaved} saved, ${inflightLost} not\n`,
  );
  assert.ok(acknowledged >= RESTARTS * 10, `only ${acknowledged} changes were acknowledged`);
  assert.equal(lost, 0, failures.join('\n'));
});
