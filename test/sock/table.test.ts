// The one socket table with every family in it: UDP and TCP sockets are
// entries from creation to release (TCP: listeners, connects, children in
// the accept queue, TIME-WAIT), each joining, changing state and leaving is
// one event in order, and a closed socket leaves nothing behind. The fuzz at
// the end opens and closes random sockets of all three families and checks
// the table against each protocol's own tables, and against the events.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { VirtualClock } from '../../src/clock.ts';
import { NetError } from '../../src/errno.ts';
import { tcpOf, type TcpEntry } from '../../src/inet/tcp-glue.ts';
import { TCP_TIMEWAIT_LEN } from '../../src/inet/tcp/sock.ts';
import type { NetStack } from '../../src/stack/index.ts';
import type { StackSocket } from '../../src/sock/table.ts';
import { host, runFor, type Host } from '../helpers/inet.ts';
import { tcpHosts } from '../helpers/tcp-hosts.ts';

/** Socket events as "action id family/type STATE", read when they happen. */
function recordSockets(stack: NetStack): { events: string[]; off: () => void } {
  const events: string[] = [];
  const off = stack.events.subscribe((type, action, object) => {
    if (type !== 'socket') return;
    const s = object as StackSocket;
    events.push(`${action} ${s.id} ${s.family}/${s.type} ${s.describe().state}`);
  });
  return { events, off };
}

const ids = (stack: NetStack): number[] => [...stack.sockets.values()].map((s) => s.id);

function inUse(h: Host): number {
  return h.stack.pool.stats.inUse;
}

test('TCP: listener, connection, accepted child and TIME-WAIT are entries; each state change is one event, in order; nothing is left after TIME-WAIT', async () => {
  const { clock, a, b, ta, tb } = tcpHosts();
  const ra = recordSockets(a.stack);
  const rb = recordSockets(b.stack);
  const l = await tb.open({ bind: '0.0.0.0:5000', listen: 4 });
  const c = await runFor(clock, ta.open({ connect: '192.0.2.2:5000' }));
  await clock.advance(10);
  // Nobody accepted: the child waits in the accept queue, and ss lists it.
  assert.equal(l.sk.acceptQueue.length, 1);
  const child = tb.entryOf(l.sk.acceptQueue[0]!);
  assert.deepEqual(ids(b.stack), [l.id, child.id]);
  assert.equal(b.stack.sockets.get(child.id), child, 'one lookup by id finds the child');
  assert.equal(child.describe().state, 'ESTAB');
  assert.deepEqual(ids(a.stack), [c.id]);
  assert.equal(a.stack.sockets.get(c.id)?.describe().peer, '192.0.2.2:5000');

  // Bytes both ways, then the client closes first (it keeps TIME-WAIT).
  const accepted = await runFor(clock, l.sk.accept());
  assert.equal(accepted, child.sk);
  const data = Buffer.alloc(50_000, 7);
  const w = c.sk.write(data);
  let got = 0;
  while (got < data.length) got += (await runFor(clock, child.sk.read(65536)))!.length;
  assert.equal(await runFor(clock, w), data.length);
  ta.close(c);
  await clock.advance(50);
  tb.close(child);
  await clock.advance(50);
  assert.equal(a.stack.sockets.get(c.id)?.describe().state, 'TIME-WAIT', 'ss -t lists TIME-WAIT');
  assert.deepEqual(ids(b.stack), [l.id], 'the passive closer is gone once its FIN is acknowledged');
  await clock.advance(TCP_TIMEWAIT_LEN);
  assert.deepEqual(ids(a.stack), [], 'TIME-WAIT over: the socket left the table');
  tb.close(l);
  assert.deepEqual(ids(b.stack), []);
  await clock.advance(1000);

  assert.deepEqual(ra.events, [
    `new ${c.id} inet/stream SYN-SENT`,
    `change ${c.id} inet/stream ESTAB`,
    `change ${c.id} inet/stream FIN-WAIT-1`,
    `change ${c.id} inet/stream FIN-WAIT-2`,
    `change ${c.id} inet/stream TIME-WAIT`,
    `del ${c.id} inet/stream UNCONN`,
  ]);
  assert.deepEqual(rb.events, [
    `new ${l.id} inet/stream LISTEN`,
    `new ${child.id} inet/stream ESTAB`,
    `change ${child.id} inet/stream CLOSE-WAIT`,
    `change ${child.id} inet/stream LAST-ACK`,
    `del ${child.id} inet/stream UNCONN`,
    `del ${l.id} inet/stream UNCONN`,
  ]);
  // Memory: nothing charged, nothing in use, the protocol's own tables empty too.
  assert.equal(tb.proto.sockets.size + ta.proto.sockets.size, 0);
  assert.equal(inUse(a) + inUse(b), 0);
  assert.equal(c.sk.rmemAlloc + c.sk.wmemAlloc + child.sk.rmemAlloc + child.sk.wmemAlloc, 0);
  ra.off();
  rb.off();
  a.stack.close();
  b.stack.close();
});

