// A TCP socket its user holds outlives its connection, as a file descriptor
// does: reset by the peer or timed out, it is unhashed (its port and 4-tuple
// free, its send queue gone) but stays in the socket table in state UNCONN
// (ss's name for TCP_CLOSE) with the error that ended it, until its user
// closes it. The next write reports the error once, then EPIPE; reads see
// what was received before the reset, the error once, then EOF. Service
// connections and connects that never got through do not linger.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VirtualClock } from '../../src/clock.ts';
import { NetError } from '../../src/errno.ts';
import { attachInet, inetInternals } from '../../src/inet/control.ts';
import { tcpOf, type TcpEntry, type TcpGlue } from '../../src/inet/tcp-glue.ts';
import { NetStack } from '../../src/stack/netstack.ts';
import { socketsPart } from '../../src/config/snapshot.ts';
import { cable, runFor, type Host } from '../helpers/inet.ts';

const errno = (name: string) => (e: unknown) => e instanceof NetError && e.errno === name;

function hostWith(clock: VirtualClock, maxSockets?: number): Host {
  const stack = new NetStack({ clock, ...(maxSockets !== undefined ? { limits: { maxSockets } } : {}) });
  attachInet(stack);
  return { stack, inet: inetInternals(stack)! };
}

function twoHosts(maxSocketsA?: number) {
  const clock = new VirtualClock();
  const a = hostWith(clock, maxSocketsA);
  const b = hostWith(clock);
  const { cable: c } = cable(a, b);
  a.inet.addrAdd('eth0', '192.0.2.1/24');
  b.inet.addrAdd('eth0', '192.0.2.2/24');
  return { clock, a, b, cable: c, ta: tcpOf(a.inet)!, tb: tcpOf(b.inet)! };
}

/** A listener on b whose connections the test takes (a client's accept), in order. */
async function acceptingListener(tb: TcpGlue, port: number): Promise<{ l: TcpEntry; children: TcpEntry[] }> {
  const l = await tb.open({ bind: `0.0.0.0:${port}`, listen: 8 });
  const children: TcpEntry[] = [];
  tb.setAcceptHook(l, (child) => children.push(child));
  return { l, children };
}

/** The socket events on a stack, by id, as "action:STATE[:error]" (read as they happen). */
function socketEvents(h: Host): Map<number, string[]> {
  const log = new Map<number, string[]>();
  h.stack.events.subscribe((type, action, object) => {
    if (type !== 'socket') return;
    const s = object as { id: number; state: string; describe(): { error?: string } };
    const err = s.describe().error;
    const line = `${action}:${s.state}${err !== undefined ? `:${err}` : ''}`;
    const l = log.get(s.id);
    if (l === undefined) log.set(s.id, [line]);
    else l.push(line);
  });
  return log;
}

test('reset by the peer: the socket stays as UNCONN with ECONNRESET until closed; write ECONNRESET then EPIPE; its port is free; nothing stays charged', async () => {
  const { clock, a, b, ta, tb } = twoHosts();
  const { children } = await acceptingListener(tb, 80);
  const log = socketEvents(a);
  const c = await runFor(clock, ta.open({ connect: '192.0.2.2:80' }));
  const events = log.get(c.id)!;
  await clock.advance(10);
  assert.equal(children.length, 1);
  children[0]!.sk.abort(); // the peer resets (SO_LINGER 0 close)
  await clock.advance(10);

  const row = ta.describe(c);
  assert.equal(row.state, 'UNCONN', 'ss names TCP_CLOSE UNCONN');
  assert.equal(row.error, 'ECONNRESET');
  assert.equal(a.stack.sockets.get(c.id), c, 'still in the socket table under its id');
  assert.deepEqual(ta.list(), [c]);
  assert.equal(c.sk.wmemAlloc + c.sk.rmemAlloc, 0, 'no memory charged');
  assert.equal(a.stack.pool.stats.inUse, 0, 'no sk_buff held by the closed socket');

  // The 4-tuple and the port are free: a new connection from the same ADDR:PORT to the same peer.
  const again = await runFor(clock, ta.open({ bind: row.local, connect: '192.0.2.2:80' }));
  assert.equal(ta.describe(again).state, 'ESTAB');
  assert.equal(ta.describe(again).local, row.local);

  await assert.rejects(c.sk.write(Buffer.from('x')), errno('ECONNRESET'), 'the error, once');
  await assert.rejects(c.sk.write(Buffer.from('x')), errno('EPIPE'), 'then EPIPE');
  assert.equal(await c.sk.read(), null, 'and reads see end of stream');
  assert.equal(ta.describe(c).error, 'ECONNRESET', 'the view keeps why it ended after the error was read');

  assert.ok(events.length >= 3);
  assert.equal(events[0]!.split(':')[0], 'new');
  assert.deepEqual(events.slice(-2), ['change:ESTAB', 'change:UNCONN:ECONNRESET']);
  ta.close(c);
  assert.equal(a.stack.sockets.get(c.id), undefined, 'gone once its user closes it');
  assert.deepEqual(events.slice(-1), ['del:UNCONN:ECONNRESET']);
  assert.deepEqual(ta.list(), [again]);
  ta.close(again, true);
  await clock.advance(1000);
  a.stack.close();
  b.stack.close();
  assert.equal(a.stack.pool.stats.inUse, 0);
  assert.equal(b.stack.pool.stats.inUse, 0);
});

