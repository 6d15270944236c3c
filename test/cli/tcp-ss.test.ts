// netstackctl ss -t: TCP sockets in ss's layout (the same columns as the
// real ss -tn), the state filter of -a/-l, the -i info line, and the Netid
// column when TCP and UDP are listed together.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ctlInProcess, startServer, type TestServer } from './harness.ts';
import { inetOf } from '../../src/inet/control.ts';
import { tcpOf, type TcpEntry, type TcpGlue } from '../../src/inet/tcp-glue.ts';
import { until } from '../helpers/wait.ts';

let srv: TestServer;
let tcp: TcpGlue;
const run = (...args: string[]) => ctlInProcess(args, { url: srv.url });

before(async () => {
  srv = await startServer();
  tcp = tcpOf(inetOf(srv.stack)!)!;
});
after(async () => {
  await srv.close();
  assert.equal(srv.stack.pool.stats.inUse, 0);
});

describe('ss -t', () => {
  it('lists connections, listeners with -l, both with -a, tcp_info with -i', async () => {
    const l = await tcp.open({ bind: '0.0.0.0:9', listen: 5, service: 'discard' });
    const c = await tcp.open({ connect: '127.0.0.1:9' });
    await c.sk.write(Buffer.alloc(1000, 1));
    const port = tcp.describe(c).local.split(':')[1]!;
    await until(() => tcp.list().length === 3, 'the accepted connection');
    let r = await run('ss', '-tn');
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.split('\n');
    assert.equal(lines[0], 'State Recv-Q Send-Q Local Address:Port  Peer Address:Port Process');
    // ss lists in hash order: the lines are compared as a set under the same header.
    const p = port.padEnd(5);
    assert.deepEqual(lines.slice(1, -1).sort(), [
      `ESTAB 0      0          127.0.0.1:${p}    127.0.0.1:9           `,
      `ESTAB 0      0          127.0.0.1:9        127.0.0.1:${p}       `,
    ].sort());
    r = await run('ss', '-tl');
    assert.match(r.stdout, /^LISTEN 0 +5 +0\.0\.0\.0:discard +0\.0\.0\.0:\*/m);
    assert.doesNotMatch(r.stdout, /ESTAB/);
    r = await run('ss', '-tani');
    assert.match(r.stdout, /^LISTEN /m);
    assert.match(r.stdout, /^\t cubic rto:\d+ rtt:[\d.]+\/[\d.]+ cwnd:\d+ .*bytes_acked:1001 /m);
    r = await run('ss', '-a', '-n');
    assert.match(r.stdout, /^Netid State +Recv-Q/);
    assert.match(r.stdout, /^tcp +LISTEN/m);
    tcp.close(c, true);
    tcp.close(l);
  });

  it('a connection reset under its user is UNCONN, listed by -a (and -l, as ss lists SS_CLOSE) and not by default, until it is closed', async () => {
    const l = await tcp.open({ bind: '127.0.0.1:8093', listen: 2 });
    const children: TcpEntry[] = [];
    tcp.setAcceptHook(l, (child) => children.push(child));
    const c = await tcp.open({ connect: '127.0.0.1:8093' });
    await until(() => children.length === 1, 'the accepted connection');
    children[0]!.sk.abort();
    await until(() => c.sk.stateName === 'UNCONN', 'the reset');
    const [, port] = tcp.describe(c).local.split(':');
    const line = new RegExp(`^UNCONN 0 +0 +127\\.0\\.0\\.1:${port} +127\\.0\\.0\\.1:8093 `, 'm');
    let r = await run('ss', '-tn');
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stdout, /UNCONN/, 'ss without -a lists connections only');
    r = await run('ss', '-tan');
    assert.match(r.stdout, line);
    r = await run('ss', '-tln');
    assert.match(r.stdout, line);
    tcp.close(c);
    r = await run('ss', '-tan');
    assert.doesNotMatch(r.stdout, /UNCONN/, 'gone once closed');
    tcp.close(l);
  });
});