test('TCP: a refused connect is listed while it tries and leaves the table; a reset child leaves it; services label children', async () => {
  const { clock, a, b, ta, tb } = tcpHosts();
  const ra = recordSockets(a.stack);
  await assert.rejects(runFor(clock, ta.open({ connect: '192.0.2.2:9' })), (e: unknown) => e instanceof NetError && e.errno === 'ECONNREFUSED');
  assert.equal(ra.events.length, 2);
  assert.match(ra.events[0]!, /^new \d+ inet\/stream SYN-SENT$/);
  assert.match(ra.events[1]!, /^del \d+ inet\/stream UNCONN$/);
  assert.deepEqual(ids(a.stack), []);

  const l = await tb.open({ bind: '0.0.0.0:7', listen: 4, service: 'echo' });
  const c = await runFor(clock, ta.open({ connect: '192.0.2.2:7' }));
  await clock.advance(10);
  const rows = [...b.stack.sockets.values()].map((s) => s.describe());
  assert.deepEqual(
    rows.map((r) => [r.state, r.service]),
    [
      ['LISTEN', 'echo'],
      ['ESTAB', 'echo'],
    ],
  );
  ta.close(c, true); // RST
  await clock.advance(10);
  assert.deepEqual(ids(b.stack), [l.id], 'the reset child left the table');
  // An aborted listener (DELETE ?abort=1) is gone too, and its port is free again.
  tb.close(l, true);
  assert.deepEqual(ids(b.stack), []);
  const again = await tb.open({ bind: '0.0.0.0:7', listen: 4 });
  assert.deepEqual(ids(b.stack), [again.id]);
  a.stack.close();
  b.stack.close();
  assert.deepEqual(ids(a.stack), []);
  assert.deepEqual(ids(b.stack), [], 'stack close releases TCP sockets too');
  ra.off();
});

test('UDP: an entry from a successful bind to close; a refused open leaves no entry and no event', () => {
  const clock = new VirtualClock();
  const h = host(clock);
  const r = recordSockets(h.stack);
  const s = h.inet.udpOpen({ bind: '127.0.0.1:5353' });
  assert.equal(h.stack.sockets.get(s.id), s);
  assert.throws(() => h.inet.udpOpen({ bind: '127.0.0.1:5353' }), (e: unknown) => e instanceof NetError && e.errno === 'EADDRINUSE');
  assert.throws(() => h.inet.udpOpen({ bind: '198.51.100.9:1' }), (e: unknown) => e instanceof NetError && e.errno === 'EADDRNOTAVAIL');
  const c = h.inet.udpOpen({ connect: '127.0.0.1:5353' });
  assert.deepEqual(ids(h.stack), [s.id, c.id]);
  assert.equal(c.describe().state, 'ESTAB');
  c.sendTo(Buffer.from('hello'));
  h.stack.drain();
  assert.equal(c.sent, 1);
  assert.equal(s.received, 1);
  s.close();
  c.close();
  assert.deepEqual(ids(h.stack), []);
  assert.deepEqual(r.events, [`new ${s.id} inet/dgram UNCONN`, `new ${c.id} inet/dgram ESTAB`, `del ${s.id} inet/dgram UNCONN`, `del ${c.id} inet/dgram ESTAB`]);
  assert.equal(inUse(h), 0);
  r.off();
  h.stack.close();
});

test('the table limit (EMFILE) counts every family a user opens', async () => {
  const clock = new VirtualClock();
  const h = host(clock);
  h.stack.limits.maxSockets = 3;
  const p = h.stack.openPacketSocket({});
  h.inet.udpOpen({});
  await tcpOf(h.inet)!.open({ bind: '127.0.0.1:80', listen: 1 });
  assert.throws(() => h.inet.udpOpen({}), (e: unknown) => e instanceof NetError && e.errno === 'EMFILE');
  await assert.rejects(tcpOf(h.inet)!.open({ bind: '127.0.0.1:81', listen: 1 }), (e: unknown) => e instanceof NetError && e.errno === 'EMFILE');
  assert.throws(() => h.stack.openPacketSocket({}), (e: unknown) => e instanceof NetError && e.errno === 'EMFILE');
  p.close();
  h.inet.udpOpen({});
  assert.equal(h.stack.sockets.size, 3);
  h.stack.close();
});