test('data received before the reset is read first (tcp_recvmsg takes the queue before sk_err), or freed when the socket is closed unread', async () => {
  const { clock, a, b, ta, tb } = twoHosts();
  const { children } = await acceptingListener(tb, 80);
  const c1 = await runFor(clock, ta.open({ connect: '192.0.2.2:80' }));
  const c2 = await runFor(clock, ta.open({ connect: '192.0.2.2:80' }));
  await clock.advance(10);
  assert.equal(children.length, 2);
  for (const child of children) {
    await runFor(clock, child.sk.write(Buffer.alloc(3000, 7)));
  }
  await clock.advance(100);
  for (const child of children) child.sk.abort();
  await clock.advance(10);
  for (const c of [c1, c2]) {
    const row = ta.describe(c);
    assert.equal(row.state, 'UNCONN');
    assert.equal(row.error, 'ECONNRESET');
    assert.equal(row.recv_q, 3000, 'what arrived before the RST waits for its reader');
  }
  assert.equal(c1.sk.readNow()?.length, 3000, 'the data first');
  assert.throws(() => c1.sk.readNow(), errno('ECONNRESET'));
  assert.equal(c1.sk.readNow(), null);
  assert.ok(c2.sk.rmemAlloc > 0 && a.stack.pool.stats.inUse > 0, 'c2 still holds its unread data');
  ta.close(c1);
  assert.deepEqual(ta.list(), [c2]);
  a.stack.close();
  b.stack.close();
  assert.equal(ta.list().length, 0, 'the stack’s close takes the closed sockets too');
  assert.equal(c2.sk.rmemAlloc, 0);
  assert.equal(a.stack.pool.stats.inUse, 0, 'and frees what was never read');
});

test('closing a socket that still holds unread data after the reset frees it at once', async () => {
  const { clock, a, b, ta, tb } = twoHosts();
  const { children } = await acceptingListener(tb, 80);
  const c = await runFor(clock, ta.open({ connect: '192.0.2.2:80' }));
  await clock.advance(10);
  await runFor(clock, children[0]!.sk.write(Buffer.alloc(2000, 3)));
  await clock.advance(100);
  children[0]!.sk.abort();
  await clock.advance(10);
  assert.equal(ta.describe(c).recv_q, 2000);
  const inUse = a.stack.pool.stats.inUse;
  assert.ok(inUse > 0);
  ta.close(c, true); // DELETE ?abort=1 on a closed socket: nothing to send, the same as a close
  assert.equal(a.stack.sockets.get(c.id), undefined);
  assert.equal(a.stack.pool.stats.inUse, 0);
  assert.equal((a.inet.netstat() as unknown as Record<string, Record<string, number>>).Tcp!.OutRsts, 0, 'no RST for a connection that is already gone');
  a.stack.close();
  b.stack.close();
});

