import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tcpSocketRow } from '../../../src/inet/tcp/proto.ts';
import { chargenLine, runTcpService } from '../../../src/inet/tcp/services.ts';
import { connectPair, drain, makePair, pattern, reader, runUntil } from './harness.ts';

test('echo returns the bytes intact, discard takes them, both end with the peer FIN', async () => {
  for (const name of ['echo', 'discard'] as const) {
    const p = makePair();
    p.link.set(p.a, { delayMs: 2 });
    p.link.set(p.b, { delayMs: 2 });
    const { c, s, l } = await connectPair(p);
    let result: { read: number; written: number } | undefined;
    void runTcpService(name, s).then((r) => (result = r));
    const rc = reader(c);
    const data = pattern(300_000);
    void c.write(data).then(() => c.shutdownSock(2));
    await runUntil(p.clock, () => result !== undefined && rc.done());
    assert.equal(result!.read, data.length);
    if (name === 'echo') assert.ok(rc.bytes().equals(data));
    else assert.equal(rc.total(), 0);
    c.close();
    l.close();
    await drain(p.clock);
    assert.equal(p.a.pool.stats.inUse + p.b.pool.stats.inUse, 0);
  }
});

test('chargen writes RFC 864 lines only as fast as the peer reads, and stops when the peer goes', async () => {
  const p = makePair();
  const { c, s, l } = await connectPair(p);
  assert.equal(chargenLine(0).toString('latin1', 0, 3), ' !"');
  assert.equal(chargenLine(1).toString('latin1', 0, 3), '!"#');
  let result: { read: number; written: number } | undefined;
  void runTcpService('chargen', s).then((r) => (result = r));
  // Nobody reads: the window closes and chargen waits on its send buffer.
  await runUntil(p.clock, () => s.sndWnd === 0 && s.packetsOut === 0);
  assert.ok(s.wmemAlloc <= s.sndbuf + 4096);
  const got = await c.read(74);
  assert.equal(got!.toString('latin1'), chargenLine(0).toString('latin1'));
  const row = tcpSocketRow(s);
  assert.equal(row.state, 'ESTAB');
  assert.equal(row.local, '192.0.2.2:80');
  assert.ok(row.tcp_info!.segs_out > 0);
  c.close();
  await runUntil(p.clock, () => result !== undefined);
  assert.ok(result!.written > 0);
  l.close();
  await drain(p.clock);
  assert.equal(p.a.pool.stats.inUse + p.b.pool.stats.inUse, 0);
  assert.equal(p.a.proto.sockets.size + p.b.proto.sockets.size, 0);
});