test('what a user holds counts against the limit; a listener\'s children and closed TCP sockets finishing (TIME-WAIT) are listed but do not', async () => {
  const clock = new VirtualClock();
  const h = host(clock);
  const tcp = tcpOf(h.inet)!;
  h.stack.limits.maxSockets = 2;
  const l = await tcp.open({ bind: '127.0.0.1:80', listen: 4 });
  const c = await runFor(clock, tcp.open({ connect: '127.0.0.1:80' }));
  await clock.advance(10);
  assert.equal(h.stack.sockets.size, 3, 'listener, connection, and the child in the accept queue');
  assert.throws(() => h.inet.udpOpen({}), (e: unknown) => e instanceof NetError && e.errno === 'EMFILE');
  assert.throws(() => h.stack.openPacketSocket({}), (e: unknown) => e instanceof NetError && e.errno === 'EMFILE');
  tcp.close(c); // ours goes to FIN-WAIT and TIME-WAIT: listed, no longer held
  await clock.advance(10);
  tcp.close(tcp.entryOf(l.sk.acceptQueue[0]!));
  await clock.advance(10);
  assert.equal(h.stack.sockets.get(c.id)?.state, 'TIME-WAIT');
  const u = h.inet.udpOpen({});
  assert.throws(() => h.inet.udpOpen({}), (e: unknown) => e instanceof NetError && e.errno === 'EMFILE');
  u.close();
  h.stack.close();
});

/** What each protocol's own tables hold, as ids, against the socket table's entries of that family and type. */
function checkAgainstProtocols(h: Host): void {
  const table = [...h.stack.sockets.values()];
  const byKind = (family: string, type: string) => table.filter((s) => s.family === family && s.type === type).map((s) => s.id).sort((x, y) => x - y);
  const tcp = tcpOf(h.inet)!;
  assert.deepEqual(byKind('packet', 'raw'), h.stack.packetSockets().map((s) => s.id).sort((x, y) => x - y));
  assert.deepEqual(byKind('inet', 'dgram'), [...h.inet.udp.sockets.keys()].sort((x, y) => x - y));
  const tcpIds = [...tcp.proto.sockets].map((sk) => tcp.entryOf(sk).id);
  // Besides them, a socket its user holds stays an entry once reset or timed
  // out (closed, unhashed, with its error) until the user closes it.
  const kept = tcp.list().filter((e) => !tcp.proto.sockets.has(e.sk));
  for (const e of kept) assert.equal(e.describe().state, 'UNCONN', `entry ${e.id} is neither hashed nor closed under its user`);
  assert.deepEqual(byKind('inet', 'stream'), [...tcpIds, ...kept.map((e) => e.id)].sort((x, y) => x - y), 'every hashed TCP socket is an entry, and only those and the closed ones users hold');
  assert.equal(table.length, new Set(table.map((s) => s.id)).size, 'ids are unique across families');
  for (const s of table) assert.equal(h.stack.sockets.get(s.id), s);
}

type Op =
  | { kind: 'packet' }
  | { kind: 'udp'; port: number }
  | { kind: 'listen'; port: number }
  | { kind: 'connect'; port: number }
  | { kind: 'close'; pick: number; abort: boolean }
  | { kind: 'wait'; ms: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.constant<Op>({ kind: 'packet' }),
  fc.record({ kind: fc.constant('udp' as const), port: fc.integer({ min: 0, max: 3 }) }),
  fc.record({ kind: fc.constant('listen' as const), port: fc.integer({ min: 1, max: 3 }) }),
  fc.record({ kind: fc.constant('connect' as const), port: fc.integer({ min: 1, max: 4 }) }),
  fc.record({ kind: fc.constant('close' as const), pick: fc.nat(), abort: fc.boolean() }),
  fc.record({ kind: fc.constant('wait' as const), ms: fc.constantFrom(1, 50, 1000, TCP_TIMEWAIT_LEN) }),
);