test('retransmissions run out: UNCONN with ETIMEDOUT; a connect that times out leaves nothing', async () => {
  const { clock, a, b, ta, tb, cable: wire } = twoHosts();
  ta.tcpSysctl.set({ 'net.ipv4.tcp_retries2': 3 });
  await acceptingListener(tb, 80);
  const c = await runFor(clock, ta.open({ connect: '192.0.2.2:80' }));
  wire.filter = () => false; // the peer is gone without a word
  await runFor(clock, c.sk.write(Buffer.alloc(500, 1)));
  await clock.runUntil(() => c.sk.stateName === 'UNCONN');
  const row = ta.describe(c);
  assert.equal(row.state, 'UNCONN');
  assert.equal(row.error, 'ETIMEDOUT');
  assert.equal(row.wmem, 0, 'the unacknowledged data went with the connection (send_q still counts it, as ss does: write_seq - snd_una)');
  assert.equal(a.stack.pool.stats.inUse, 0);
  await assert.rejects(c.sk.read(), errno('ETIMEDOUT'));
  assert.equal(await c.sk.read(), null);
  await assert.rejects(c.sk.write(Buffer.from('x')), errno('EPIPE'));
  assert.equal(ta.describe(c).error, 'ETIMEDOUT');
  // A connect that never got through is not handed out, so nothing of it stays.
  await assert.rejects(runFor(clock, ta.open({ connect: '192.0.2.2:80', timeoutMs: 2000 })), errno('ETIMEDOUT'));
  assert.deepEqual(ta.list(), [c]);
  ta.close(c);
  assert.equal(ta.list().length, 0);
  a.stack.close();
  b.stack.close();
});

test('a service’s connection does not linger: the service closes it at the reset, as an application would', async () => {
  const { clock, a, b, ta, tb } = twoHosts();
  const l = await tb.open({ bind: '0.0.0.0:7', listen: 8, service: 'echo' });
  const c = await runFor(clock, ta.open({ connect: '192.0.2.2:7' }));
  await clock.advance(10);
  assert.equal(tb.list().length, 2);
  const served = tb.list().find((e) => e !== l)!;
  const log: string[] = [];
  b.stack.events.subscribe((type, action, object) => {
    if (type === 'socket' && (object as { id: number }).id === served.id) log.push(`${action}:${(object as { state: string }).state}`);
  });
  ta.close(c, true);
  await clock.advance(10);
  assert.deepEqual(tb.list(), [l], 'only the listener is left');
  assert.deepEqual(log, ['del:UNCONN'], 'gone at once, no stop in UNCONN');
  assert.equal(ta.list().length, 0, 'the side that aborted closed it itself');
  a.stack.close();
  b.stack.close();
});

test('a connection reset while it waited in the accept queue is still handed to the client that accepts it, with its error', async () => {
  const { clock, a, b, ta, tb } = twoHosts();
  const l = await tb.open({ bind: '0.0.0.0:80', listen: 8 });
  const c = await runFor(clock, ta.open({ connect: '192.0.2.2:80' }));
  await clock.advance(10);
  ta.close(c, true);
  await clock.advance(10);
  assert.deepEqual(tb.list(), [l], 'a child nobody accepted leaves the table at the reset');
  const taken: TcpEntry[] = [];
  tb.setAcceptHook(l, (child) => taken.push(child));
  assert.equal(taken.length, 1);
  const e = taken[0]!;
  assert.equal(b.stack.sockets.get(e.id), e, 'accept() hands it out, and the client can find it by id');
  assert.equal(tb.describe(e).state, 'UNCONN');
  assert.equal(tb.describe(e).error, 'ECONNRESET');
  assert.throws(() => e.sk.readNow(), errno('ECONNRESET'));
  tb.close(e);
  assert.deepEqual(tb.list(), [l]);
  a.stack.close();
  b.stack.close();
});

test('--max-sockets counts a closed socket until its user closes it; it is never written to the state file', async () => {
  const { clock, a, b, ta, tb } = twoHosts(2);
  const { children } = await acceptingListener(tb, 80);
  const c1 = await runFor(clock, ta.open({ connect: '192.0.2.2:80' }));
  const c2 = await runFor(clock, ta.open({ connect: '192.0.2.2:80' }));
  await clock.advance(10);
  children[0]!.sk.abort();
  await clock.advance(10);
  assert.equal(ta.describe(c1).state, 'UNCONN');
  await assert.rejects(ta.open({ connect: '192.0.2.2:80' }), errno('EMFILE'), 'the reset socket still counts, as an open fd does');
  await ta.open({ bind: '0.0.0.0:7', listen: true, service: 'echo' }).then(
    () => assert.fail('listen past the limit'),
    (err: unknown) => assert.ok(errno('EMFILE')(err)),
  );
  const { sockets } = socketsPart(a.inet);
  assert.equal(sockets.length, 0, 'no TCP connection, open or closed, is configuration');
  ta.close(c1);
  const c3 = await runFor(clock, ta.open({ connect: '192.0.2.2:80' }));
  assert.equal(ta.describe(c3).state, 'ESTAB');
  for (const c of [c2, c3]) ta.close(c, true);
  await clock.advance(10);
  a.stack.close();
  b.stack.close();
  assert.equal(a.stack.pool.stats.inUse, 0);
});
