// --max-sockets bounds what a peer can make a service hold. A connection a
// service (or a WebSocket client) has accepted is its user's, as an fd
// counts against RLIMIT_NOFILE; at the limit accept() meets EMFILE, so the
// connection stays in the accept queue, the queue fills to the backlog and
// further SYNs are dropped (ListenOverflows); accepting resumes as sockets
// close. Before, a peer could open any number of connections to a service
// whatever the limit (found in review: 2,000 with --max-sockets 8).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VirtualClock } from '../../src/clock.ts';
import { type TcpEntry } from '../../src/inet/tcp-glue.ts';
import { runFor } from '../helpers/inet.ts';
import { vethStacks } from '../helpers/veth-stacks.ts';

const LIMIT = 4;
const CLIENTS = 12;

test('a service accepts no more connections than --max-sockets leaves room for; the rest wait in the queue or retry, and all get through as sockets close', async () => {
  const clock = new VirtualClock();
  const { sa, sb, ia, ta, tb } = vethStacks({ a: { clock, limits: { maxSockets: LIMIT } }, b: { clock } });

  await ta.open({ bind: '0.0.0.0:9', listen: 2, service: 'discard' });
  const held = () => sa.sockets.list().filter((s) => s.userHeld !== false).length;
  let maxHeld = 0;

  let open!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  const connected: TcpEntry[] = [];
  const clients = Array.from({ length: CLIENTS }, async () => {
    const c = await tb.open({ connect: '192.0.2.1:9' });
    connected.push(c);
    await c.sk.write(Buffer.from('hello'));
    await gate;
    c.sk.close();
  });

  // Let the burst land and SYNs be retried a few times.
  for (let t = 0; t < 20; t++) {
    await clock.advance(250);
    maxHeld = Math.max(maxHeld, held());
  }
  assert.equal(maxHeld, LIMIT, 'the listener and three accepted connections, never more');
  const listener = ta.list().find((e) => e.sk.stateName === 'LISTEN')!;
  assert.equal(listener.sk.acceptQueue.length, 3, 'backlog 2: three wait for accept(), as sk_acceptq_is_full allows');
  assert.equal(sa.sockets.list().filter((s) => s.state === 'ESTAB').length, 6, 'on the service side three served and three queued; the others wait as requests (their ACKs dropped), as tcp_v4_syn_recv_sock does at a full queue');
  assert.ok((ia.netstat() as Record<string, Record<string, number>>).TcpExt!.ListenOverflows! > 0, 'SYNs beyond the queue were dropped and counted');

  // The clients close: each freed socket lets one more in, until all have been served.
  open();
  await runFor(clock, Promise.all(clients));
  assert.equal(connected.length, CLIENTS);
  const tcpMib = () => (ia.netstat() as Record<string, Record<string, number>>).Tcp!;
  // The requests whose ACK was dropped complete when the service retransmits its SYN-ACK (tcp_synack_retries).
  for (let t = 0; t < 240 && (tcpMib().PassiveOpens! < CLIENTS || held() > 1); t++) {
    await clock.advance(250);
    maxHeld = Math.max(maxHeld, held());
  }
  assert.equal(maxHeld, LIMIT);
  assert.equal(tcpMib().PassiveOpens, CLIENTS, 'every client was served in the end');
  assert.equal(held(), 1, 'only the listener is held');
  sa.close();
  sb.close();
});