test('fuzz: random sockets of all three families opened and closed; the table matches the protocol tables and the events, and empties', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 30 }), async (ops) => {
      const { clock, a, b, ta, tb } = tcpHosts();
      // Replay of b's events: what a client of /v1/events would believe is open.
      const believed = new Map<number, string>();
      const problems: string[] = [];
      const off = b.stack.events.subscribe((type, action, object) => {
        if (type !== 'socket') return;
        const s = object as StackSocket;
        if (action === 'new' && believed.has(s.id)) problems.push(`new twice ${s.id}`);
        if (action !== 'new' && !believed.has(s.id)) problems.push(`${action} before new ${s.id}`);
        if (action === 'del') believed.delete(s.id);
        else believed.set(s.id, s.describe().state);
      });
      const opened: StackSocket[] = [];
      const pending: Promise<unknown>[] = [];
      for (const op of ops) {
        try {
          switch (op.kind) {
            case 'packet':
              opened.push(b.stack.openPacketSocket({ dev: b.stack.getDevice('eth0') }));
              break;
            case 'udp':
              opened.push(b.inet.udpOpen({ bind: `0.0.0.0:${op.port === 0 ? 0 : 6000 + op.port}` }));
              break;
            case 'listen':
              opened.push(await tb.open({ bind: `0.0.0.0:${7000 + op.port}`, listen: 2 }));
              break;
            case 'connect': {
              // From a to b's port (4 has no listener: refused); and one from b to a's nothing.
              const p = ta.open({ connect: `192.0.2.2:${7000 + op.port}` }).catch(() => undefined);
              pending.push(p);
              if (op.port === 4) pending.push(tb.open({ connect: '192.0.2.1:9' }).catch(() => undefined));
              break;
            }
            case 'close': {
              const all = [...b.stack.sockets.values()];
              if (all.length === 0) break;
              const s = all[op.pick % all.length]!;
              const e = s.family === 'inet' && s.type === 'stream' ? (s as TcpEntry) : undefined;
              if (e !== undefined) tb.close(e, op.abort);
              else s.close();
              break;
            }
            case 'wait':
              await clock.advance(op.ms);
              break;
          }
        } catch (err) {
          if (!(err instanceof NetError)) throw err;
        }
        checkAgainstProtocols(a);
        checkAgainstProtocols(b);
      }
      await clock.advance(100);
      for (const s of [...b.stack.sockets.values()]) s.family === 'inet' && s.type === 'stream' ? tb.close(s as TcpEntry) : s.close();
      for (const e of ta.list()) ta.close(e);
      await clock.advance(TCP_TIMEWAIT_LEN + 200_000);
      await Promise.all(pending);
      checkAgainstProtocols(a);
      checkAgainstProtocols(b);
      assert.deepEqual(problems, []);
      assert.deepEqual([...believed.keys()], [], 'every new had its del');
      assert.deepEqual(ids(b.stack), []);
      assert.deepEqual(ids(a.stack), []);
      assert.equal(inUse(a) + inUse(b), 0, 'nothing left in use');
      off();
      a.stack.close();
      b.stack.close();
      void opened;
    }),
    { numRuns: 40 },
  );
});

test('a device event reaches the sockets bound to that device only, without a pass over every socket', async () => {
  const { Notifier } = await import('../../src/dev/notifier.ts');
  const { SocketTable } = await import('../../src/sock/table.ts');
  type Dev = import('../../src/dev/netdevice.ts').NetDevice;
  /** boundDev reads per device to tell `count` devices, each with one bound socket (and one unbound), that they go. */
  const readsPerDevice = (count: number): number => {
    const notifier = new Notifier();
    const table = new SocketTable(notifier, () => count * 2 + 1);
    let reads = 0;
    const heard: string[] = [];
    const devs: Dev[] = [];
    for (let i = 0; i < count; i++) {
      const dev = { name: `d${i}` } as Dev;
      devs.push(dev);
      for (const bound of [dev, null]) {
        const id = table.reserveId();
        table.add({
          id, family: 'packet', type: 'raw', protocol: 0, received: 0, sent: 0,
          get boundDev() {
            reads++;
            return bound;
          },
          netdevEvent: (event: string, d: Dev) => heard.push(`${id} ${event} ${d.name}`),
        } as unknown as StackSocket);
      }
    }
    for (const dev of devs) notifier.emit('UNREGISTER', dev);
    assert.equal(heard.length, count, 'each bound socket heard once');
    assert.equal(heard[0], '1 UNREGISTER d0');
    return reads / count;
  };
  const small = readsPerDevice(300);
  const large = readsPerDevice(2400);
  // A pass over every socket per event reads ~count boundDevs per device.
  assert.equal(large, small, `boundDev reads per device: ${small} at 300 devices, ${large} at 2,400`);
  assert.ok(small > 0 && small < 4);
});
